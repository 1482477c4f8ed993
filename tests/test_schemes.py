"""The scheme catalogue: extraction from the bundled corpus, persistence, region
filtering, answers to "what support can I get?" questions, and `tia schemes`.

Most tests read the bundled corpus the way ingest does (`load_document`: decoding,
normalisation, metadata and sidecars) and store the documents without embedding
them: the catalogue needs the texts only. The `slow` tests go through a real ingest
with the real embedding model.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answerer import AnswerRequest
from assistant.query import QueryBuilder
from assistant.schemes import answer_schemes, place_region
from assistant.schemes_cli import schemes as schemes_command
from ingest.loaders import load_document
from ingest.schemes import extract_schemes, scheme_catalogue
from knowledge.base import KnowledgeBase
from knowledge.docstore import StoredDocument
from knowledge.errors import ConfigError
from knowledge.filters import Filters
from knowledge.regions import fold
from knowledge.schemes import (
    CATALOGUE_FILE,
    Scheme,
    SchemeCatalogue,
    deduplicate,
    document_region,
    match_score,
    question_topics,
    rank_schemes,
    same_scheme,
)
from knowledge.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "knowledge" / "corpus"
CVL_DOC = "004_a4a221ff72913230.txt"
GREEN = "territoires d'industrie en transition écologique"


def _stored(path: Path) -> StoredDocument:
    return load_document(path).to_stored()


def _kb(data_dir: Path, paths: list[Path]) -> KnowledgeBase:
    kb = KnowledgeBase(Settings(data_dir=data_dir))
    for path in paths:
        kb.documents.put(_stored(path))
    return kb


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the bundled corpus's documents (texts only, as ingest stores them)."""
    data_dir = tmp_path_factory.mktemp("schemes-corpus")
    _kb(data_dir, sorted(CORPUS.glob("*.txt")))
    return data_dir


@pytest.fixture
def kb(corpus_dir: Path) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=corpus_dir))


@pytest.fixture
def catalogue(kb: KnowledgeBase) -> SchemeCatalogue:
    cat = scheme_catalogue(kb)
    cat.rebuild()
    return cat


def _green(schemes: list[Scheme]) -> Scheme:
    found = [s for s in schemes if GREEN in s.name]
    assert len(found) == 1, [s.name for s in schemes]
    return found[0]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _request(question: str) -> AnswerRequest:
    q = QueryBuilder().build(question)
    return AnswerRequest(
        question=question, query=q.text, language=q.language, passages=[], kind=q.kind, regions=q.regions, focus=q.focus
    )


# -- extraction from the bundled corpus ---------------------------------------------------------


def test_green_fund_scheme(catalogue: SchemeCatalogue, kb: KnowledgeBase) -> None:
    green = _green(catalogue.all())
    assert green.amount == "3,9 M€"
    assert green.region == "Centre-Val de Loire"
    assert green.period == "2024–2027"
    assert green.beneficiaries == "industriels dans les territoires d'industrie"
    assert green.source_name == CVL_DOC
    assert "transition écologique" in green.topics
    doc = kb.documents.get(green.doc_id)
    assert doc.text[green.start : green.end] == green.quote
    assert green.quote.startswith("Le dispositif « territoires d'industrie en transition écologique »")
    assert "fond vert de l'Etat de 3,9M€" in green.quote
    # The period's two ends are read from the list's introduction and from the sentence on phase 2.
    period_spans = [doc.text[a:b] for f, a, b in green.evidence if f == "period"]
    assert any("lancée en février 2024" in t for t in period_spans)
    assert any("jusqu'à 2027" in t for t in period_spans)


def test_every_shown_field_is_read_from_the_scheme_spans(catalogue: SchemeCatalogue, kb: KnowledgeBase) -> None:
    schemes = catalogue.all()
    assert schemes
    for s in schemes:
        doc = kb.documents.get(s.doc_id)
        assert doc.text[s.start : s.end] == s.quote, s.name
        spans = {f: [doc.text[a:b] for g, a, b in s.evidence if g == f] for f, _, _ in s.evidence}
        for field, a, b in s.evidence:
            assert 0 <= a < b <= len(doc.text), (s.name, field)
        # Every word of the name is in the quote (articles and capitals aside).
        quote_words = set(re.findall(r"[a-z0-9]+", fold(s.quote)))
        assert set(re.findall(r"[a-z0-9]+", fold(s.name))) <= quote_words, s.name
        # Amounts and who may apply are read by the field models anywhere in the document: each piece
        # shown is in the scheme's own span or in a span its evidence names.
        if s.amount:
            texts = [_squash(t) for t in [s.quote, *spans.get("amount", [])]]
            for piece in s.amount.split("; "):
                assert any(_squash(piece) in t for t in texts), (s.name, piece)
        if s.beneficiaries:
            texts = [_squash(t) for t in [s.quote, *spans.get("beneficiaries", [])]]
            for piece in s.beneficiaries.split(" ; "):
                assert any(_squash(piece) in t for t in texts), (s.name, piece)
        if s.period:
            texts = " ".join([s.quote, *spans.get("period", [])])
            for year in re.findall(r"\d{4}", s.period):
                assert year in texts, (s.name, year)
            for word in re.findall(r"[^\W\d_]+", s.period):
                assert word in ("depuis", "jusqu", "en") or word in texts, (s.name, word)
        for other in s.also:
            assert kb.documents.get(other["doc_id"]).text[other["start"] : other["end"]] == other["quote"]


def test_catalogue_is_small_clean_and_without_duplicates(catalogue: SchemeCatalogue) -> None:
    schemes = catalogue.all()
    assert 6 <= len(schemes) <= 16, [s.name for s in schemes]  # the rules' 12, and what the name model adds
    keys = [(fold(s.name), s.region) for s in schemes]
    assert len(keys) == len(set(keys))
    assert len({s.id for s in schemes}) == len(schemes)
    for s in schemes:
        assert 4 <= len(s.name) <= 90 and s.name[0].isupper(), s.name
    # Balances of money already spent are not schemes.
    quotes = " ".join(s.quote for s in schemes)
    assert "108 millions d'euros ont été mobilisés" not in quotes
    assert "260 millions" not in quotes
    # Lists of places and of examples of projects are not lists of schemes.
    names = " ".join(s.name for s in schemes)
    for not_a_scheme in ("Est du Loiret", "Issoudun", "Berry-Sologne", "plateforme collaborative", "Accélérer"):
        assert not_a_scheme not in names
    # The four dispositifs of phase 2 in Centre-Val de Loire are all there.
    cvl = [s for s in schemes if s.region == "Centre-Val de Loire"]
    for expected in (GREEN, "chefs de projet", "ingénierie et financement d'études", "volontariat territorial"):
        assert any(expected in s.name for s in cvl), expected


def test_banque_des_territoires_envelope_is_national(catalogue: SchemeCatalogue) -> None:
    found = [s for s in catalogue.all() if s.amount == "100 M€ par an"]
    assert len(found) == 1
    bdt = found[0]
    assert bdt.region is None
    assert bdt.operator == "Banque des territoires"
    assert bdt.period == "jusqu'en 2022"
    assert bdt.source_name == "001_27738308ae8cf9a0.txt"
    assert "fonds propres" in bdt.name and "Banque des territoires" in bdt.display_name


def test_same_scheme_in_two_documents_is_kept_once_with_both_sources(catalogue: SchemeCatalogue) -> None:
    national = [s for s in catalogue.all() if "chefs de projet" in s.name and s.region is None]
    assert len(national) == 1
    s = national[0]
    sources = {s.source_name} | {Path(a["source"]).name for a in s.also}
    assert sources == {"002_20f9fc35e5466faa.txt", "003_3af200a01a20ee1d.txt"}
    assert s.beneficiaries and "25 territoires" in s.beneficiaries


def test_document_scope(kb: KnowledgeBase) -> None:
    scopes = {d.name: document_region(d) for d in kb.documents.all()}
    assert scopes[CVL_DOC] == "Centre-Val de Loire"
    assert scopes["000_1b396a36e8a233e6.txt"] == "Grand Est"
    # 002 names three regions in passing: a national document.
    assert scopes["002_20f9fc35e5466faa.txt"] is None
    assert scopes["001_27738308ae8cf9a0.txt"] is None


# -- the catalogue: find, persistence ---------------------------------------------------------


def test_find_by_region(catalogue: SchemeCatalogue) -> None:
    grand_est = catalogue.find(region="Grand Est")
    assert grand_est
    assert all(s.region in (None, "Grand Est") for s in grand_est)
    assert not any(GREEN in s.name for s in grand_est)
    cvl = catalogue.find(region="CVL")
    assert any(GREEN in s.name for s in cvl)
    assert any(s.region is None for s in cvl), "national schemes apply in every region"
    assert len(catalogue.find()) == len(catalogue.all())
    with pytest.raises(ConfigError):
        catalogue.find(region="Atlantide")


def test_find_by_topic(catalogue: SchemeCatalogue) -> None:
    decarbonation = catalogue.find(region="Centre-Val de Loire", text="projet de décarbonation")
    assert decarbonation and GREEN in decarbonation[0].name
    recruiting = catalogue.find(text="recruit staff")
    assert recruiting and all("recrutement" in s.topics for s in recruiting)
    land = catalogue.find(topics=["foncier"])
    assert land and all("foncier" in s.topics for s in land)


def test_catalogue_is_saved_and_reloaded(tmp_path: Path) -> None:
    kb = _kb(tmp_path / "data", [CORPUS / CVL_DOC, CORPUS / "001_27738308ae8cf9a0.txt"])
    built = scheme_catalogue(kb).rebuild()
    path = tmp_path / "data" / CATALOGUE_FILE
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert len(saved["schemes"]) == len(built)
    assert not list((tmp_path / "data").glob(".schemes-*")), "no temporary file left behind"
    reloaded = scheme_catalogue(KnowledgeBase(Settings(data_dir=tmp_path / "data"))).all()
    assert reloaded == built
    assert [Scheme.from_dict(s.to_dict()) for s in built] == built


def test_catalogue_follows_the_documents(tmp_path: Path) -> None:
    kb = _kb(tmp_path / "data", [CORPUS / CVL_DOC, CORPUS / "001_27738308ae8cf9a0.txt"])
    catalogue = scheme_catalogue(kb)
    assert any(GREEN in s.name for s in catalogue.all())  # built on first use
    cvl = kb.documents.by_source(str((CORPUS / CVL_DOC).resolve()))
    assert cvl is not None
    kb.documents.delete(cvl.doc_id)
    # The saved catalogue no longer matches the documents: rebuilt without the CVL schemes.
    after = catalogue.all()
    assert after and all(s.doc_id != cvl.doc_id for s in after)
    kb.documents.delete(after[0].doc_id)
    assert catalogue.all() == []


def test_rebuild_reads_only_new_documents_and_everything_when_the_extractor_changes(tmp_path: Path) -> None:
    kb = _kb(tmp_path / "data", [CORPUS / CVL_DOC])
    read: list[str] = []

    def counting(doc: StoredDocument) -> list[Scheme]:
        read.append(doc.doc_id)
        return extract_schemes(doc)

    first = SchemeCatalogue(kb, counting, extractor_version="v1").rebuild()
    assert len(read) == 1 and first
    path = tmp_path / "data" / CATALOGUE_FILE
    stamp = path.stat().st_mtime_ns
    assert SchemeCatalogue(kb, counting, extractor_version="v1").rebuild() == first
    assert len(read) == 1 and path.stat().st_mtime_ns == stamp, "unchanged documents: nothing read, nothing written"
    other = load_document(CORPUS / "001_27738308ae8cf9a0.txt")
    kb.documents.put(other.to_stored(chunks=1))
    both = SchemeCatalogue(kb, counting, extractor_version="v1").rebuild()
    assert read[1:] == [other.metadata.doc_id], "only the new document is read"
    read.clear()
    assert SchemeCatalogue(kb, counting, extractor_version="v2").rebuild() == both
    assert len(read) == 2, "another extractor reads every document again"
    # The same as reading every document afresh.
    fresh = tmp_path / "fresh"
    assert SchemeCatalogue(_kb(fresh, [CORPUS / CVL_DOC, CORPUS / "001_27738308ae8cf9a0.txt"]), extract_schemes).rebuild() == both


def _naive_deduplicate_groups(schemes: list[Scheme]) -> list[list[int]]:
    """The definition: each scheme joins the first group holding a near-identical scheme."""
    groups: list[list[int]] = []
    for i, s in enumerate(schemes):
        for group in groups:
            if any(same_scheme(s, schemes[j]) for j in group):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(["aide", "prêt", "fonds", "vert", "export", "PME", "2025", "friches"]),
                                   min_size=0, max_size=4),
                          st.sampled_from([None, "Bretagne", "Grand Est"])), max_size=25))
def test_deduplicate_groups_as_the_pairwise_definition(names: list[tuple[list[str], str | None]]) -> None:
    schemes = [Scheme(id=f"s{i}", name=" ".join(words), description="", beneficiaries=None, amount=None, region=region,
                      period=None, doc_id=f"d{i}", source=f"/d{i}.txt", title="t", date=None, start=0, end=1)
               for i, (words, region) in enumerate(names)]
    expected = {frozenset(f"s{i}" for i in group) for group in _naive_deduplicate_groups(schemes)}
    got = {frozenset([s.id, *(f"s{a['doc_id'][1:]}" for a in s.also)]) for s in deduplicate(schemes)}
    assert got == expected


# -- generality: a document the rules were not written from -------------------------------------


_SYNTHETIC = """Industrie : le point en Bretagne

La Région Bretagne ouvre en mars 2025 de nouvelles aides aux PME industrielles. Trois dispositifs sont proposés :
- Le prêt « Breizh Industrie Verte » de 2 M€, à destination des PME de moins de 250 salariés.
- Une aide à l'embauche d'apprentis pour les entreprises qui recrutent.
- Des appels à projets pour la reconversion de friches.
Les aides sont ouvertes dans les territoires suivants :
- Lorient, Vannes, Quimper
- Saint-Brieuc Armor Agglomération
En 2024, 12 millions d'euros ont été engagés par l'État et ses opérateurs.
"""


def test_rules_work_on_another_document() -> None:
    doc = StoredDocument(
        doc_id="synthetic", source="/tmp/bretagne.md", title="Industrie : le point en Bretagne", date="2025-03",
        format="md", language="fr", text=_SYNTHETIC, regions=["Bretagne"],
    )
    schemes = extract_schemes(doc)
    names = [s.name for s in schemes]
    assert names == [
        "Prêt « Breizh Industrie Verte »",
        "Aide à l'embauche d'apprentis",
        "Appels à projets",
    ], names
    loan = schemes[0]
    assert loan.amount == "2 M€" and loan.region == "Bretagne"
    assert loan.beneficiaries == "PME de moins de 250 salariés"
    assert schemes[1].beneficiaries == "entreprises qui recrutent" and schemes[1].topics == ["recrutement"]
    # No beneficiary in the item: the list's introduction gives it, and is kept as evidence.
    assert schemes[2].beneficiaries == "PME industrielles" and schemes[2].topics == ["foncier"]
    assert [f for f, _, _ in schemes[2].evidence] == ["beneficiaries", "period"]
    assert all(s.period == "depuis 2025" for s in schemes)
    for s in schemes:
        assert _SYNTHETIC[s.start : s.end] == s.quote
    assert not any("12 millions" in s.quote for s in schemes)


_FRAGMENTS = st.sampled_from(
    [
        "La phase 2, lancée en février 2024, est assortie de nouveaux dispositifs. On y retrouve :\n",
        "- Le dispositif « X Y » de 3,9M€ à destination des industriels.\n",
        "- Des aides au volontariat.\n", "- Issoudun\n", "la Banque des territoires prévoit une enveloppe de 100 M€ ",
        "d'ici à 2022 pour investir. ", "Cela s'accompagnera d'une enveloppe d'ingénierie. ", "« rebond » ",
        "\n\n", ":", "\n- ", "Ces missions ", "108 millions d'euros ont été mobilisés. ", "\"clés en main\" ",
        "jusqu'à 2027. ", "seconde phase ", "(2018-2023)", "é", " ", ".",
        "La phase 4, lancée en mars 2030, ", "une 5e étape ", "phase III ",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=15)), max_size=25))
def test_extraction_never_fails_and_spans_are_exact(parts: list[str]) -> None:
    text = "".join(parts)
    doc = StoredDocument(
        doc_id="h", source="/tmp/h.txt", title="t", date=None, format="txt", language="fr", text=text, regions=[]
    )
    for s in extract_schemes(doc):
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.quote
        assert all(0 <= a < b <= len(text) for _, a, b in s.evidence)
        assert s.name.strip()


# -- answers ----------------------------------------------------------------------------------


def _scheme_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def _check_citations(answer, kb: KnowledgeBase) -> None:  # noqa: ANN001 - an Answer
    assert answer.citations
    for c in answer.citations:
        assert kb.documents.get(c.doc_id).text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text
    assert len(answer.text) <= 900


@pytest.mark.parametrize(
    ("question", "language", "intro"),
    [
        ("J'ai une usine à Issoudun ; quelles aides pour un projet de décarbonation ?", "fr", "Dispositifs applicables à Issoudun"),
        ("I run a factory in Issoudun; what support can I get for a decarbonation project?", "en", "Schemes that apply in Issoudun"),
    ],
)
def test_issoudun_decarbonation(catalogue: SchemeCatalogue, kb: KnowledgeBase, question: str, language: str, intro: str) -> None:
    request = _request(question)
    assert request.kind == "scheme"
    answer = answer_schemes(request, catalogue, kb)
    assert answer is not None and not answer.abstained
    assert answer.language == language
    assert answer.text.startswith(intro) and "Centre-Val de Loire" in answer.text.splitlines()[0]
    lines = _scheme_lines(answer.text)
    assert 1 <= len(lines) <= 5
    first = lines[0]
    assert GREEN in first and "3,9 M€" in first and "2024–2027" in first
    marks = [int(n) for n in re.findall(r"\[(\d+)\]", first)]
    main = answer.citations[marks[0] - 1]
    assert main.source_name == CVL_DOC and main.page is None and main.chunk_id == ""
    assert "3,9M€" in main.quote
    cited = " ".join(answer.citations[n - 1].quote for n in marks)
    assert "2024" in cited and "2027" in cited and "industriels dans les territoires d'industrie" in cited
    _check_citations(answer, kb)
    # Every scheme listed applies in Centre-Val de Loire: regional there, or national.
    for line in lines:
        assert re.search(r"\[\d+\]$", line)
        assert "Grand Est" not in line


def test_a_town_in_another_region_gets_national_schemes_only(catalogue: SchemeCatalogue, kb: KnowledgeBase) -> None:
    answer = answer_schemes(_request("Quelles aides pour recruter dans mon usine à Mulhouse ?"), catalogue, kb)
    assert answer is not None
    assert "Grand Est" in answer.text.splitlines()[0]
    lines = _scheme_lines(answer.text)
    assert lines and all("Centre-Val de Loire" not in line for line in lines)
    assert all(c.source_name != CVL_DOC for c in answer.citations)
    assert "olontaires territoriaux" in lines[0]  # the recruitment scheme first
    _check_citations(answer, kb)


def test_region_named_in_the_question(catalogue: SchemeCatalogue, kb: KnowledgeBase) -> None:
    answer = answer_schemes(_request("Quels dispositifs pour les friches en Centre-Val de Loire ?"), catalogue, kb)
    assert answer is not None
    lines = _scheme_lines(answer.text)
    assert lines
    # An expired national scheme (until 2022, the latest documents are of 2025) is not offered.
    assert not any("100 M€ par an" in line for line in lines)
    _check_citations(answer, kb)


def test_question_filters_restrict_the_schemes(catalogue: SchemeCatalogue, kb: KnowledgeBase) -> None:
    question = "Quelles aides pour un projet de décarbonation ?"
    only_001 = answer_schemes(_request(question), catalogue, kb, Filters(sources=("001_27738308",)))
    assert only_001 is not None
    assert {c.source_name for c in only_001.citations} == {"001_27738308ae8cf9a0.txt"}
    before_2020 = answer_schemes(_request(question), catalogue, kb, Filters(date_to="2019"))
    assert before_2020 is not None and all(c.date and c.date < "2020" for c in before_2020.citations)
    # A region filter keeps the documents that mention the region, and places the asker there.
    cvl = answer_schemes(_request(question), catalogue, kb, Filters(regions=("Centre-Val de Loire",)))
    assert cvl is not None and "Centre-Val de Loire" in cvl.text.splitlines()[0]
    assert GREEN in _scheme_lines(cvl.text)[0]
    assert answer_schemes(_request(question), catalogue, kb, Filters(sources=("nothing-matches",))) is None


def test_place_region(kb: KnowledgeBase) -> None:
    docs = kb.documents.all()
    assert place_region("I run a factory in Issoudun", docs) == ("Issoudun", "Centre-Val de Loire")
    assert place_region("une usine à Montargis", docs) == ("Montargis", "Centre-Val de Loire")
    assert place_region("près de Mulhouse", docs) == ("Mulhouse", "Grand Est")
    assert place_region("une usine à Amiens", docs) == ("Amiens", None)  # only a national document names it
    assert place_region("quelles aides pour la décarbonation ?", docs) is None
    assert place_region("support from BPI in Centre-Val de Loire", docs) is None


def test_question_topics() -> None:
    assert question_topics("un projet de décarbonation") == ["transition écologique"]
    assert question_topics("green energy") == ["transition écologique"]
    assert "recrutement" in question_topics("hiring apprentices")
    assert question_topics("Bonjour") == []


def test_no_catalogue_no_answer(tmp_path: Path) -> None:
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "empty"))
    assert answer_schemes(_request("Quelles aides à Issoudun ?"), scheme_catalogue(kb), kb) is None


# -- tia schemes ------------------------------------------------------------------------------


def test_schemes_command_json(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIA_DATA_DIR", str(corpus_dir))
    result = CliRunner().invoke(schemes_command, ["--region", "CVL", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert any(GREEN in r["name"] and r["amount"] == "3,9 M€" for r in rows)
    assert {r["region"] for r in rows} <= {None, "Centre-Val de Loire"}


def test_schemes_command_text_and_errors(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIA_DATA_DIR", str(corpus_dir))
    result = CliRunner().invoke(schemes_command, ["--region", "Grand Est"])
    assert result.exit_code == 0, result.output
    assert "Banque des territoires" in result.output and GREEN not in result.output
    assert re.search(r"^\d+ schemes$", result.output, re.MULTILINE)
    bad = CliRunner().invoke(schemes_command, ["--region", "Atlantide"])
    assert bad.exit_code == 2 and "unknown region" in bad.output


def test_schemes_command_prints_each_statement_of_who_may_apply_on_its_line(
    corpus_dir: Path, catalogue: SchemeCatalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIA_DATA_DIR", str(corpus_dir))
    result = CliRunner().invoke(schemes_command, [])
    assert result.exit_code == 0, result.output
    several = [s for s in catalogue.all() if s.beneficiaries and " ; " in s.beneficiaries]
    assert several, "the bundled catalogue has schemes with more than one statement of who may apply"
    for s in several:
        first, *more = s.beneficiaries.split(" ; ")
        block = "\n".join([f"    for: {first}", *(f"         {m}" for m in more)])
        assert block in result.output, s.name


def test_schemes_command_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIA_DATA_DIR", str(tmp_path / "none"))
    result = CliRunner().invoke(schemes_command, [])
    assert result.exit_code == 0 and "tia ingest --bundled" in result.output


def test_tia_schemes_subprocess(corpus_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    env["TIA_DATA_DIR"] = str(corpus_dir)
    args = ["schemes", "--region", "CVL", "--json"]
    if "schemes" in {ep.name for ep in entry_points(group="tia.commands")}:
        command = [sys.executable, "-m", "assistant", *args]
    else:
        # Until the `tia.commands` entry point is installed: the same group, with the command added.
        launcher = (
            "import sys; from assistant.cli import cli; from assistant.schemes_cli import schemes; "
            "cli.add_command(schemes); cli(sys.argv[1:], prog_name='tia')"
        )
        command = [sys.executable, "-c", launcher, *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    green = next(r for r in rows if GREEN in r["name"])
    assert green["region"] == "Centre-Val de Loire" and green["source"].endswith(CVL_DOC)


# -- through a real ingest (real embedding model) -----------------------------------------------


@pytest.mark.slow
def test_catalogue_after_real_ingest_and_remove(fresh_assistant) -> None:  # noqa: ANN001 - conftest fixture
    report = fresh_assistant.ingest([CORPUS / CVL_DOC, CORPUS / "001_27738308ae8cf9a0.txt"])
    assert report.ok and report.counts["added"] == 2
    catalogue = scheme_catalogue(fresh_assistant.kb)
    built = catalogue.rebuild()
    green = _green(built)
    doc = fresh_assistant.document(green.doc_id)
    assert doc.text[green.start : green.end] == green.quote
    bdt = next(s for s in built if s.amount == "100 M€ par an")
    assert bdt.region is None
    fresh_assistant.remove(CVL_DOC)
    after = catalogue.all()
    assert after and not any(s.region == "Centre-Val de Loire" for s in after)
    answer = answer_schemes(_request("Quelles aides à Issoudun pour la décarbonation ?"), catalogue, fresh_assistant.kb)
    assert answer is None or all(c.source_name != CVL_DOC for c in answer.citations)


def test_schemes_know_their_phase_and_a_phase_question_ranks_them_first(catalogue: SchemeCatalogue) -> None:
    cofinancing = next(s for s in catalogue.all() if s.name.startswith("Cofinancement de postes de chefs de projet"))
    assert cofinancing.phases == [2], "listed after 'La phase 2, lancée en février 2024, est assortie de ...'"
    fragile = next(s for s in catalogue.all() if s.name.startswith("Financement de postes de chefs de projet"))
    assert fragile.phases == [], "the 2019 documents name no phase"
    ranked = rank_schemes(catalogue.all(), "Quelle aide la phase 2 prévoit-elle pour cofinancer un chef de projet ?")
    assert ranked[0][1] == cofinancing


def test_schemes_of_another_phase_are_ranked_down(catalogue: SchemeCatalogue) -> None:
    missions = next(s for s in catalogue.all() if "rebond industriel" in s.name)
    assert missions.phases == [1]
    assert match_score(missions, "ingénierie en phase 2") < match_score(missions, "ingénierie en phase 1")


def test_scheme_purpose_is_read_from_its_span(catalogue: SchemeCatalogue) -> None:
    green = _green(catalogue.all())
    assert green.purpose == "le soutien de projets capacitaires structurants en lien avec la transition écologique"
    assert green.purpose in green.description
    banque = next(s for s in catalogue.all() if "fonds propres" in s.name)
    assert banque.purpose and banque.purpose.startswith("investir sur fonds propres") and banque.purpose in banque.description


def test_best_matching_scheme_says_what_it_pays_for(catalogue: SchemeCatalogue, kb: KnowledgeBase) -> None:
    answer = answer_schemes(_request("Quels projets le dispositif du fonds vert finance-t-il en Centre-Val de Loire ?"), catalogue, kb)
    assert answer is not None
    first = next(line for line in answer.text.splitlines() if line.startswith("- "))
    assert GREEN in first and "objet : le soutien de projets capacitaires structurants" in first
