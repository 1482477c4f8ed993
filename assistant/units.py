"""Answer units: the sentences and list items of every stored document, with their
offsets in the document text and an embedding each (cached on disk per document).

The extractive answerer picks units, so every quote it makes is an exact span.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.docstore import StoredDocument

__all__ = ["Unit", "split_units", "embedding_texts", "UnitIndex"]

_ITEM = re.compile(r"^\s*(?:[-•*–]|\d{1,2}[.)])\s+")
# A sentence ends at . ! ? … followed by space and an upper-case letter, digit or quote;
# not after common abbreviations or initials.
_SENT_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"A-ZÀ-ÖØ-Þ0-9])")
# "etc." is not one: followed by a capital, it ends its sentence ("... la mobilité etc. Cela s'accompagnera ...").
_ABBREV = re.compile(r"(?:\b(?:M|Mme|Mmes|MM|Dr|St|Ste|cf|p|n°|art|av|env|vol|No)\.|\b[A-Z]\.)$")


@dataclass(frozen=True)
class Unit:
    doc_id: str
    index: int  # position in the document
    start: int
    end: int
    text: str
    kind: str  # "sentence" | "item" | "heading"
    list_id: int  # -1 when not part of a list; else the index of the list's first unit
    intro: bool = False  # a sentence introducing the list that follows it ("... :")


def _sentences(line: str, offset: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENT_END.finditer(line):
        if _ABBREV.search(line[start : match.start()]):
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(line)))
    return [(offset + a, offset + b) for a, b in spans if line[a:b].strip()]


_WRAPPED = re.compile(r"[^\n]{60,}[^.!?:;…»\"\s)\n]\n(?=[^\n\s•*–-])")


def _lines(text: str, wrapped: bool) -> list[str]:
    """The lines of `text`; with `wrapped` (PDF text, broken at the page's width), a long line that ends
    mid-sentence is joined to the next one (the newline stays inside the unit)."""
    if not wrapped:
        return text.split("\n")
    out: list[str] = []
    joins = {m.end() - 1 for m in _WRAPPED.finditer(text)}  # the newlines where a line goes on
    start = 0
    for i, ch in enumerate(text):
        if ch == "\n" and i not in joins:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def split_units(doc_id: str, text: str, wrapped: bool = False) -> list[Unit]:
    """Sentences and list items of `text`; `text[u.start:u.end] == u.text` for each. `wrapped`: the text
    comes from a PDF, whose lines break at the page's width, not at the end of a sentence."""
    raw: list[tuple[int, int, str]] = []  # start, end, kind
    pos = 0
    for line in _lines(text, wrapped):
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            begin = pos + lead
            end = pos + len(line.rstrip())
            if _ITEM.match(line):
                raw.append((begin, end, "item"))
            elif len(stripped) < 90 and not re.search(r"[.!?:;,]$", stripped) and len(stripped.split()) <= 12:
                raw.append((begin, end, "heading"))
            else:
                for a, b in _sentences(text[begin:end], begin):
                    raw.append((a, b, "sentence"))
        pos += len(line) + 1
    units: list[Unit] = []
    list_id = -1
    for i, (a, b, kind) in enumerate(raw):
        if kind == "item":
            if list_id == -1:
                list_id = i
        else:
            list_id = -1
        units.append(Unit(doc_id, i, a, b, text[a:b], kind, list_id if kind == "item" else -1))
    # Mark intros: the unit right before a list's first item, when it ends with ':'.
    out = []
    for i, u in enumerate(units):
        nxt = units[i + 1] if i + 1 < len(units) else None
        intro = bool(nxt and nxt.kind == "item" and u.kind != "item" and u.text.rstrip().endswith(":"))
        out.append(Unit(u.doc_id, u.index, u.start, u.end, u.text, u.kind, u.list_id, intro))
    return out


# Bumped when what is embedded for a unit changes, so that cached vectors are not reused.
_EMBEDDING_LAYOUT = "v4"


def embedding_texts(units: list[Unit]) -> list[str]:
    """What is embedded for each unit: a list item with its list's intro, since "- Issoudun" or
    "- Innovation : création de ..." means little without "12 territoires sont lauréats :" or
    "exemples d'actions lancées depuis un an :"."""
    out = []
    for u in units:
        intro = units[u.list_id - 1] if u.kind == "item" and u.list_id > 0 and units[u.list_id - 1].intro else None
        out.append(f"{intro.text} {u.text}" if intro else u.text)
    return out


class UnitIndex:
    """Units of all stored documents with their embeddings; refreshed when documents change."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()
        self._docs: dict[str, tuple[StoredDocument, list[Unit], np.ndarray]] = {}
        self._listing: list[StoredDocument] | None = None  # the store's listing it was refreshed from
        self.version = 0  # bumped when the documents change

    @property
    def cache_dir(self) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.kb.embedder.model_id)
        return self.kb.settings.data_dir / "units" / _EMBEDDING_LAYOUT / slug

    def refresh(self) -> None:
        listing = self.kb.documents.all()
        if listing is self._listing:  # the same files as last time (called before every question)
            return
        docs = {d.doc_id: d for d in listing}
        with self._lock:
            changed = False
            for stale in set(self._docs) - set(docs):
                del self._docs[stale]
                changed = True
            for doc_id, doc in docs.items():
                if doc_id not in self._docs:
                    units = split_units(doc_id, doc.text, wrapped=doc.format == "pdf")
                    self._docs[doc_id] = (doc, units, self._embed(doc_id, units))
                    changed = True
            if changed:
                self.version += 1
            self._listing = listing

    def _embed(self, doc_id: str, units: list[Unit]) -> np.ndarray:
        path = self.cache_dir / f"{doc_id}.npy"
        if path.exists():
            cached = np.load(path)
            if cached.shape[0] == len(units):
                return cached
        if not units:
            return np.zeros((0, self.kb.embedder.dimension), dtype=np.float32)
        vectors = np.asarray(self.kb.embedder.embed_documents(embedding_texts(units)), dtype=np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.npy")  # processes may share the cache
        np.save(tmp, vectors)
        tmp.replace(path)
        return vectors

    def document(self, doc_id: str) -> tuple[StoredDocument, list[Unit], np.ndarray]:
        if doc_id not in self._docs:
            self.refresh()
        return self._docs[doc_id]

    def all(self) -> list[tuple[StoredDocument, list[Unit], np.ndarray]]:
        return list(self._docs.values())
