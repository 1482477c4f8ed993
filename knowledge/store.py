"""The Chroma store: one class for the embedded `PersistentClient` and the `chroma run` server.

Chroma only stores vectors here: tia computes every embedding itself (the
collection is created with `embedding_function=None`), telemetry is off, and the
collection records which embedder built it so that opening it with another one is
refused instead of silently mixing vector spaces.

The collection's metadata also holds the storage schema (`SCHEMA_VERSION`) and a change
counter, the generation, that every write bumps: a process sharing the store (several
`tia serve` on one `chroma run` server) compares it with the one its caches were built
from. A store of an older schema is migrated when it is opened (`MIGRATIONS`); one of a
newer schema, or from before schemas were recorded, is refused with what to do.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from langchain_chroma import Chroma
from langchain_core.documents import Document

from knowledge.embeddings import TiaEmbeddings
from knowledge.errors import EmbedderMismatchError, SchemaError, StoreError
from knowledge.settings import Settings, shown_url

__all__ = ["ChunkStore", "StoredChunk", "SCHEMA_VERSION", "MIGRATIONS"]

SCHEMA_VERSION = 2
_EMBEDDER_KEY = "tia_embedder"
_DIM_KEY = "tia_dimension"
_SCHEMA_KEY = "tia_schema"
_GENERATION_KEY = "tia_generation"
PAGE = 5000  # records per `get` when reading the whole collection
# The HNSW index of a new collection. Chroma's defaults (100 / 100 / 16) found 0.42 of the exact
# 10 nearest neighbours of the dev questions among 100k chunk vectors, these 0.94, for 4 ms a query
# and twice the index build time (bench/hnsw.py, bench/README.md). A collection keeps the settings
# it was created with: ef_construction and max_neighbors cannot change afterwards.
HNSW = {"space": "cosine", "ef_construction": 400, "ef_search": 800, "max_neighbors": 48}


def _add_generation(metadata: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: the change counter that processes sharing a store watch."""
    return {**metadata, _GENERATION_KEY: 0}


# schema N -> the function turning a collection's metadata of schema N into schema N + 1
MIGRATIONS: dict[int, Any] = {1: _add_generation}

# Chroma's own logger is noisy about telemetry even when it is off.
logging.getLogger("chromadb.telemetry").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]


class ChunkStore:
    """Chunks with their vectors, in a Chroma collection (cosine space).

    >>> store = ChunkStore(settings, embedder)   # cheap: connects on first use
    >>> store.count()
    0
    """

    def __init__(self, settings: Settings, embedder: TiaEmbeddings) -> None:
        self.settings = settings
        self.embedder = embedder
        self._client: Any = None
        self._vectorstore: Chroma | None = None
        self._lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------
    @property
    def location(self) -> str:
        if self.settings.chroma_url:
            return self.settings.chroma_url
        return str(self.settings.chroma_dir)

    @property
    def shown_location(self) -> str:
        """`location` as messages show it: a password in the server's URL is hidden."""
        return shown_url(self.location)

    def _make_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.settings.chroma_url:
                url = urlparse(self.settings.chroma_url)
                client = chromadb.HttpClient(
                    host=url.hostname or "localhost",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
                client.heartbeat()
                return client
            self.settings.chroma_dir.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.settings.chroma_dir), settings=chroma_settings)
        except Exception as exc:
            raise StoreError(f"cannot open the Chroma store at {self.shown_location}: {exc}") from exc

    def open(self) -> Chroma:
        """Connect (once) and check the collection was built by the configured embedder."""
        if self._vectorstore is not None:
            return self._vectorstore
        with self._lock:
            if self._vectorstore is not None:
                return self._vectorstore
            client = self._make_client()
            wanted = {
                _EMBEDDER_KEY: self.embedder.model_id,
                _DIM_KEY: int(self.embedder.dimension),
                _SCHEMA_KEY: SCHEMA_VERSION,
                _GENERATION_KEY: 0,
            }
            name = self.settings.collection
            try:
                collection = client.get_or_create_collection(
                    name=name,
                    metadata=wanted,
                    configuration={"hnsw": dict(HNSW)},
                    embedding_function=None,
                )
            except Exception as exc:
                raise StoreError(f"cannot open collection {name!r} at {self.shown_location}: {exc}") from exc
            found = dict(collection.metadata or {})
            if found.get(_EMBEDDER_KEY) != wanted[_EMBEDDER_KEY] or found.get(_DIM_KEY) != wanted[_DIM_KEY]:
                raise EmbedderMismatchError(
                    f"the store at {self.shown_location} (collection {name!r}) was built with the embedder "
                    f"{found.get(_EMBEDDER_KEY)!r} ({found.get(_DIM_KEY)} dimensions), but "
                    f"{wanted[_EMBEDDER_KEY]!r} ({wanted[_DIM_KEY]} dimensions) is configured. "
                    "Re-ingest into a fresh data directory (TIA_DATA_DIR) or collection "
                    "(TIA_COLLECTION), or set TIA_EMBEDDER back to the one the store was built with."
                )
            self._migrate(collection, found)
            self._client = client
            self._vectorstore = Chroma(
                client=client,
                collection_name=name,
                embedding_function=self.embedder,
                collection_metadata=wanted,
            )
            return self._vectorstore

    def _migrate(self, collection: Any, found: dict[str, Any]) -> None:
        schema = found.get(_SCHEMA_KEY)
        where = f"the store at {self.shown_location} (collection {self.settings.collection!r})"
        if not isinstance(schema, int) or schema < min(MIGRATIONS, default=SCHEMA_VERSION):
            raise SchemaError(
                f"{where} has no storage schema tia can migrate (found {schema!r}, this tia writes "
                f"schema {SCHEMA_VERSION}). Re-ingest your documents into a fresh data directory "
                "(TIA_DATA_DIR) or collection (TIA_COLLECTION)."
            )
        if schema > SCHEMA_VERSION:
            raise SchemaError(
                f"{where} was written by a newer tia (schema {schema}; this one reads schema {SCHEMA_VERSION} "
                "and older). Upgrade tia, or use another data directory (TIA_DATA_DIR)."
            )
        metadata = dict(found)
        while metadata[_SCHEMA_KEY] < SCHEMA_VERSION:
            metadata = MIGRATIONS[metadata[_SCHEMA_KEY]](metadata)
            metadata[_SCHEMA_KEY] += 1
        if metadata != found:
            try:
                collection.modify(metadata=metadata)
            except Exception as exc:
                raise StoreError(f"cannot migrate {where} to schema {SCHEMA_VERSION}: {exc}") from exc
            logging.getLogger(__name__).info("migrated %s from schema %s to %s", where, schema, SCHEMA_VERSION)

    # -- the change counter --------------------------------------------------------------
    def generation(self) -> int:
        """The store's change counter as the store has it now (another process may have bumped it)."""
        self.open()
        try:
            collection = self._client.get_collection(self.settings.collection, embedding_function=None)
        except Exception as exc:
            raise StoreError(f"cannot read collection {self.settings.collection!r} at {self.shown_location}: {exc}") from exc
        return int((collection.metadata or {}).get(_GENERATION_KEY, 0))

    def bump_generation(self) -> int:
        """Count one change (the caller holds the write lock); returns the new generation."""
        self.open()
        try:
            collection = self._client.get_collection(self.settings.collection, embedding_function=None)
            metadata = dict(collection.metadata or {})
            metadata[_GENERATION_KEY] = int(metadata.get(_GENERATION_KEY, 0)) + 1
            collection.modify(metadata=metadata)
        except Exception as exc:
            raise StoreError(f"cannot record a change in {self.shown_location}: {exc}") from exc
        return metadata[_GENERATION_KEY]

    @property
    def vectorstore(self) -> Chroma:
        return self.open()

    @property
    def _collection(self) -> Any:
        return self.open()._collection

    # -- reading ---------------------------------------------------------------------
    def count(self) -> int:
        try:
            return int(self._collection.count())
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot count chunks in {self.shown_location}: {exc}") from exc

    def _pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        """The whole collection, `PAGE` records at a time: one `get` of everything fails past about
        32,000 chunks (SQLite's limit on a statement's variables)."""
        offset = 0
        while True:
            got = self._collection.get(include=include, limit=PAGE, offset=offset)  # type: ignore[arg-type]
            yield got
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def ids(self) -> list[str]:
        try:
            return [i for page in self._pages([]) for i in page["ids"]]
        except Exception as exc:
            raise StoreError(f"cannot list chunks in {self.shown_location}: {exc}") from exc

    def all_chunks(self) -> list[StoredChunk]:
        try:
            return [
                StoredChunk(id=i, text=t or "", metadata=dict(m or {}))
                for page in self._pages(["documents", "metadatas"])
                for i, t, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
            ]
        except Exception as exc:
            raise StoreError(f"cannot read chunks from {self.shown_location}: {exc}") from exc

    def search(
        self, query_vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[Document, float]]:
        """Nearest chunks to a query vector, with cosine similarity (1 = identical). Chroma returns
        fewer than `k` when the collection holds fewer (none when it is empty): no count first,
        which against a `chroma run` server would be one more round trip per question."""
        try:
            got = self._collection.query(
                query_embeddings=[query_vector],
                n_results=k,
                where=where or None,
                include=["documents", "metadatas", "distances"],
            )
        except Exception as exc:
            raise StoreError(f"vector search failed in {self.shown_location}: {exc}") from exc
        out: list[tuple[Document, float]] = []
        for i, text, meta, dist in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
        ):
            out.append((Document(id=i, page_content=text or "", metadata=dict(meta or {})), 1.0 - float(dist)))
        return out
