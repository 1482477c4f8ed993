"""`Assistant`: the one entry point the presenters (CLI, UI, HTTP API, eval runner) call.

>>> assistant = Assistant(load_settings())
>>> assistant.ingest_bundled().counts
{'added': 5, 'unchanged': 0, 'replaced': 0, 'failed': 0}
>>> assistant.answer("Combien de territoires d'industrie compte le Grand Est ?").text
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.answer import Answer, Passage
from assistant.answerer import ANSWER_BUDGET, AnswerRequest, Answerer
from assistant.extractive import ExtractiveAnswerer
from assistant.query import Query, QueryBuilder, split_question
from assistant.units import UnitIndex
from ingest.pipeline import Ingestor, IngestReport
from knowledge.base import BUNDLED_CORPUS, KnowledgeBase
from knowledge.docstore import StoredDocument
from knowledge.embeddings import TiaEmbeddings
from knowledge.errors import ConfigError
from knowledge.filters import Filters
from knowledge.settings import Settings, enforce_offline, load_settings

__all__ = ["Assistant", "DocumentInfo"]

DocumentInfo = StoredDocument
EMPTY_KNOWLEDGE_BASE = (
    "the knowledge base is empty: ingest documents first (`tia ingest --bundled` for the bundled corpus, "
    "or `tia ingest PATH`)"
)
_MAX_QUESTION = 2000


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


class Assistant:
    """Question -> retrieval -> cited answer, over one knowledge base. Cheap to build."""

    def __init__(self, settings: Settings | None = None, *, embedder: TiaEmbeddings | None = None) -> None:
        enforce_offline()
        self.settings = settings or load_settings()
        self.kb = KnowledgeBase(self.settings, embedder)
        self.ingestor = Ingestor(self.kb)
        self.queries = QueryBuilder()
        self.units = UnitIndex(self.kb)
        self.extractive = ExtractiveAnswerer(self.units)
        self._answerer: Answerer | None = None

    # -- answering -------------------------------------------------------------------
    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            if self.settings.llm_enabled:
                from assistant.llm import LLMAnswerer

                self._answerer = LLMAnswerer(
                    self.settings, fallback=self.extractive, embed=self._embed_texts
                )
            else:
                self._answerer = self.extractive
        return self._answerer

    def _embed_texts(self, texts: list[str]) -> Any:
        import numpy as np

        return np.asarray(self.kb.embedder.embed_documents(texts), dtype=np.float32)

    def warm_up(self) -> None:
        """Load the model, open the store and indexes, so the first question is not slow."""
        self.kb.warm_up()
        self.units.refresh()
        self.queries.glossary  # noqa: B018 - loads the glossary once

    def _prepare(
        self, question: str, history: list[dict[str, str]] | None, filters: Filters | None, k: int | None
    ) -> tuple[AnswerRequest, Query, dict[str, float]]:
        if not isinstance(question, str) or not question.strip():
            raise ConfigError("question: empty question")
        if len(question) > _MAX_QUESTION:
            raise ConfigError(f"question: too long ({len(question)} characters, at most {_MAX_QUESTION})")
        for i, message in enumerate(history or []):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant") or not isinstance(
                message.get("content"), str
            ):
                raise ConfigError(
                    f"history[{i}]: expected {{'role': 'user'|'assistant', 'content': str}}, got {message!r}"
                )
        timings: dict[str, float] = {}
        t = time.perf_counter()
        if self.kb.sync():  # another process sharing the store ingested or removed documents
            self.units.refresh()
        timings["sync"] = _ms(t)
        t = time.perf_counter()
        query = self.queries.build(question, history)
        timings["query"] = _ms(t)
        t = time.perf_counter()
        docs = self.kb.retriever(k=k or self.settings.k, filters=filters).invoke(query.text)
        passages = [
            Passage(
                rank=int(d.metadata.get("rank", i + 1)),
                chunk_id=str(d.metadata.get("chunk_id", d.id or "")),
                doc_id=str(d.metadata.get("doc_id", "")),
                source=str(d.metadata.get("source", "")),
                title=str(d.metadata.get("title", "")),
                date=d.metadata.get("date") or None,
                page=int(d.metadata.get("page") or 0) or None,
                start=int(d.metadata.get("start", 0)),
                end=int(d.metadata.get("end", 0)),
                text=d.page_content,
                score=round(float(d.metadata.get("score", 0.0)), 6),
            )
            for i, d in enumerate(docs)
        ]
        timings["retrieve"] = _ms(t)
        request = AnswerRequest(
            question=question,
            query=query.text,
            language=query.language,
            passages=passages,
            history=list(history or []),
            document_text=lambda doc_id: self.kb.documents.get(doc_id).text,
            kind=query.kind,
            regions=query.regions,
            focus=query.focus,
            filters=filters,
        )
        return request, query, timings

    def answer(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Answer:
        parts = split_question(question) if isinstance(question, str) else [question]
        if len(parts) > 1:
            # Each part is retrieved and answered on its own; the second reads the first as context.
            first = self._answer_one(parts[0], history, filters, k, budget=ANSWER_BUDGET // 2)
            context = list(history or []) + [
                {"role": "user", "content": parts[0]},
                {"role": "assistant", "content": first.text},
            ]
            second = self._answer_one(parts[1], context, filters, k, budget=ANSWER_BUDGET // 2)
            return Answer.combine(question, [first, second])
        return self._answer_one(question, history, filters, k)

    def _answer_one(
        self,
        question: str,
        history: list[dict[str, str]] | None,
        filters: Filters | None,
        k: int | None,
        budget: int | None = None,
    ) -> Answer:
        start = time.perf_counter()
        request, _, timings = self._prepare(question, history, filters, k)
        request.budget = budget or ANSWER_BUDGET
        t = time.perf_counter()
        answer = self.answerer.answer(request)
        timings["answer"] = _ms(t)
        timings["total"] = _ms(start)
        answer.timings = timings
        if not request.passages and not self.kb.documents.all():
            answer.warnings.append(EMPTY_KNOWLEDGE_BASE)
        return answer

    def stream(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are composed, then the final `Answer`."""
        if isinstance(question, str) and len(split_question(question)) > 1:
            answer = self.answer(question, history, filters, k)
            yield from answer.text.splitlines(keepends=True)
            yield answer
            return
        start = time.perf_counter()
        request, _, timings = self._prepare(question, history, filters, k)
        t = time.perf_counter()
        for piece in self.answerer.stream(request):
            if isinstance(piece, Answer):
                timings["answer"] = _ms(t)
                timings["total"] = _ms(start)
                piece.timings = timings
            yield piece

    # -- documents -------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path], progress: bool = False, workers: int = 1) -> IngestReport:
        report = self.ingestor.ingest(paths, progress=progress, workers=workers)
        self._documents_changed()
        return report

    def _documents_changed(self) -> None:
        from ingest.schemes import scheme_catalogue

        self.units.refresh()
        scheme_catalogue(self.kb).rebuild()

    def ingest_bundled(self, progress: bool = False) -> IngestReport:
        return self.ingest([BUNDLED_CORPUS], progress=progress)

    def remove(self, source: str) -> StoredDocument:
        doc = self.ingestor.remove(source)
        self._documents_changed()
        return doc

    def documents(self) -> list[StoredDocument]:
        return self.kb.documents.all()

    def document(self, doc_id: str) -> StoredDocument:
        return self.kb.documents.get(doc_id)

    def corpus_fingerprint(self) -> str:
        return self.kb.fingerprint()

    def status(self) -> dict[str, Any]:
        docs = self.documents()
        return {
            "store": self.settings.store_kind,
            "location": self.kb.store.shown_location,
            "collection": self.settings.collection,
            "data_dir": str(self.settings.data_dir),
            "embedder": self.kb.embedder.model_id,
            "dimension": self.kb.embedder.dimension,
            "documents": len(docs),
            "chunks": self.kb.store.count(),
            "answerer": "llm" if self.settings.llm_enabled else "extractive",
            "llm_model": self.settings.llm_model,
            "fingerprint": self.corpus_fingerprint(),
        }
