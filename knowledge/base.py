"""`KnowledgeBase`: the store, the lexical index, the document texts and the
indexing bookkeeping of one data directory, opened lazily.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.docstore import DocumentStore
from knowledge.embeddings import TiaEmbeddings, make_embedder
from knowledge.errors import StoreError
from knowledge.filters import Filters
from knowledge.lexical import LexicalIndex
from knowledge.retriever import HybridRetriever, Mode
from knowledge.settings import Settings
from knowledge.store import ChunkStore
from knowledge.writelock import WriteLock

__all__ = ["KnowledgeBase", "BUNDLED_CORPUS"]

BUNDLED_CORPUS = Path(__file__).resolve().parent / "corpus"


class KnowledgeBase:
    """Everything tia knows, behind one object. Cheap to build; opens on first use.

    >>> kb = KnowledgeBase(load_settings())
    >>> kb.retriever(k=5).invoke("Quels territoires du CVL ?")
    """

    def __init__(self, settings: Settings, embedder: TiaEmbeddings | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store: ChunkStore | None = None
        self.documents = DocumentStore(settings.data_dir / "documents")
        self._record_manager: Any = None
        self._lexical: LexicalIndex | None = None
        # Writers (ingest, remove, the scheme catalogue) take this lock, which is also held against
        # other processes; readers swap in a new lexical index atomically.
        self.write_lock = WriteLock(settings.data_dir / "write.lock")
        self._lexical_lock = threading.Lock()
        self._generation: int | None = None  # the store's change counter the caches were built from

    @property
    def embedder(self) -> TiaEmbeddings:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedder, device=self.settings.device)
        return self._embedder

    @property
    def store(self) -> ChunkStore:
        if self._store is None:
            self._store = ChunkStore(self.settings, self.embedder)
        return self._store

    @property
    def lexical_dir(self) -> Path:
        return self.settings.data_dir / "lexical" / self.settings.collection

    @property
    def record_namespace(self) -> str:
        """Which store and collection the ingest records (and the documents' chunk digests) are about."""
        return f"chroma/{self.store.location}/{self.settings.collection}"

    @property
    def record_manager(self) -> Any:
        """LangChain's SQL record manager: which chunk ids each source produced, and their hashes."""
        if self._record_manager is None:
            from langchain_classic.indexes import SQLRecordManager

            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                manager = SQLRecordManager(
                    self.record_namespace, db_url=f"sqlite:///{self.settings.data_dir / 'records.sqlite'}"
                )
                manager.create_schema()
            except Exception as exc:
                raise StoreError(f"cannot open the ingest records in {self.settings.data_dir}: {exc}") from exc
            self._record_manager = manager
        return self._record_manager

    def warm_up(self) -> None:
        """Load the embedding model, connect to the store and load the lexical index."""
        self.store.open()
        self.embedder.embed_query("warm up")
        self.lexical()

    def fingerprint(self) -> str:
        ids = sorted(self.store.ids())
        return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]

    def lexical(self) -> LexicalIndex:
        """The BM25 index, loaded from disk or rebuilt when the store changed since it was built."""
        if self._lexical is not None:
            return self._lexical
        with self._lexical_lock:
            if self._lexical is None:
                generation = self.store.generation()  # read first: a change after it only means a reload too many
                current = self.fingerprint()
                saved = LexicalIndex.load(self.lexical_dir)
                if saved is not None and saved.fingerprint == current:
                    self._lexical = saved
                else:
                    self._lexical = self._rebuild_lexical(current)
                self._generation = generation
        return self._lexical

    def refresh_lexical(self) -> None:
        """Rebuild after the store changed (called by ingest and remove)."""
        with self._lexical_lock:
            self._lexical = self._rebuild_lexical(self.fingerprint())

    def _rebuild_lexical(self, fingerprint: str) -> LexicalIndex:
        index = LexicalIndex.build(self.store.all_chunks(), fingerprint)
        # Saved by the writer only: a process that rebuilt it for itself while another one
        # writes keeps it in memory rather than race the writer's save.
        if self.write_lock.try_acquire():
            try:
                index.save(self.lexical_dir)
            finally:
                self.write_lock.release()
        return index

    def changed(self) -> None:
        """After a write (the caller holds the write lock): rebuild the lexical index and count
        the change in the store, so that other processes sharing it notice."""
        self.refresh_lexical()
        self._generation = self.store.bump_generation()

    def sync(self) -> bool:
        """Whether the store changed since this process last looked (another process ingested or
        removed documents): if so, the lexical index is reloaded on next use. One metadata read."""
        current = self.store.generation()
        if current == self._generation:
            return False
        with self._lexical_lock:
            self._lexical = None
            self._generation = current
        return True

    def resolve_sources(self, wanted: Sequence[str]) -> list[str]:
        """Source paths whose path, file name or doc id contains any of `wanted`."""
        out = []
        for doc in self.documents.all():
            if any(w and (w in doc.source or w == doc.doc_id) for w in wanted):
                out.append(doc.source)
        return out

    def retriever(self, k: int | None = None, filters: Filters | None = None, mode: Mode = "hybrid") -> HybridRetriever:
        return HybridRetriever(kb=self, k=k or self.settings.k, filters=filters, mode=mode)
