"""Hybrid retrieval (dense + BM25, RRF) against each of its parts, on a small labelled set."""

from __future__ import annotations

import pytest

from knowledge.filters import Filters
from knowledge.retriever import reciprocal_rank_fusion

# (question, a phrase the right chunk contains)
LABELLED = [
    ("Combien de territoires d'industrie compte le Grand Est ?", "soit au total 15 territoires"),
    ("Which CVL territories joined phase 2?", "Berry-Sologne, qui inclut notamment Bourges"),
    ("Quelle enveloppe du fonds vert pour la transition écologique en CVL ?", "3,9M€"),
    ("How much will the Banque des Territoires invest each year?", "100 M€ par an"),
    ("Quels sont les quatre axes de la phase 2 ?", "Mobiliser le foncier industriel"),
    ("Combien de projets ont été recensés en septembre 2019 ?", "474 projets"),
    ("Which three new territories joined in September 2019?", "Vendée-Est"),
    ("Qui préside l'AdCF lors de la première assemblée générale ?", "Jean-Luc Rigaut"),
    ("Where was the second general assembly held?", "Mulhouse"),
    ("Combien de territoires fragiles seront accompagnés ?", "25 territoires"),
    ("Quel projet d'insectes à Amiens ?", "farine animale à base d'insectes"),
    ("What is Epsyvin?", "Epsyvin"),
    ("Montant des missions rebond industriel", "6 M€"),
    ("How many territories are piloting the programme (préfigurateurs)?", "29 territoires préfigurateurs"),
    ("Quel pourcentage des territoires ont installé leur gouvernance ?", "87%"),
    ("Which operators signed mobilisation agreements?", "Bpifrance et Pôle emploi"),
    ("Combien de contrats signés en Centre-Val de Loire en 2019 ?", "9 contrats signés"),
    ("When was the second phase of the programme launched?", "lancée en février 2024"),
    ("Volontariat territorial en entreprise VTE", "volontaires territoriaux en entreprise"),
    ("Parc'Innov bioressources", "Parc’Innov"),
]


def test_rrf_fuses_rankings() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "d"]], k=60)
    assert [i for i, _ in fused][:2] == ["b", "c"] or [i for i, _ in fused][:2] == ["c", "b"]
    assert {i for i, _ in fused} == {"a", "b", "c", "d"}
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 62)
    assert scores["a"] == pytest.approx(1 / 61)


def _mrr(kb, mode: str, k: int = 5) -> float:
    from assistant.query import QueryBuilder

    qb = QueryBuilder()
    total = 0.0
    for question, phrase in LABELLED:
        docs = kb.retriever(k=k, mode=mode).invoke(qb.build(question).text)
        norm = phrase.replace("’", "'")
        for rank, d in enumerate(docs, start=1):
            if norm in d.page_content.replace("’", "'"):
                total += 1 / rank
                break
    return total / len(LABELLED)


@pytest.mark.slow
def test_hybrid_beats_each_part(corpus_assistant) -> None:
    kb = corpus_assistant.kb
    hybrid, dense, lexical = _mrr(kb, "hybrid"), _mrr(kb, "dense"), _mrr(kb, "lexical")
    print(f"MRR@5 hybrid={hybrid:.3f} dense={dense:.3f} lexical={lexical:.3f}")
    assert hybrid > dense
    assert hybrid > lexical
    assert hybrid >= 0.8


@pytest.mark.slow
def test_filters_restrict_passages(corpus_assistant) -> None:
    kb = corpus_assistant.kb
    question = "Combien de territoires d'industrie ?"
    cvl = kb.retriever(k=8, filters=Filters(regions=("Centre-Val de Loire",))).invoke(question)
    assert cvl and all("region:centre-val-de-loire" in d.metadata for d in cvl)
    only = kb.retriever(k=8, filters=Filters(sources=("003_3af200a01a20ee1d",))).invoke(question)
    assert only and all("003_3af200a01a20ee1d" in d.metadata["source"] for d in only)
    dated = kb.retriever(k=8, filters=Filters(date_from="2024-01-01")).invoke(question)
    assert dated and all(d.metadata["date_num"] >= 20240000 for d in dated)
    early = kb.retriever(k=8, filters=Filters(date_to="2019-06")).invoke(question)
    assert early and all(0 < d.metadata["date_num"] <= 20190699 for d in early)
    assert kb.retriever(k=8, filters=Filters(sources=("no-such-doc",))).invoke(question) == []


@pytest.mark.slow
@pytest.mark.asyncio
async def test_per_call_k_filters_and_mode_sync_and_async(corpus_assistant) -> None:
    kb = corpus_assistant.kb
    question = "Combien de territoires d'industrie compte le Grand Est ?"
    retriever = kb.retriever(k=6)
    default = retriever.invoke(question)
    assert len(default) == 6
    assert [d.id for d in retriever.invoke(question, k=2)] == [d.id for d in default[:2]]
    assert len(retriever.invoke(question, k=12)) == 12
    assert retriever.k == 6 and len(retriever.invoke(question)) == 6  # the override was for that call only
    assert [d.id for d in await retriever.ainvoke(question, k=2)] == [d.id for d in default[:2]]
    assert len(await retriever.ainvoke(question)) == 6
    cvl = Filters(regions=("Centre-Val de Loire",))
    docs = await retriever.ainvoke(question, k=3, filters=cvl)
    assert len(docs) == 3 and all("region:centre-val-de-loire" in d.metadata for d in docs)
    lexical = retriever.invoke(question, k=4, mode="lexical")
    assert len(lexical) == 4 and all(d.metadata["dense_rank"] == 0 for d in lexical)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        retriever.invoke(question, k=0)
    with pytest.raises(ValueError, match="mode must be"):
        retriever.invoke(question, mode="sparse")
    with pytest.raises(TypeError):
        retriever.invoke(question, top_k=3)
