"""evals.metrics on hand-made (Record, Answer) pairs: every expected value below is counted by hand.

The answers are built by hand (plain `Answer` dataclasses), not produced by the
assistant: these tests check the arithmetic and the matching rules, nothing else.
"""

from __future__ import annotations

import pytest

from assistant.answer import Answer, Citation, Passage
from evals.dataset import Record
from evals.metrics import (
    Threshold,
    abstention_accuracy,
    all_facts,
    answer_length,
    citation_hit,
    citation_precision,
    compute_metrics,
    fact_found,
    fact_recall,
    false_abstention,
    fold,
    group_metrics,
    hit_at_k,
    is_known_metric,
    latency_stats,
    length_stats,
    lower_is_better,
    mrr,
    pass_rate,
    percentile,
    score_record,
    source_matches,
    strip_marks,
)

CVL = "/data/corpus/004_a4a221ff72913230.txt"
GE = "/data/corpus/000_1b396a36e8a233e6.txt"
OTHER = "/data/corpus/002_20f9fc35e5466faa.txt"


def cite(n: int, source: str, doc_id: str = "d") -> Citation:
    return Citation(n=n, source=source, doc_id=doc_id, title="t", date=None, page=None, quote="q", start=0, end=1, score=1.0)


def passage(rank: int, source: str, doc_id: str = "d") -> Passage:
    return Passage(rank=rank, chunk_id=f"c{rank}", doc_id=doc_id, source=source, title="t", date=None, page=None,
                   start=0, end=1, text=f"passage {rank}", score=1.0 / rank)


def answer(text: str, citations: list[Citation] = (), passages: list[Passage] = (), abstained: bool = False,
           timings: dict[str, float] | None = None) -> Answer:
    return Answer(question="q", text=text, citations=list(citations), abstained=abstained, language="fr",
                  timings=timings or {}, passages=list(passages))


def record(rid: str, facts=(), sources=(), answerable: bool = True, lang: str = "fr", tags=()) -> Record:
    return Record(id=rid, turns=("q?",), answerable=answerable, expected_facts=tuple(tuple(g) for g in facts),
                  expected_sources=tuple(sources), lang=lang, tags=tuple(tags))


# -- folding ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("DOUZE Territoires", "douze territoires"),  # case
        ("Lauréats de l'État", "laureats de l'etat"),  # accents
        ("l’AdCF", "l'AdCF"),  # typographic vs straight apostrophe
        ("l‘AdCF", "lʼAdCF"),
        ("Grand-Est Touraine", "Grand Est Touraine"),  # hyphen vs space
        ("Sologne – Val de Cher", "Sologne - Val de Cher"),  # en dash vs hyphen
        ("Sologne—Val de Cher", "Sologne-Val de Cher"),  # em dash
        ("Saint‑Brieuc", "Saint-Brieuc"),  # non-breaking hyphen
        ("3,9\u202fM€", "3,9 M€"),  # narrow no-break space
        ("plus de\u00a010\t%", "plus de 10 %"),  # no-break space, tab
        ("Orléans\n  Métropole", "Orleans Metropole"),  # line break and runs of spaces
        ("mise en œuvre", "mise en oeuvre"),  # ligature
    ],
)
def test_fold_makes_equivalent_spellings_equal(a: str, b: str) -> None:
    assert fold(a) == fold(b)


def test_fold_keeps_what_differs() -> None:
    assert fold("3,9 M€") != fold("3.9 M€")  # decimal separators are not folded: list both
    assert fold("Nord Loiret") != fold("Est du Loiret")


def test_strip_marks_removes_citation_marks_only() -> None:
    assert strip_marks("Douze [1][2], puis [3, 4].") == "Douze, puis."
    assert strip_marks("Article [a] et [12b]") == "Article [a] et [12b]"


# -- fact matching ----------------------------------------------------------------------
def test_a_group_holds_when_any_alternative_appears() -> None:
    assert fact_found(["12", "douze"], "Douze territoires sont lauréats.")
    assert fact_found(["12", "douze"], "12 territoires")
    assert not fact_found(["12", "douze"], "Onze territoires")


def test_alternatives_match_after_folding() -> None:
    assert fact_found(["Grand-Est Touraine"], "le territoire GRAND EST TOURAINE, qui inclut Amboise")
    assert fact_found(["Saint-Brieuc Baie d'Armor"], "Saint‑Brieuc Baie d’Armor")
    assert fact_found(["Sologne - Val de Cher"], "Sologne-Val de Cher")
    assert fact_found(["3,9 M€"], "une enveloppe de 3,9\u00a0M€")
    assert not fact_found(["3,9 M€"], "une enveloppe de 3,9M€")  # whitespace collapses, it is not removed
    assert fact_found(["3,9 M€", "3,9M€"], "une enveloppe de 3,9M€")


def test_citation_marks_never_count_as_facts() -> None:
    assert not fact_found(["12"], "Le programme compte des territoires [12].")
    assert not fact_found(["2"], "Voir la source [2].")


def test_numbers_match_whole() -> None:
    assert not fact_found(["12"], "depuis 2012")
    assert not fact_found(["12"], "120 projets")
    assert not fact_found(["36"], "1,36 milliard")
    assert not fact_found(["1"], "1,36 milliard")
    assert fact_found(["1,36"], "sur le 1,36 milliard annoncé")
    assert fact_found(["15"], "soit 15 territoires.")
    assert fact_found(["15"], "(15)")
    assert fact_found(["3.9"], "3.9M€")  # a unit glued after the number is fine
    assert fact_found(["2e"], "le 2e comité de pilotage")


def test_blank_alternatives_never_match() -> None:
    assert not fact_found([" "], "anything")


def test_source_matching() -> None:
    assert source_matches(["a4a221ff72913230"], CVL)
    assert source_matches(["corpus/004_A4A221FF72913230"], CVL)  # case folded
    assert source_matches(["corpus/004"], "C:\\data\\corpus\\004_x.txt")  # backslashes folded
    assert source_matches(["dcdbafe070aef52e"], CVL, doc_id="dcdbafe070aef52e")
    assert not source_matches(["a4a221ff72913230"], GE, doc_id="1b396a36")
    assert not source_matches([], CVL)


# -- one record -------------------------------------------------------------------------
def test_score_record_answerable() -> None:
    r = record("x", facts=[["12", "douze"], ["Issoudun"]], sources=["a4a221ff72913230"])
    s = score_record(r, answer("Douze lauréats [1][2].", [cite(1, CVL), cite(2, GE)], [passage(1, GE), passage(2, CVL)]))
    assert s.facts == (True, False)
    assert s.citation_hit is True and (s.cited_matching, s.cited_total) == (1, 2)
    assert s.first_relevant_rank == 2
    assert s.length == len("Douze lauréats.")
    assert not s.passed and s.reasons == ("missing fact(s): Issoudun",)


def test_score_record_uses_passage_rank_not_list_order() -> None:
    r = record("x", sources=["a4a221ff72913230"])
    s = score_record(r, answer("a", passages=[passage(3, CVL), passage(1, GE), passage(2, OTHER)]))
    assert s.first_relevant_rank == 3


def test_score_record_verdicts() -> None:
    good = record("x", facts=[["15"]], sources=["1b396a36e8a233e6"])
    assert score_record(good, answer("15 territoires [1].", [cite(1, GE)])).passed
    abst = score_record(good, answer("Je ne sais pas.", abstained=True))
    assert not abst.passed and abst.reasons[0] == "abstained on an answerable question"
    wrong_source = score_record(good, answer("15 territoires [1].", [cite(1, OTHER)]))
    assert wrong_source.reasons == ("no citation from an expected source",)
    oos = record("o", answerable=False)
    assert score_record(oos, answer("Rien.", abstained=True)).passed
    assert score_record(oos, answer("Le gazole coûte 2 €.")).reasons == ("answered an unanswerable question",)
    no_sources = score_record(record("n", facts=[["15"]]), answer("15"))
    assert no_sources.citation_hit is None and no_sources.passed


# -- rates ------------------------------------------------------------------------------
@pytest.fixture
def pairs() -> list[tuple[Record, Answer]]:
    """Five records; the expected values in the tests below are counted from this table.

    a  fr  2 groups, 1 found;   cites CVL, GE;  passages GE(1) CVL(2)
    b  fr  1 group, found;      cites CVL;      passages CVL(1)
    c  en  2 groups, 0 found;   abstained;      passages OTHER(1) OTHER(2)
    d  --  unanswerable;        abstained
    e  --  unanswerable;        answered, cites OTHER
    """
    return [
        (record("a", [["12"], ["Issoudun"]], ["a4a221ff72913230"], tags=["list"]),
         answer("Douze ? Non : 12 territoires [1][2].", [cite(1, CVL), cite(2, GE)], [passage(1, GE), passage(2, CVL)],
                timings={"retrieve": 4, "total": 10})),
        (record("b", [["2027"]], ["a4a221ff72913230"], tags=["date", "list"]),
         answer("Jusqu'à 2027 [1].", [cite(1, CVL)], [passage(1, CVL)], timings={"retrieve": 6, "total": 30})),
        (record("c", [["144"], ["141"]], ["3af200a01a20ee1d"], lang="en"),
         answer("I could not find it.", abstained=True, passages=[passage(1, OTHER), passage(2, OTHER)],
                timings={"retrieve": 8, "total": 20})),
        (record("d", answerable=False), answer("Rien.", abstained=True, timings={"total": 50})),
        (record("e", answerable=False, lang="en"), answer("Sunny [1].", [cite(1, OTHER)], timings={"total": 40})),
    ]


def test_fact_metrics(pairs) -> None:
    assert fact_recall(pairs) == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert all_facts(pairs) == pytest.approx(1 / 3)


def test_citation_metrics(pairs) -> None:
    # a: hit (1 of 2 citations match), b: hit (1 of 1), c: no citation.
    assert citation_hit(pairs) == pytest.approx(2 / 3)
    assert citation_precision(pairs) == pytest.approx(2 / 3)


def test_abstention_metrics(pairs) -> None:
    assert abstention_accuracy(pairs) == pytest.approx(1 / 2)  # d abstained, e answered
    assert false_abstention(pairs) == pytest.approx(1 / 3)  # c abstained


def test_pass_rate(pairs) -> None:
    assert pass_rate(pairs) == pytest.approx(2 / 5)  # b and d


def test_retrieval_metrics(pairs) -> None:
    # First relevant passage: a rank 2, b rank 1, c none (passages are read even when the answer abstains).
    assert hit_at_k(pairs, 1) == pytest.approx(1 / 3)
    assert hit_at_k(pairs, 2) == pytest.approx(2 / 3)
    assert hit_at_k(pairs, 10) == pytest.approx(2 / 3)
    assert mrr(pairs) == pytest.approx((1 / 2 + 1 + 0) / 3)


def test_empty_denominators_are_none_not_zero() -> None:
    only_oos = [(record("d", answerable=False), answer("Rien.", abstained=True))]
    assert fact_recall(only_oos) is None and all_facts(only_oos) is None
    assert citation_hit(only_oos) is None and citation_precision(only_oos) is None
    assert false_abstention(only_oos) is None and mrr(only_oos) is None and hit_at_k(only_oos, 1) is None
    assert abstention_accuracy(only_oos) == 1.0
    no_citations = [(record("a", [["12"]], ["x"]), answer("12", abstained=False))]
    assert citation_hit(no_citations) == 0.0 and citation_precision(no_citations) is None


def test_records_without_facts_or_sources_are_left_out_of_those_rates() -> None:
    pairs = [
        (record("f", facts=[["15"]]), answer("15")),  # no sources expected
        (record("s", sources=["a4a221ff72913230"]), answer("x [1]", [cite(1, CVL)])),  # no facts expected
    ]
    assert fact_recall(pairs) == 1.0 and all_facts(pairs) == 1.0
    assert citation_hit(pairs) == 1.0 and citation_precision(pairs) == 1.0


# -- distributions ----------------------------------------------------------------------
def test_percentile_is_nearest_rank() -> None:
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert percentile(values, 50) == 50
    assert percentile(values, 90) == 90
    assert percentile(values, 95) == 100
    assert percentile([7, 1, 3], 95) == 7
    assert percentile([], 50) is None


def test_length_excludes_marks_and_abstentions(pairs) -> None:
    assert answer_length(answer("Douze [1][2].")) == len("Douze.")
    lengths = sorted([len("Douze ? Non : 12 territoires."), len("Jusqu'à 2027."), len("Sunny.")])
    stats = length_stats(pairs)
    assert stats == {"length_median": lengths[1], "length_p90": lengths[2], "length_max": lengths[2]}


def test_pasted_passages_show_in_length() -> None:
    short = [(record("a"), answer("15 territoires [1]."))]
    pasted = [(record("a"), answer("15 territoires [1]. " + "Texte recopié du document. " * 40))]
    assert length_stats(pasted)["length_max"] > 10 * length_stats(short)["length_max"]


def test_latency_per_stage(pairs) -> None:
    stats = latency_stats(pairs)
    # total: 10, 30, 20, 50, 40 -> median 30, p95 (nearest rank 5 of 5) 50, max 50
    assert (stats["latency_total_p50"], stats["latency_total_p95"], stats["latency_total_max"]) == (30, 50, 50)
    # retrieve only on a, b, c: 4, 6, 8
    assert (stats["latency_retrieve_p50"], stats["latency_retrieve_p95"], stats["latency_retrieve_max"]) == (6, 8, 8)
    assert list(stats)[:3] == ["latency_total_p50", "latency_total_p95", "latency_total_max"]


# -- all together -----------------------------------------------------------------------
def test_compute_metrics_by_language(pairs) -> None:
    m = compute_metrics(pairs, hit_ks=(1, 8))
    assert m["fact_recall_fr"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["fact_recall_en"] == 0.0
    assert m["fact_recall_gap"] == pytest.approx(0.75)
    assert {"hit@1", "hit@8", "mrr", "length_median", "latency_total_p95"} <= set(m)
    assert "hit@3" not in m
    assert all(is_known_metric(name) for name in m)


def test_group_metrics_per_tag(pairs) -> None:
    groups = group_metrics(pairs, key=lambda r: r.tags)
    assert set(groups) == {"list", "date"}
    assert groups["list"]["n"] == 2 and groups["list"]["fact_recall"] == pytest.approx((1 / 2 + 1) / 2)
    assert groups["date"]["n"] == 1 and groups["date"]["pass_rate"] == 1.0
    assert groups["date"]["abstention_accuracy"] is None


def test_metric_names_and_directions() -> None:
    for name in ("fact_recall", "hit@1", "hit@12", "mrr", "latency_total_p95", "latency_retrieve_max", "length_p90"):
        assert is_known_metric(name), name
    for name in ("hit@0", "hit@", "recall", "latency_total_p99", "fact-recall"):
        assert not is_known_metric(name), name
    assert lower_is_better("false_abstention") and lower_is_better("latency_total_p95") and lower_is_better("length_max")
    assert not lower_is_better("fact_recall") and not lower_is_better("hit@3")


def test_thresholds_say_what_failed_and_by_how_much() -> None:
    metrics = {"fact_recall": 0.5, "false_abstention": 0.2, "mrr": None}
    ok, message = Threshold("fact_recall", "under", 0.6).check(metrics)
    assert not ok and message == "fact_recall = 0.5, 0.1 below the threshold 0.6"
    assert Threshold("fact_recall", "under", 0.5).check(metrics)[0]  # equal holds
    ok, message = Threshold("false_abstention", "over", 0.05).check(metrics)
    assert not ok and "0.15 above the threshold 0.05" in message
    assert Threshold("false_abstention", "over", 0.2).check(metrics)[0]
    ok, message = Threshold("mrr", "under", 0.1).check(metrics)
    assert not ok and "not measured" in message
