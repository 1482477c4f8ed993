"""What a loader hands to the chunker: the text of one file and what is known about it.

`LoadedDocument.text` is the normalised text; every offset (page spans, chunk
`start`/`end`, citation spans) indexes it. `original` is the decoded text
before normalisation, kept for display and debugging only.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from knowledge.docstore import StoredDocument

__all__ = ["DocumentMetadata", "Format", "LoadedDocument", "PageSpan"]

Format = Literal["txt", "md", "html", "pdf"]


@dataclass(frozen=True)
class PageSpan:
    """Page `number` (1-based) of a PDF covers ``text[start:end]``."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class DocumentMetadata:
    """What is known about a document, from its bytes, its text and its sidecar.

    `date` is a possibly partial ISO date ("2019-09-24", "2019-11", "2025") or
    None; `date_num` is the same as YYYYMMDD with unknown parts as 00 (0 when no
    date), for numeric range filters. `regions` holds canonical region names
    (see `knowledge.regions`).
    """

    doc_id: str
    source: str
    title: str
    date: str | None
    date_num: int
    regions: tuple[str, ...]
    language: Literal["fr", "en"]
    format: Format


@dataclass(frozen=True)
class LoadedDocument:
    """One file, decoded and normalised.

    >>> from ingest.loaders import load_document
    >>> doc = load_document("knowledge/corpus/003_3af200a01a20ee1d.txt")
    >>> doc.metadata.date, doc.text[:27]
    ('2019-09-24', 'Paris, le 24 septembre 2019')
    """

    path: Path
    original: str
    text: str
    metadata: DocumentMetadata
    pages: list[PageSpan] = field(default_factory=list)

    def page_at(self, offset: int) -> int:
        """The 1-based page holding ``text[offset]``; 0 for a document without pages."""
        if not self.pages:
            return 0
        starts = [p.start for p in self.pages]
        # Empty pages get the end offset of the text before them, so the last page
        # starting at or before `offset` is the one holding it.
        i = bisect_right(starts, offset) - 1
        return self.pages[max(i, 0)].number

    def to_stored(self, chunks: int = 0) -> StoredDocument:
        """The record the document store keeps (the normalised text citations quote from)."""
        from knowledge.docstore import StoredDocument

        meta = self.metadata
        return StoredDocument(
            doc_id=meta.doc_id,
            source=meta.source,
            title=meta.title,
            date=meta.date,
            format=meta.format,
            language=meta.language,
            text=self.text,
            regions=list(meta.regions),
            pages=[(p.number, p.start, p.end) for p in self.pages],
            chunks=chunks,
        )
