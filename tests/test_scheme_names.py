"""The fitted scheme-name model (ingest/scheme_names.py): what it finds in a document written for
this test (none of the training documents), how it is read, and that `make schemes-model`
rebuilds it byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.scheme_names import FEATURES, MODEL_PATH, NameModel, candidates, find_names
from ingest.schemes import extract_schemes
from knowledge.docstore import StoredDocument
from knowledge.errors import ConfigError

# Another programme than any the model learned from, with its schemes in three layouts
# (a heading with its details, a list item with a colon, prose) and distractors: a town,
# an operator, a trade show.
GUIDE = """Guide 2026 des aides à la filière bois de Bourgogne-Franche-Comté

La Région et l'Agence régionale de développement soutiennent les scieries et les menuisiers industriels.

Prêt Scierie Avenir
Montant : de 50 000 € à 400 000 €, à taux zéro.
Bénéficiaires : PME de la première transformation du bois installées dans la région.

Les autres dispositifs :
- Chèque Bois Construction : jusqu'à 60 % d'une étude, dans la limite de 12 000 €.
- Aide Séchoir Solaire : 30 % de l'investissement, plafonnée à 150 000 €.

Le fonds Forêts d'avenir, doté de 8 millions d'euros, finance la replantation après les tempêtes.
Les entreprises pourront rencontrer les chargés d'affaires au salon Eurobois à Lons-le-Saunier.
"""


def _doc(text: str = GUIDE) -> StoredDocument:
    return StoredDocument(
        doc_id="0123456789abcdef", source="/tmp/guide-bois.txt", title=text.split("\n", 1)[0], date="2026-03-01",
        format="txt", language="fr", text=text, regions=["Bourgogne-Franche-Comté"],
    )  # fmt: skip


def test_the_model_finds_the_schemes_of_a_document_it_never_saw() -> None:
    names = [GUIDE[c.start : c.end] for c, _ in find_names(GUIDE, GUIDE.split("\n", 1)[0])]
    for expected in ("Prêt Scierie Avenir", "Chèque Bois Construction", "Aide Séchoir Solaire"):
        assert expected in names, names
    for not_a_scheme in ("Lons-le-Saunier", "Agence régionale de développement", "Bourgogne-Franche-Comté"):
        assert not_a_scheme not in names, names


def test_a_named_scheme_carries_the_amounts_and_beneficiaries_of_its_block() -> None:
    schemes = {s.name: s for s in extract_schemes(_doc())}
    loan = schemes["Prêt Scierie Avenir"]
    assert loan.amount and "50 000 €" in loan.amount and "400 000 €" in loan.amount
    assert loan.beneficiaries and loan.beneficiaries.startswith("PME de la première transformation du bois")
    assert loan.region == "Bourgogne-Franche-Comté"
    cheque = schemes["Chèque Bois Construction"]  # a list item under "dispositifs": the rules read it
    assert "12 000 €" in (cheque.amount or "")
    assert "150 000" not in (cheque.amount or "")  # the next item's figure belongs to the next scheme
    for s in schemes.values():
        assert _doc().text[s.start : s.end] == s.quote and s.name in s.quote


def test_candidates_cover_every_layout() -> None:
    spans = {GUIDE[c.start : c.end] for c in candidates(GUIDE)}
    assert {"Prêt Scierie Avenir", "Chèque Bois Construction", "fonds Forêts d'avenir"} <= spans


def test_a_model_fitted_for_other_features_is_refused_by_name(tmp_path: Path) -> None:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["features"] = list(FEATURES)[:-1]
    stale = tmp_path / "scheme_names.json"
    stale.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scheme_names\.json.*make schemes-model"):
        NameModel.load(stale)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.json.*make schemes-model"):
        NameModel.load(broken)


@pytest.mark.slow
def test_make_schemes_model_rebuilds_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    from evals.scheme_model import main
    from ingest.scheme_fields import FIELDS_PATH

    out, fields = tmp_path / "scheme_names.json", tmp_path / "scheme_fields.json"
    assert main(["--out", str(out), "--fields-out", str(fields)]) == 0
    assert out.read_bytes() == MODEL_PATH.read_bytes(), "the shipped name model is not what `make schemes-model` fits"
    assert fields.read_bytes() == FIELDS_PATH.read_bytes(), "the shipped field models are not what `make schemes-model` fits"
