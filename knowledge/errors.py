"""The one exception hierarchy of tia.

Every floor raises these; the CLI and the UI translate them into a message and an
exit status (or an HTTP status) at their edge. Library errors (chromadb, pypdf,
bm25s...) are caught where they happen and re-raised as one of these, with the
original chained as ``__cause__``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "TiaError",
    "ConfigError",
    "IngestError",
    "UnsupportedFormatError",
    "EmptyDocumentError",
    "UnreadableDocumentError",
    "StoreError",
    "EmbedderMismatchError",
    "StoreLockedError",
    "SchemaError",
    "NotFoundError",
    "AnswerError",
]


class TiaError(Exception):
    """Base class of every error tia raises on purpose."""


class ConfigError(TiaError):
    """A setting is missing, malformed, or contradicts another one."""


class IngestError(TiaError):
    """A file could not be ingested. ``str()`` is one line that names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # pickled across `tia ingest --workers` processes
        return type(self), (self.path, self.reason)


class UnsupportedFormatError(IngestError):
    """The file's extension is not one tia can read."""


class EmptyDocumentError(IngestError):
    """The file holds no text (empty file, or a PDF with no extractable text)."""


class UnreadableDocumentError(IngestError):
    """The file cannot be decoded or parsed (corrupt or encrypted PDF, bad bytes)."""


class StoreError(TiaError):
    """The vector store or lexical index cannot be opened, read or written."""


class EmbedderMismatchError(StoreError):
    """The store was built with another embedding model than the one configured."""


class StoreLockedError(StoreError):
    """Another process is writing the data directory (one writer at a time)."""


class SchemaError(StoreError):
    """The store was written by a tia whose storage schema this one cannot read."""


class NotFoundError(TiaError):
    """A document, source or record that was asked for does not exist."""


class AnswerError(TiaError):
    """The answerer failed (for instance an LLM endpoint that cannot be reached)."""
