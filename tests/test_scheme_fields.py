"""The scheme-field models (ingest/scheme_fields.py): what a scheme gives and who may apply, read
anywhere in its document, on a document written for this test (no training document is like it),
with the spans they were read from; and how the stored models are checked when loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.scheme_fields import FIELDS_PATH, FieldModels, who_text
from ingest.schemes import extract_schemes
from knowledge.docstore import StoredDocument
from knowledge.errors import ConfigError

# One programme with two schemes, each with its own "Aide :" line, and who may apply in a section
# of its own after both, as many programme guides write it; a balance of money already paid at the end.
GUIDE = """Programme Atelier Bas-Carbone : la Région Hauts-de-France ouvre sa deuxième campagne

Lille, le 3 mars 2026

La Région Hauts-de-France lance la deuxième campagne de son programme Atelier Bas-Carbone, doté de 24 millions d'euros pour 2026 et 2027. Il aide les ateliers de production à réduire leurs émissions.

Les aides du programme

1. Diagnostic Flux Énergie
- Objet : audit des consommations d'un site et plan d'actions chiffré.
- Aide : prise en charge de 70 % du coût de l'audit, dans la limite de 9 000 €.

2. Prêt Chaleur Propre
- Objet : remplacement d'un four ou d'une chaudière au gaz par un équipement électrique ou biomasse.
- Aide : prêt à taux zéro de 100 000 € à 1,2 million d'euros, remboursable sur huit ans.

Qui peut en bénéficier ?
Le programme s'adresse aux PME et ETI industrielles ayant un établissement de production dans la région :
- employant au moins 20 salariés sur le site ;
- à jour de leurs cotisations sociales et fiscales.
Les entreprises du négoce et les exploitations agricoles ne sont pas éligibles.

En 2025, la première campagne a financé 61 projets, pour 7,5 millions d'euros d'aides versées.

Contact : service Industrie de la Région Hauts-de-France.
"""


def _schemes() -> dict[str, object]:
    doc = StoredDocument(
        doc_id="fedcba9876543210", source="/tmp/atelier-bas-carbone.txt", title=GUIDE.split("\n", 1)[0],
        date="2026-03-03", format="txt", language="fr", text=GUIDE, regions=["Hauts-de-France"],
    )  # fmt: skip
    return {s.name: s for s in extract_schemes(doc)}


def test_each_scheme_gets_the_amounts_of_its_own_lines() -> None:
    schemes = _schemes()
    audit, loan = schemes["Diagnostic Flux Énergie"], schemes["Prêt Chaleur Propre"]
    assert audit.amount and "70 %" in audit.amount and "9 000 €" in audit.amount
    assert loan.amount and "100 000 €" in loan.amount and "1,2 million d'euros" in loan.amount
    # The next scheme's figures, and money already paid, belong to no one of them.
    assert "100 000" not in audit.amount and "9 000" not in loan.amount
    for s in (audit, loan):
        assert "7,5 millions" not in s.amount


def test_who_may_apply_is_read_in_its_own_section_and_cited() -> None:
    schemes = _schemes()
    for name in ("Diagnostic Flux Énergie", "Prêt Chaleur Propre"):
        s = schemes[name]
        assert s.beneficiaries and "au moins 20 salariés" in s.beneficiaries, (name, s.beneficiaries)
        # Read outside the scheme's own lines: the spans are kept as evidence, and hold what is shown.
        spans = [GUIDE[a:b] for f, a, b in s.evidence if f == "beneficiaries"]
        assert spans and all(not (s.start <= a and b <= s.end) for f, a, b in s.evidence if f == "beneficiaries")
        for piece in s.beneficiaries.split(" ; "):
            assert any(" ".join(piece.split()) in " ".join(t.split()) for t in spans), piece


def test_shown_eligibility_starts_at_its_cue() -> None:
    assert who_text("Le fonds est ouvert aux associations d'insertion du département.") == (
        "associations d'insertion du département"
    )
    assert who_text("- Bénéficiaires : TPE de moins de 10 salariés ;") == "TPE de moins de 10 salariés"
    assert who_text("employant au moins 20 salariés sur le site ;") == "employant au moins 20 salariés sur le site"


def test_stale_or_broken_field_models_are_refused_by_name(tmp_path: Path) -> None:
    data = json.loads(FIELDS_PATH.read_text(encoding="utf-8"))
    data["who"]["trees"]["features"] = data["who"]["trees"]["features"][:-1]
    stale = tmp_path / "scheme_fields.json"
    stale.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scheme_fields\.json.*other features.*make schemes-model"):
        FieldModels.load(stale)
    broken = tmp_path / "broken.json"
    broken.write_text('{"amount": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.json.*make schemes-model"):
        FieldModels.load(broken)
    with pytest.raises(ConfigError, match=r"missing\.json.*make schemes-model"):
        FieldModels.load(tmp_path / "missing.json")
