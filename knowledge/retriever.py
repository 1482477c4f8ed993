"""Hybrid retrieval: dense (Chroma) + BM25, fused by reciprocal-rank fusion, as a
LangChain `BaseRetriever`.

>>> retriever = HybridRetriever(kb=kb, k=5)
>>> docs = retriever.invoke("Combien de territoires d'industrie en Grand Est ?")
>>> docs[0].metadata["source"], docs[0].metadata["score"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from knowledge.filters import Filters

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

__all__ = ["HybridRetriever", "reciprocal_rank_fusion", "date_bounds", "Mode"]

Mode = Literal["hybrid", "dense", "lexical"]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank from 1.

    >>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]])[0][0]
    'b'
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def date_bounds(filters: Filters) -> tuple[int | None, int | None]:
    """ISO (possibly partial) dates -> inclusive YYYYMMDD integer bounds."""

    def num(value: str | None, high: bool) -> int | None:
        if not value:
            return None
        parts = value.strip().split("-")
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else (99 if high else 0)
        day = int(parts[2]) if len(parts) > 2 else (99 if high else 0)
        return year * 10000 + month * 100 + day

    return num(filters.date_from, False), num(filters.date_to, True)


def _region_keys(filters: Filters) -> list[str]:
    if not filters.regions:
        return []
    from knowledge.regions import region_key

    return [region_key(r) for r in filters.regions]


def metadata_predicate(filters: Filters, sources: Sequence[str] | None) -> Callable[[dict[str, Any]], bool]:
    region_keys = _region_keys(filters)
    low, high = date_bounds(filters)

    def allowed(meta: dict[str, Any]) -> bool:
        if sources is not None and meta.get("source") not in sources:
            return False
        if region_keys and not any(meta.get(k) for k in region_keys):
            return False
        num = int(meta.get("date_num") or 0)
        if low is not None and (not num or num < low):
            return False
        if high is not None and (not num or num > high):
            return False
        return True

    return allowed


def chroma_where(filters: Filters, sources: Sequence[str] | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if sources is not None:
        clauses.append({"source": {"$in": list(sources)}})
    if filters.regions:
        ors = [{key: True} for key in _region_keys(filters)]
        clauses.append(ors[0] if len(ors) == 1 else {"$or": ors})
    low, high = date_bounds(filters)
    if low is not None:
        clauses.append({"date_num": {"$gte": max(low, 1)}})
    if high is not None:
        clauses.append({"date_num": {"$lte": high}})
        if low is None:
            clauses.append({"date_num": {"$gt": 0}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over a `KnowledgeBase`, fused with RRF.

    Each returned `Document` carries the chunk metadata plus `score` (fused),
    `rank`, `dense_rank` and `lexical_rank` (0 when absent from that list).
    `mode` selects one part alone ("dense" or "lexical"), for evaluation.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: Any
    k: int = 8
    filters: Filters | None = None
    mode: Mode = "hybrid"
    candidates: int = 30
    rrf_k: int = 60

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None
    ) -> list[Document]:
        kb: KnowledgeBase = self.kb
        filters = self.filters or Filters()
        sources = kb.resolve_sources(filters.sources) if filters.sources else None
        if sources is not None and not sources:
            return []
        n = max(self.candidates, self.k)
        by_id: dict[str, Document] = {}
        rankings: list[list[str]] = []
        dense_rank: dict[str, int] = {}
        lexical_rank: dict[str, int] = {}
        if self.mode in ("hybrid", "dense"):
            vector = kb.embedder.embed_query(query)
            hits = kb.store.search(vector, n, where=chroma_where(filters, sources))
            for rank, (doc, sim) in enumerate(hits, start=1):
                by_id.setdefault(doc.id or "", doc)
                dense_rank[doc.id or ""] = rank
                doc.metadata["dense_score"] = sim
            rankings.append([d.id or "" for d, _ in hits])
        if self.mode in ("hybrid", "lexical"):
            allowed = None if filters.is_empty else metadata_predicate(filters, sources)
            hits_l = kb.lexical().search(query, n, allowed=allowed)
            for rank, (chunk, score) in enumerate(hits_l, start=1):
                if chunk.id not in by_id:
                    by_id[chunk.id] = Document(id=chunk.id, page_content=chunk.text, metadata=dict(chunk.metadata))
                lexical_rank[chunk.id] = rank
                by_id[chunk.id].metadata["lexical_score"] = score
            rankings.append([c.id for c, _ in hits_l])
        fused = reciprocal_rank_fusion(rankings, k=self.rrf_k)[: self.k]
        out = []
        for rank, (chunk_id, score) in enumerate(fused, start=1):
            doc = by_id[chunk_id]
            doc.metadata.update(
                score=score,
                rank=rank,
                dense_rank=dense_rank.get(chunk_id, 0),
                lexical_rank=lexical_rank.get(chunk_id, 0),
            )
            out.append(doc)
        return out
