"""Hybrid retrieval: dense (Chroma) + BM25, fused by reciprocal-rank fusion, as a
LangChain `BaseRetriever`.

>>> retriever = HybridRetriever(kb=kb, k=5)
>>> docs = retriever.invoke("Combien de territoires d'industrie en Grand Est ?")
>>> docs[0].metadata["source"], docs[0].metadata["score"]
>>> len(retriever.invoke("Quels territoires du CVL ?", k=2))   # per call: k, filters, mode
2
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

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

    `k`, `filters` and `mode` are defaults: `invoke(query, k=3)` (or `filters=`,
    `mode=`; `ainvoke` alike) overrides them for that call only, as LangChain's
    retriever contract expects of a "number of results" parameter. Any other keyword
    is a `TypeError`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: Any
    k: int = Field(default=8, ge=1)
    filters: Filters | None = None
    mode: Mode = "hybrid"
    candidates: int = Field(default=30, ge=1)
    rrf_k: int = Field(default=60, ge=0)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode | None = None,
    ) -> list[Document]:
        k = self.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        mode = mode or self.mode
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"mode must be 'hybrid', 'dense' or 'lexical', got {mode!r}")
        kb: KnowledgeBase = self.kb
        filters = filters if filters is not None else (self.filters or Filters())
        sources = kb.resolve_sources(filters.sources) if filters.sources else None
        if sources is not None and not sources:
            return []
        n = max(self.candidates, k)
        by_id: dict[str, Document] = {}
        rankings: list[list[str]] = []
        dense_rank: dict[str, int] = {}
        lexical_rank: dict[str, int] = {}
        if mode in ("hybrid", "dense"):
            vector = kb.embedder.embed_query(query)
            hits = kb.store.search(vector, n, where=chroma_where(filters, sources))
            for rank, (doc, sim) in enumerate(hits, start=1):
                by_id.setdefault(doc.id or "", doc)
                dense_rank[doc.id or ""] = rank
                doc.metadata["dense_score"] = sim
            rankings.append([d.id or "" for d, _ in hits])
        if mode in ("hybrid", "lexical"):
            allowed = None if filters.is_empty else metadata_predicate(filters, sources)
            hits_l = kb.lexical().search(query, n, allowed=allowed)
            for rank, (chunk, score) in enumerate(hits_l, start=1):
                if chunk.id not in by_id:
                    by_id[chunk.id] = Document(id=chunk.id, page_content=chunk.text, metadata=dict(chunk.metadata))
                lexical_rank[chunk.id] = rank
                by_id[chunk.id].metadata["lexical_score"] = score
            rankings.append([c.id for c, _ in hits_l])
        fused = reciprocal_rank_fusion(rankings, k=self.rrf_k)[:k]
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

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode | None = None,
    ) -> list[Document]:
        # The embedder, Chroma and BM25 are all blocking: run the sync path in an executor
        # (LangChain's default does so too, but drops the per-call k, filters and mode).
        return await run_in_executor(
            None,
            self._get_relevant_documents,
            query,
            run_manager=run_manager.get_sync(),
            k=k,
            filters=filters,
            mode=mode,
        )
