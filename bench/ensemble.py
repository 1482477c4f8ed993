"""LangChain's EnsembleRetriever(BM25, Chroma) beside tia's HybridRetriever, over the same chunks.

Called by `bench/scale.py --ensemble` (same process, same store, same embedder, same run).

langchain_community is NOT installed in this project (and is not installed for this), so its
`BM25Retriever` (rank_bm25's BM25Okapi over `text.split()` tokens) is replaced by
`SplitBM25Retriever` below: bm25s (BM25 k1 = 1.5, b = 0.75, the "lucene" variant) over the
same `text.split()` tokens, wrapped as a LangChain `BaseRetriever`. bm25s is much faster than
rank_bm25 (which scores every document in Python/numpy per query term), so the ensemble's
latency here is, if anything, optimistic. The dense half is langchain_chroma's
`Chroma.as_retriever` over tia's own collection (`kb.store.vectorstore`). Fusion is
`langchain_classic.retrievers.EnsembleRetriever` (weighted RRF, c = 60, weights 0.5 / 0.5),
each retriever returning 30 documents as tia's HybridRetriever takes 30 candidates from each.

Queries: the standalone query tia's QueryBuilder makes of each single-turn answerable dev
record with expected sources (the same text for both systems); hit@5 = a chunk of an expected
source among the first 5 returned. Query vectors are forgotten before each call.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict


class SplitBM25Retriever(BaseRetriever):
    """BM25 over `text.split()` tokens (as BM25Retriever's default preprocessing), bm25s inside."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    docs: list[Document]
    bm25: Any
    vocab: dict[str, int]
    k: int = 30

    @classmethod
    def from_documents(cls, docs: list[Document], k: int = 30) -> SplitBM25Retriever:
        import bm25s

        bm25 = bm25s.BM25(k1=1.5, b=0.75)
        bm25.index([d.page_content.split() or ["<empty>"] for d in docs], show_progress=False)
        return cls(docs=docs, bm25=bm25, vocab=dict(bm25.vocab_dict), k=k)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        terms = [t for t in query.split() if t in self.vocab]
        if not terms:
            return []
        ids, scores = self.bm25.retrieve([terms], k=min(self.k, len(self.docs)), show_progress=False, n_threads=1)
        return [self.docs[int(i)] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def compare(assistant: Any, records: list[Any]) -> list[tuple[str, str]]:
    from langchain_classic.retrievers import EnsembleRetriever

    from evals.metrics import source_matches

    kb = assistant.kb
    embedder = kb.embedder
    chunks = kb.store.all_chunks()
    docs = [Document(id=c.id, page_content=c.text, metadata=c.metadata) for c in chunks]
    t = time.perf_counter()
    bm25 = SplitBM25Retriever.from_documents(docs, k=30)
    bm25_build = time.perf_counter() - t
    dense = kb.store.vectorstore.as_retriever(search_kwargs={"k": 30})
    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    tia = kb.retriever(k=5)
    qs = [(assistant.queries.build(r.question).text, r.expected_sources) for r in records
          if len(r.turns) == 1 and r.answerable and r.expected_sources]

    def run(fn) -> tuple[list[float], float]:  # noqa: ANN001
        fn(qs[0][0])  # warm
        times, hits = [], []
        for q, expected in qs:
            embedder.__dict__.pop("_query_cache", None)
            t = time.perf_counter()
            got = fn(q)[:5]
            times.append((time.perf_counter() - t) * 1000)
            hits.append(any(source_matches(expected, str(d.metadata.get("source", "")), str(d.metadata.get("doc_id", ""))) for d in got))
        return times, float(np.mean(hits))

    rows = []
    results = {}
    # Interleave the two systems twice, so that a burst of load on the machine hits both.
    for name, fn in (("tia HybridRetriever", tia.invoke), ("LangChain EnsembleRetriever", ensemble.invoke),
                     ("tia HybridRetriever", tia.invoke), ("LangChain EnsembleRetriever", ensemble.invoke)):
        times, hit = run(fn)
        prev = results.get(name)
        results[name] = (prev[0] + times, hit) if prev else (times, hit)
    for name, (times, hit) in results.items():
        rows.append((f"{name} (k=5; {len(qs)} single-turn queries x 2 rounds): p50 / p95 / max; hit@5",
                     f"{statistics.median(times):.1f} / {_pct(times, 0.95):.1f} / {max(times):.1f} ms; {hit:.3f}"))
    a, b = results["tia HybridRetriever"][0], results["LangChain EnsembleRetriever"][0]
    rows.append(("EnsembleRetriever ÷ tia latency (p50; p95) (target: ≥ 10)",
                 f"{statistics.median(b) / statistics.median(a):.2f}; {_pct(b, 0.95) / _pct(a, 0.95):.2f}"))
    # Where the ensemble's time goes: each half alone.
    for name, fn in (("  Chroma as_retriever alone (k=30)", dense.invoke), ("  SplitBM25Retriever alone (k=30)", bm25.invoke)):
        times, hit = run(fn)
        rows.append((name + ": p50 / p95; hit@5", f"{statistics.median(times):.1f} / {_pct(times, 0.95):.1f} ms; {hit:.3f}"))
    rows.append(("  SplitBM25Retriever index build", f"{bm25_build:.2f} s"))
    return rows
