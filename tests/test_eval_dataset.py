"""Evaluation datasets: the record format, its validation, YAML, RAGAS exchange, and the dev set itself."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from assistant.answer import Answer, Passage
from evals.dataset import DatasetError, Record, detect_language, dump_records, load_dataset, load_datasets, parse_record
from evals.metrics import fact_found
from evals.ragas import NO_ANSWER, read_ragas, records_from_ragas, to_ragas_rows, write_ragas
from ingest.normalize import normalize_text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEV = ROOT / "evals" / "datasets" / "dev.jsonl"
CORPUS = ROOT / "knowledge" / "corpus"


# -- records ----------------------------------------------------------------------------
def test_parse_single_question_with_defaults() -> None:
    r = parse_record({"id": "q", "question": "Combien de territoires ?", "expected_facts": [["12", "douze"]]})
    assert r.turns == ("Combien de territoires ?",) and r.question == "Combien de territoires ?"
    assert r.answerable is True and r.expected_sources == () and r.tags == ()
    assert r.expected_facts == (("12", "douze"),)
    assert r.lang == "fr"  # detected


def test_parse_turns_lang_and_tags() -> None:
    r = parse_record(
        {"id": "f", "turns": ["How many?", "And in Grand Est?"], "expected_facts": [["15"]], "lang": "fr", "tags": ["followup"]}
    )
    assert r.turns == ("How many?", "And in Grand Est?") and r.question == "And in Grand Est?"
    assert r.lang == "fr"  # an explicit lang wins over detection
    assert r.tags == ("followup",)


def test_unanswerable_record_needs_no_facts() -> None:
    r = parse_record({"id": "o", "question": "Prix du gazole ?", "answerable": False})
    assert not r.answerable and r.expected_facts == ()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Combien de territoires du Centre-Val de Loire sont lauréats ?", "fr"),
        ("Quels sont les axes de la phase 2 ?", "fr"),
        ("Qu'est-ce qu'un TI ?", "fr"),
        ("Which territories in the CVL region were selected for phase 2?", "en"),
        ("How many industrial territories does AURA have?", "en"),
        ("What does GPECT stand for?", "en"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_every_invalid_line_is_reported_at_once() -> None:
    path = FIXTURES / "eval_invalid.jsonl"
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    problems = info.value.problems
    by_line = Counter(p.split(": ", 1)[0] for p in problems)
    # Lines 1 and 10 are valid; 6 is blank; every other line is reported with its number.
    assert set(by_line) == {f"{path}:{n}" for n in (2, 3, 4, 5, 7, 8, 9)}
    text = "\n".join(problems)
    assert f"{path}:2: invalid JSON" in text
    assert "missing question (or turns)" in text
    assert 'expected_facts[0] must be a list of alternatives such as ["12", "douze"]' in text
    assert "answerable must be true or false, got 'yes'" in text
    assert "expected_sources must be a list of strings, got str" in text
    assert "unknown field(s) 'expected_fact'" in text
    assert "an unanswerable record cannot have expected_facts" in text
    assert f"duplicate id 'ok-1' (first at {path}:1)" in text
    assert "nothing was run" in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"question": "q", "expected_facts": []}, "id must be a non-empty string"),
        ({"id": 3, "question": "q", "expected_facts": []}, "id must be a non-empty string"),
        ({"id": "x", "question": "  ", "expected_facts": []}, "question must be a non-empty string"),
        ({"id": "x", "question": "q", "turns": ["q"], "expected_facts": []}, "either question or turns"),
        ({"id": "x", "turns": [], "expected_facts": []}, "turns must not be empty"),
        ({"id": "x", "turns": ["a", 2], "expected_facts": []}, "turns[1] must be a non-empty string"),
        ({"id": "x", "question": "q", "expected_facts": [[]]}, "expected_facts[0] must not be empty"),
        ({"id": "x", "question": "q", "expected_facts": [["12", ""]]}, "expected_facts[0][1] must be a non-empty string"),
        ({"id": "x", "question": "q", "expected_facts": {"a": 1}}, "expected_facts must be a list of groups"),
        ({"id": "x", "question": "q", "expected_facts": [], "lang": "de"}, "lang must be one of fr, en"),
        ({"id": "x", "question": "q", "expected_facts": [], "tags": "list"}, "tags must be a list of strings"),
        ({"id": "x", "question": "q", "expected_facts": [], "ground_truth": 12}, "ground_truth must be a string"),
        ({"id": "x", "question": "q"}, "missing expected_facts"),
        (["not", "an", "object"], "a record must be a JSON object"),
    ],
)
def test_invalid_records(data: object, message: str) -> None:
    with pytest.raises(DatasetError) as info:
        parse_record(data, "f.jsonl:3")
    assert any(p.startswith("f.jsonl:3: ") and message in p for p in info.value.problems), info.value.problems


def test_yaml_records_equal_jsonl_records() -> None:
    from_yaml = load_dataset(FIXTURES / "eval_small.yaml")
    from_jsonl = load_dataset(FIXTURES / "eval_small.jsonl")[:2]
    assert from_yaml == from_jsonl
    assert from_yaml[1].origin == f"{FIXTURES / 'eval_small.yaml'}:9"


def test_yaml_errors_have_line_numbers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: a\n  question: q\n  expected_facts: []\n- id: b\n  question: [unclosed\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.yaml:\d+: invalid YAML"):
        load_dataset(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("- id: a\n  question: q\n  expected_facts: []\n- id: b\n  expected_facts: []\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        load_dataset(wrong)
    assert info.value.problems == [f"{wrong}:4: record 'b': missing question (or turns)"]
    mapping = tmp_path / "records.yml"
    mapping.write_text("records:\n  - id: a\n    question: q\n    expected_facts: [['1']]\n", encoding="utf-8")
    assert load_dataset(mapping)[0].origin == f"{mapping}:2"


def test_duplicate_ids_across_files_and_empty_files(tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text('{"id": "s-count", "question": "q", "expected_facts": []}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="duplicate id 's-count'"):
        load_datasets([FIXTURES / "eval_small.jsonl", other])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("# only a comment\n\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="empty.jsonl: no records"):
        load_dataset(empty)


def test_dump_and_reload_round_trip(tmp_path: Path) -> None:
    records = load_dataset(FIXTURES / "eval_small.jsonl")
    out = tmp_path / "again.jsonl"
    out.write_text(dump_records(records), encoding="utf-8")
    assert load_dataset(out) == records


# -- RAGAS ------------------------------------------------------------------------------
def _answers_for(records: list[Record]) -> list[Answer]:
    return [
        Answer(
            question=r.question,
            text=f"Réponse à {r.id} [1].",
            citations=[],
            abstained=not r.answerable,
            language=r.lang,
            passages=[
                Passage(rank=2, chunk_id="c2", doc_id="d", source="s", title="t", date=None, page=None, start=0, end=1,
                        text=f"second passage of {r.id}", score=0.5),
                Passage(rank=1, chunk_id="c1", doc_id="d", source="s", title="t", date=None, page=None, start=0, end=1,
                        text=f"first passage of {r.id}", score=0.9),
            ],
        )
        for r in records
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_ragas_export_import_round_trip(tmp_path: Path, suffix: str) -> None:
    records = load_dataset(FIXTURES / "eval_small.jsonl")
    rows = to_ragas_rows(zip(records, _answers_for(records), strict=True))
    path = tmp_path / f"ragas{suffix}"
    write_ragas(path, rows)
    back = read_ragas(path)
    assert [r["question"] for r in back] == [r["question"] for r in rows]
    assert back[0]["answer"] == "Réponse à s-count [1]."
    assert back[0]["contexts"] == ["first passage of s-count", "second passage of s-count"]  # best first
    assert back[0]["ground_truth"] == "12"  # first alternative of each fact group
    assert back[1]["ground_truth"] == "Sud-Alsace; Bazancourt-Pomacle"
    followup = next(r for r in back if r["id"] == "s-followup")
    assert followup["question"] == "\n".join(records[3].turns)  # the judge sees the conversation
    oos = next(r for r in back if r["id"] == "s-oos-2")
    assert oos["ground_truth"] == NO_ANSWER["en"]
    assert records_from_ragas(back) == records


def test_ragas_columns_are_the_standard_layout(tmp_path: Path) -> None:
    records = load_dataset(FIXTURES / "eval_small.jsonl")[:1]
    rows = to_ragas_rows(zip(records, _answers_for(records), strict=True))
    assert list(rows[0])[:4] == ["question", "answer", "contexts", "ground_truth"]
    path = tmp_path / "r.jsonl"
    write_ragas(path, rows)
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert isinstance(line["contexts"], list) and isinstance(line["ground_truth"], str)


def test_import_foreign_ragas_rows() -> None:
    rows = [
        {"question": "Combien de territoires en Grand Est ?", "answer": "15", "contexts": [], "ground_truth": "15 territoires"},
        {"user_input": "How many in AURA?", "response": "18", "retrieved_contexts": ["x"], "reference": "18"},
        {"question": "Prix du gazole ?", "ground_truth": NO_ANSWER["fr"]},
    ]
    records = records_from_ragas(rows, origin="theirs.jsonl")
    assert [r.id for r in records] == ["ragas-1", "ragas-2", "ragas-3"]
    assert records[0].ground_truth == "15 territoires" and records[0].expected_facts == () and records[0].answerable
    assert records[1].question == "How many in AURA?" and records[1].lang == "en"
    assert records[2].answerable is False


def test_import_reports_every_bad_ragas_row(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        records_from_ragas([{"question": ""}, {"answer": "no question"}, "text"], origin="r.jsonl")
    assert [p.split(": ")[0] for p in info.value.problems] == ["r.jsonl:1", "r.jsonl:2", "r.jsonl:3"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2: invalid JSON"):
        read_ragas(bad)


# -- the project's dev set --------------------------------------------------------------
@pytest.fixture(scope="module")
def dev() -> list[Record]:
    return load_dataset(DEV)


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    """The bundled documents as the assistant sees them (normalised), by the hash in their file name."""
    return {p.stem.split("_", 1)[1]: normalize_text(p.read_text(encoding="utf-8")) for p in CORPUS.glob("*.txt")}


def test_dev_set_size_and_coverage(dev: list[Record], corpus: dict[str, str]) -> None:
    assert len(dev) >= 60
    assert sum(r.lang == "en" for r in dev) >= 20
    assert sum(not r.answerable for r in dev) >= 10
    assert sum(len(r.turns) > 1 for r in dev) >= 3
    assert {s for r in dev for s in r.expected_sources} == set(corpus)  # every document is asked about
    tags = Counter(t for r in dev for t in r.tags)
    for tag in ("list", "number", "followup", "glossary", "conflict", "scheme", "oos", "date"):
        assert tags[tag] >= 3, tag


def test_dev_set_records_are_explicit(dev: list[Record]) -> None:
    raw = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    assert all("lang" in r and r.get("tags") for r in raw)
    assert all(r.expected_sources for r in dev if r.answerable)


def test_dev_set_lists_are_complete(dev: list[Record]) -> None:
    by_id = {r.id: r for r in dev}
    assert len(by_id["cvl-laureates"].expected_facts) == 12
    assert len(by_id["cvl-laureates-en"].expected_facts) == 12
    assert len(by_id["phase2-axes"].expected_facts) == 4
    assert len(by_id["conventions"].expected_facts) == 4
    evolution = {alt for group in by_id["count-evolution"].expected_facts for alt in group}
    assert {"136", "141", "144", "146"} <= evolution


def test_unanswerable_dev_questions_are_not_in_the_corpus(dev: list[Record], corpus: dict[str, str]) -> None:
    text = "\n".join(corpus.values())
    for word in ("Occitanie", "Bretagne", "Nouvelle-Aquitaine", "Hauts-de-France", "gazole", "crêpes", "phase 3"):
        assert not fact_found([word], text), word


# -- every dataset shipped with the project ------------------------------------------------------
def missing_facts(records: list[Record], docs: dict[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """The fact groups of `records` found in none of their expected sources."""
    return [
        (r.id, group)
        for r in records
        for group in r.expected_facts
        if not any(fact_found(group, docs[s]) for s in r.expected_sources)
    ]


SHIPPED = sorted((ROOT / "evals" / "datasets").glob("*.jsonl"))


def test_shipped_datasets_load_together_with_unique_ids() -> None:
    assert {p.name for p in SHIPPED} >= {"dev.jsonl", "dev2.jsonl", "dev3.jsonl", "heldout.jsonl"}
    records = load_datasets(SHIPPED)
    assert len({r.id for r in records}) == len(records)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_fact_is_in_an_expected_source(path, corpus: dict[str, str]) -> None:  # noqa: ANN001
    records = load_dataset(path)
    assert all(r.expected_sources for r in records if r.answerable)
    assert missing_facts(records, corpus) == []


# -- the sets over other corpora: the unseen documents (never learned from) and the training documents --
UNSEEN, TRAIN = ROOT / "evals" / "unseen", ROOT / "evals" / "train"
OTHER_CORPORA = [  # (the corpus, the sets that ask about it)
    (UNSEEN / "corpus", [UNSEEN / f"{n}.jsonl" for n in ("unseen", "frozen_unseen", "frozen2_unseen", "frozen3_unseen",
                                                         "frozen4_unseen", "frozen5_unseen", "frozen6_unseen")]),
    (ROOT / "evals" / "unseen2" / "corpus", [ROOT / "evals" / "unseen2" / f"{n}.jsonl" for n in ("unseen2", "unseen2b")]),
    (ROOT / "evals" / "unseen3" / "corpus", [ROOT / "evals" / "unseen3" / "unseen3.jsonl"]),
    (ROOT / "evals" / "unseen4" / "corpus", [ROOT / "evals" / "unseen4" / "unseen4.jsonl"]),
    (TRAIN / "corpus", [TRAIN / "synth_a.jsonl", TRAIN / "synth_b.jsonl"]),
    (TRAIN / "corpus2", [TRAIN / "synth_c.jsonl"]),
    (TRAIN / "corpus3", [TRAIN / "synth_d.jsonl"]),
    (TRAIN / "corpus4", [TRAIN / "synth_e.jsonl"]),
    (TRAIN / "corpus5", [TRAIN / "synth_f.jsonl"]),
    (TRAIN / "corpus6", [TRAIN / "synth_g.jsonl"]),
    (TRAIN / "corpus7", [TRAIN / "synth_h.jsonl"]),
    (TRAIN / "corpus8", [TRAIN / "synth_i.jsonl"]),
    (TRAIN / "corpus9", [TRAIN / "synth_j.jsonl", TRAIN / "ind_corpus9.jsonl"]),
    (TRAIN / "corpus10", [TRAIN / "synth_k.jsonl", TRAIN / "ind_corpus10.jsonl"]),
]


@pytest.mark.parametrize(
    ("corpus", "path"), [(c, p) for c, paths in OTHER_CORPORA for p in paths], ids=lambda v: getattr(v, "name", v)
)
def test_every_fact_of_the_other_corpora_is_in_an_expected_source(corpus: Path, path: Path) -> None:
    docs = {p.stem.rsplit("_", 1)[1]: normalize_text(p.read_text(encoding="utf-8")) for p in corpus.glob("*.txt")}
    records = load_dataset(path)
    assert len(records) >= 30 and sum(not r.answerable for r in records) >= 7
    assert all(r.expected_sources for r in records if r.answerable)
    assert missing_facts(records, docs) == []


BUNDLED_TRAIN = [TRAIN / "ind_bundled.jsonl"]  # training sets over the bundled corpus kept beside the others


@pytest.mark.parametrize("path", BUNDLED_TRAIN, ids=lambda p: p.name)
def test_every_fact_of_the_bundled_training_sets_is_in_an_expected_source(path, corpus: dict[str, str]) -> None:  # noqa: ANN001
    records = load_dataset(path)
    assert len(records) >= 30 and sum(not r.answerable for r in records) >= 7
    assert all(r.expected_sources for r in records if r.answerable)
    assert missing_facts(records, corpus) == []


def test_every_set_loads_together_with_unique_ids() -> None:
    paths = SHIPPED + [p for _, paths in OTHER_CORPORA for p in paths] + [TRAIN / "oos.jsonl", *BUNDLED_TRAIN]
    records = load_datasets(paths)
    assert len({r.id for r in records}) == len(records)
    assert len(records) >= 1600


def test_the_hand_labelled_schemes_are_spans_of_their_documents() -> None:
    folder = ROOT / "evals" / "unseen"
    docs = {p.stem.split("_", 1)[1]: p.read_text(encoding="utf-8") for p in (folder / "corpus").glob("*.txt")}
    rows = [json.loads(line) for line in (folder / "schemes.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 40
    for row in rows:
        text = docs[row["source"]]
        for span in [row["name"], *row["aliases"], *row["amounts"], *row["eligibility"]]:
            assert span in text, (row["name"], span)


# -- the hand-labelled schemes (what the scheme models learn from, and the labels that judge them) -----
SCHEME_LABELS = [
    (TRAIN / "corpus", TRAIN / "schemes.jsonl"),
    (ROOT / "knowledge" / "corpus", TRAIN / "schemes_bundled.jsonl"),
    *((TRAIN / f"corpus{n}", TRAIN / f"schemes_corpus{n}.jsonl") for n in range(2, 11)),
    *((ROOT / "evals" / name / "corpus", ROOT / "evals" / name / "schemes.jsonl") for name in ("unseen", "unseen2", "unseen3", "unseen4")),
]


@pytest.mark.parametrize(("corpus", "labels"), SCHEME_LABELS, ids=lambda v: f"{v.parent.name}/{v.name}")
def test_every_labelled_scheme_is_read_from_its_document(corpus: Path, labels: Path) -> None:
    """Each label names a document of its corpus, and its amounts and eligibility are spans of that
    document (folded: labellers copied them by hand; `evals.schemes_eval` matches them folded)."""
    from evals.metrics import fold

    docs = {p.stem.rsplit("_", 1)[1]: fold(normalize_text(p.read_text(encoding="utf-8"))) for p in corpus.glob("*.txt")}
    rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert rows
    missing = []
    for row in rows:
        assert {"source", "name", "aliases", "amounts", "eligibility"} <= set(row), row
        assert row["source"] in docs, (labels.name, row["source"])
        missing += [(row["name"], span) for span in [*row["amounts"], *row["eligibility"]] if fold(span) not in docs[row["source"]]]
    assert not missing, missing
