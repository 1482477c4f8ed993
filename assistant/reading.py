"""How a sentence or list item reads in its document: its terms, what comes before it, the
region and the programme phase it is about, the ranks it gives.

The reader's features (`assistant.features`) are computed with these; nothing here looks at a question except
through the arguments it is given. Results are cached per unit: document ids are content
hashes, so a changed document is a new id and never reads stale entries.

>>> reader = DocumentReader(UnitIndex(kb), FrenchAnalyzer())
>>> reader.stages(unit)            # "Il se focalise sur 4 axes majeurs :" after "la seconde phase ..."
frozenset({2})
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import NamedTuple

from assistant.cues import ANAPHOR, ordinal_mentions
from assistant.units import Unit, UnitIndex
from knowledge.docstore import StoredDocument
from knowledge.lexical import FrenchAnalyzer, fold
from knowledge.regions import find_regions
from knowledge.schemes import phase_numbers

__all__ = ["DocumentReader", "Subject", "bigrams"]


def bigrams(tokens: list[str]) -> set[tuple[str, str]]:
    """Adjacent pairs of terms: a phrase match ("président de l'AdCF") beats scattered words."""
    return set(zip(tokens, tokens[1:], strict=False))


class Subject(NamedTuple):
    """The region a document is about, with its terms and their adjacent pairs."""

    regions: frozenset[str]
    terms: frozenset[str]
    pairs: frozenset[tuple[str, str]]


class DocumentReader:
    """Reads units in their documents. Cheap to build; fills its caches as units are read."""

    def __init__(self, units: UnitIndex, analyzer: FrenchAnalyzer) -> None:
        self.units = units
        self.analyzer = analyzer
        self._tokens: dict[tuple[str, int], list[str]] = {}
        self._title_like: dict[tuple[str, int], bool] = {}
        self._subjects: dict[str, Subject] = {}
        self._regions: dict[tuple[str, int], frozenset[str]] = {}
        self._stages: dict[str, list[frozenset[int]]] = {}

    # -- words -----------------------------------------------------------------------
    def tokens(self, unit: Unit) -> list[str]:
        key = (unit.doc_id, unit.index)
        tokens = self._tokens.get(key)
        if tokens is None:
            tokens = self._tokens[key] = self.analyzer(unit.text)
        return tokens

    def stem(self, word: str) -> str:
        return (self.analyzer(word) or [""])[0]

    # -- what comes before a unit ------------------------------------------------------
    def heading(self, unit: Unit) -> Unit | None:
        """The section heading just above a unit (at most two units up), if any."""
        _, units, _ = self.units.document(unit.doc_id)
        for back in (1, 2):
            i = unit.index - back
            if i >= 0 and units[i].kind == "heading":
                return units[i]
        return None

    def intro_of(self, item: Unit) -> Unit | None:
        """The sentence introducing the list an item belongs to ("... sont lauréats :")."""
        _, units, _ = self.units.document(item.doc_id)
        first = item.list_id
        return units[first - 1] if first > 0 and units[first - 1].intro else None

    def previous_sentence(self, unit: Unit) -> Unit | None:
        """The sentence before a sentence, over at most one heading-like line ("Partager sur")."""
        if unit.kind != "sentence":
            return None
        _, units, _ = self.units.document(unit.doc_id)
        for back in (1, 2):
            i = unit.index - back
            if i < 0 or units[i].kind == "item":
                return None
            if units[i].kind == "sentence":
                return units[i]
        return None

    def antecedent(self, unit: Unit) -> Unit | None:
        """The sentence a 'Ceux-ci sont ...' or 'Il se focalise ...' refers back to."""
        if unit.kind != "sentence" or unit.index == 0 or not ANAPHOR.match(unit.text):
            return None
        _, units, _ = self.units.document(unit.doc_id)
        previous = units[unit.index - 1]
        return previous if previous.kind == "sentence" else None

    def is_title_like(self, unit: Unit, doc: StoredDocument) -> bool:
        """A sentence that mostly repeats the document's title ('Le point sur le programme ...')."""
        key = (unit.doc_id, unit.index)
        if key not in self._title_like:
            title, text = fold(doc.title), fold(unit.text)
            match = SequenceMatcher(None, title, text, autojunk=False).find_longest_match(0, len(title), 0, len(text))
            self._title_like[key] = bool(title) and match.size >= 0.6 * len(title)
        return self._title_like[key]

    # -- where and when ------------------------------------------------------------------
    def subject(self, doc: StoredDocument) -> Subject:
        """The region a document is about (its only region, or the regions its title names).
        A document that mentions several regions is about none of them."""
        subject = self._subjects.get(doc.doc_id)
        if subject is None:
            titled = find_regions(doc.title)
            regions = doc.regions if len(doc.regions) == 1 else [r for r in doc.regions if r in titled]
            pieces = [self.analyzer(region) for region in regions]
            subject = self._subjects[doc.doc_id] = Subject(
                frozenset(regions),
                frozenset(t for p in pieces for t in p),
                frozenset(pair for p in pieces for pair in bigrams(p)),
            )
        return subject

    def regions(self, unit: Unit) -> frozenset[str]:
        """The regions a unit names itself."""
        key = (unit.doc_id, unit.index)
        if key not in self._regions:
            self._regions[key] = frozenset(find_regions(unit.text))
        return self._regions[key]

    def stages(self, unit: Unit) -> frozenset[int]:
        """The numbered phases a unit speaks of: the ones it names, else the last ones its document
        named before it ("la seconde phase du programme ... Il se focalise sur 4 axes majeurs :")."""
        stages = self._stages.get(unit.doc_id)
        if stages is None:
            _, units, _ = self.units.document(unit.doc_id)
            stages, current = [], frozenset[int]()
            for u in units:
                current = frozenset(phase_numbers(u.text)) or current
                stages.append(current)
            self._stages[unit.doc_id] = stages
        return stages[unit.index]

    # -- ranks ---------------------------------------------------------------------------------
    def ordinal_agreement(self, asked: list[tuple[int, frozenset[str]]], unit: Unit) -> set[bool]:
        """For each thing the question ranks that the unit ranks too ("la deuxième assemblée"): whether
        the ranks agree. A sentence that ranks nothing is read with the one before it."""
        said = ordinal_mentions(unit.text, self.stem)
        if not said and (before := self.antecedent(unit) or self.previous_sentence(unit)) is not None:
            said = ordinal_mentions(before.text, self.stem)
        return {q_rank == u_rank for q_rank, q_stems in asked for u_rank, u_stems in said if q_stems & u_stems}
