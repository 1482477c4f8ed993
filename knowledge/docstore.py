"""The whole normalised text of each ingested document, so that citations can quote
exact spans (by offsets) and the UI can show a document at the cited place.

One JSON file per document under `<data_dir>/documents/`, written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knowledge.errors import NotFoundError, StoreError

__all__ = ["StoredDocument", "DocumentStore"]


@dataclass
class StoredDocument:
    doc_id: str
    source: str
    title: str
    date: str | None
    format: str
    language: str
    text: str
    regions: list[str] = field(default_factory=list)
    pages: list[tuple[int, int, int]] = field(default_factory=list)  # (page, start, end)
    chunks: int = 0
    chunk_digest: str = ""  # SHA-256 of its chunks' texts and metadata: re-ingest knows them unchanged

    @property
    def name(self) -> str:
        return Path(self.source).name

    def page_at(self, offset: int) -> int | None:
        for number, start, end in self.pages:
            if start <= offset < end:
                return number
        return None


class DocumentStore:
    """Documents by id, with an index by source path."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, StoredDocument] = {}
        self._listing: tuple[list[str], list[StoredDocument]] | None = None  # directory entries, documents

    def _path(self, doc_id: str) -> Path:
        if not doc_id or "/" in doc_id or "\\" in doc_id or doc_id.startswith("."):
            raise NotFoundError(f"no document with id {doc_id!r}")
        return self.directory / f"{doc_id}.json"

    def put(self, doc: StoredDocument) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = json.dumps(asdict(doc), ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(prefix=".doc-", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, self._path(doc.doc_id))
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StoreError(f"cannot write document {doc.doc_id} to {self.directory}: {exc}") from exc
        self._cache[doc.doc_id] = doc
        self._listing = None

    def get(self, doc_id: str) -> StoredDocument:
        if doc_id in self._cache:
            return self._cache[doc_id]
        path = self._path(doc_id)
        if not path.exists():
            raise NotFoundError(f"no document with id {doc_id!r}")
        data = json.loads(path.read_text(encoding="utf-8"))
        data["pages"] = [tuple(p) for p in data.get("pages", [])]
        doc = StoredDocument(**data)
        self._cache[doc_id] = doc
        return doc

    def delete(self, doc_id: str) -> None:
        self._cache.pop(doc_id, None)
        self._listing = None
        self._path(doc_id).unlink(missing_ok=True)

    def all(self) -> list[StoredDocument]:
        """Every document, by name. While the directory holds the same files this is the same list
        object (do not modify it): a question asks for it, and reading thousands of files each time
        cost a 10k-chunk store 150 ms a question."""
        try:
            entries = os.listdir(self.directory)  # compared as listed: sorting 27k names cost 11 ms a question
        except FileNotFoundError:
            return []
        listing = self._listing
        if listing is not None and listing[0] == entries:
            return listing[1]
        names = [n for n in entries if n.endswith(".json") and not n.startswith(".")]
        docs = sorted((self.get(n[: -len(".json")]) for n in names), key=lambda d: d.name)
        self._listing = (entries, docs)
        return docs

    def by_source(self, source: str) -> StoredDocument | None:
        for doc in self.all():
            if doc.source == source:
                return doc
        return None
