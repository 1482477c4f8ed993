"""Files -> normalised documents -> chunks (and, in `ingest.pipeline`, -> the store).

>>> from ingest import load_document, chunk_document
>>> len(chunk_document(load_document("knowledge/corpus/004_a4a221ff72913230.txt"))) > 1
True
"""

from __future__ import annotations

from ingest.chunking import chunk_document
from ingest.document import DocumentMetadata, LoadedDocument, PageSpan
from ingest.loaders import SUPPORTED_EXTENSIONS, load_document
from ingest.metadata import SidecarError
from ingest.normalize import normalize_text

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "DocumentMetadata",
    "LoadedDocument",
    "PageSpan",
    "SidecarError",
    "chunk_document",
    "load_document",
    "normalize_text",
]
