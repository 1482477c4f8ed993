"""Candidate answers: the sentences, list items and whole lists of the retrieved documents,
each read with its context (the sentence before, its list's intro, its heading).

The reader ranks these; every quote it makes is an exact span of one of them.
"""

from __future__ import annotations

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
    context: list[Unit]  # units it is read with: the sentence before, the list intro, the heading
    doc_rank: int  # rank of its document's best passage (1 = best)

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


def _context(reader: DocumentReader, unit: Unit) -> list[Unit]:
    out: list[Unit] = []
    if unit.kind == "item":
        intro = reader.intro_of(unit)
        if intro is not None:
            out.append(intro)
    else:
        before = reader.antecedent(unit) or reader.previous_sentence(unit)
        if before is not None:
            out.append(before)
    heading = reader.heading(unit)
    if heading is not None and heading not in out:
        out.append(heading)
    return out


def gather(request_passages: list[Passage], index: UnitIndex, reader: DocumentReader) -> list[Candidate]:
    """Every unit of every retrieved document (those inside a retrieved passage carry its rank),
    plus each list with its intro as one candidate."""
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
            inside = next((p for p in passages if u.end > p.start and u.start < p.end), outside)
            out.append(Candidate([u], doc, inside, v, _context(reader, u), rank))
            if u.intro:
                items = [w for w in units[u.index + 1 :] if w.list_id == u.index + 1]
                if 1 < len(items) <= _MAX_LIST_ITEMS:
                    out.append(Candidate([u, *items], doc, inside, v, _context(reader, u), rank))
    return out
