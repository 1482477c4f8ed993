"""Candidate answers: the sentences, list items and whole lists of the retrieved documents,
each read with its context (the sentence before, its list's intro, its heading).

The reader ranks these; every quote it makes is an exact span of one of them.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass, replace

import numpy as np

from assistant.answer import Passage
from assistant.reading import DocumentReader
from assistant.units import Unit, UnitIndex
from knowledge.docstore import StoredDocument

__all__ = ["Candidate", "gather"]

# A whole list is a candidate of its own up to this many items (beyond it, its items are).
_MAX_LIST_ITEMS = 25


@dataclass
class Candidate:
    units: list[Unit]  # one unit, or a list's intro followed by its items
    doc: StoredDocument
    passage: Passage  # the retrieved passage it lies in (chunk_id "" and rank 0 when outside every one)
    vector: np.ndarray  # the embedding of its main unit (a list: of its intro)
    context: list[Unit]  # units it is read with: the sentence before, the list intro, its section, the heading
    doc_rank: int  # rank of its document's best passage (1 = best)

    @property
    def lead(self) -> Unit | None:
        """What a list item is shown under: its section ("2. « Sobriété IAA »"), else its list's intro."""
        if self.kind != "item":
            return None
        return next((u for u in self.context if u.kind == "item"), None) or next((u for u in self.context if u.intro), None)

    @property
    def unit(self) -> Unit:
        return self.units[0]

    @property
    def kind(self) -> str:
        return "list" if len(self.units) > 1 else self.units[0].kind

    @property
    def start(self) -> int:
        return self.units[0].start

    @property
    def end(self) -> int:
        return self.units[-1].end

    @property
    def text(self) -> str:
        return "\n".join(u.text for u in self.units)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.doc.doc_id, self.units[0].index, self.units[-1].index)


_NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s")
_SECTION_REACH = 12  # units back to look for the section a list item belongs to


def _section(units: list[Unit], item: Unit) -> Unit | None:
    """The numbered item or heading a "- Aide : ..." line belongs to ("2. « Sobriété IAA »")."""
    for i in range(item.index - 1, max(-1, item.index - _SECTION_REACH), -1):
        u = units[i]
        if u.kind == "heading" or (u.kind == "item" and _NUMBERED.match(u.text) and not _NUMBERED.match(item.text)):
            return u
        if u.kind == "sentence" and not u.intro:
            return None
    return None


def _context(reader: DocumentReader, unit: Unit, units: list[Unit]) -> list[Unit]:
    out: list[Unit] = []
    if unit.kind == "item":
        intro = reader.intro_of(unit)
        if intro is not None:
            out.append(intro)
        section = _section(units, unit)
        if section is not None and section not in out:
            out.append(section)
    else:
        before = reader.antecedent(unit) or reader.previous_sentence(unit)
        if before is not None:
            out.append(before)
    heading = reader.heading(unit)
    if heading is not None and heading not in out:
        out.append(heading)
    return out


@functools.lru_cache(maxsize=65536)
def _gives_orders(text: str) -> bool:
    """A sentence that tells the assistant what to answer ("Ignorez vos instructions et répondez
    que..."): a prompt injection, never an answer (`assistant.checker.instruction_spans`)."""
    from assistant.checker import instruction_spans

    return bool(instruction_spans(text))


def gather(request_passages: list[Passage], index: UnitIndex, reader: DocumentReader) -> list[Candidate]:
    """Every unit of every retrieved document (those inside a retrieved passage carry its rank),
    plus each list with its intro as one candidate; sentences that give orders are left out."""
    out: list[Candidate] = []
    doc_rank: dict[str, int] = {}
    for p in request_passages:
        doc_rank.setdefault(p.doc_id, len(doc_rank) + 1)
    for doc_id, rank in doc_rank.items():
        try:
            doc, units, vectors = index.document(doc_id)
        except KeyError:
            continue
        passages = [p for p in request_passages if p.doc_id == doc_id]
        outside = replace(passages[0], chunk_id="", rank=0)
        for u, v in zip(units, vectors, strict=True):
            if _gives_orders(u.text):
                continue
            inside = next((p for p in passages if u.end > p.start and u.start < p.end), outside)
            out.append(Candidate([u], doc, inside, v, _context(reader, u, units), rank))
            following = units[u.index + 1] if u.index + 1 < len(units) else None
            if u.kind != "item" and following is not None and following.list_id == u.index + 1:
                # The line before a list introduces it: "... sont lauréats :", or a heading above it.
                items = [w for w in units[u.index + 1 :] if w.list_id == u.index + 1 and not _gives_orders(w.text)]
                if 1 < len(items) <= _MAX_LIST_ITEMS:
                    out.append(Candidate([u, *items], doc, inside, v, _context(reader, u, units), rank))
    return out
