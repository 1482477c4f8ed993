"""What a question asks, read once per question: its terms and their weights, the answer type it
wants (from `assistant.query`'s kind and a few general cues), the names, numbers, years, phases,
ranks and regions it gives, the noun it counts or names, and the words no document holds.

The reader's features (`assistant.features`) compare each candidate with this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from assistant.cues import (
    DEADLINE_Q,
    DURATION_Q,
    ELIGIBILITY_Q,
    GENERIC_STEMS,
    HAS_YEAR,
    NUMBER_WORDS,
    NUMBERED_STAGE,
    ORDINAL_Q,
    PRECISE_DATE_Q,
    RANK_Q,
    ROLE_Q,
    UNTIL,
    ordinal_mentions,
)
from assistant.reading import bigrams
from knowledge.lexical import FrenchAnalyzer, fold
from knowledge.schemes import phase_numbers

if TYPE_CHECKING:
    from assistant.answerer import AnswerRequest
    from assistant.features import Corpus

__all__ = ["KINDS", "WANTS", "Question", "focus_noun", "stated_numbers"]

KINDS = ("list", "number", "amount", "date", "place", "person", "definition", "scheme", "fact")
WANTS = (*KINDS, "duration", "role", "rank", "until", "deadline", "precise_date", "eligibility")

@dataclass
class Question:
    """What a question asks, read once per question."""

    terms: list[str]
    focus_terms: list[str]
    boost: set[str]
    damp: frozenset[str]
    pairs: set[tuple[str, str]]
    rare: set[str]
    names: list[str]  # the question's names, folded: "Chèque Export Premiers Pas", "Pithiviers"
    wants: dict[str, bool]
    years: set[str]
    stages: set[int]
    ordinals: list[tuple[int, frozenset[str]]]
    regions: list[str]
    missing: float  # share of the question's weight that no document holds (French questions)
    unknown_names: int
    unknown_stages: int
    english: bool
    counts: set[int]  # how many things the question says there are ("the three territories")
    focus: str | None  # the stem of the noun the question counts or names ("combien de territoires", "which axes")
    kind: str = "fact"
    top_idf: float = 1.0  # the idf of its rarest term
    _weights: dict[tuple[str, ...], dict[str, float]] = field(default_factory=dict, repr=False)
    vector: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @classmethod
    def read(cls, request: AnswerRequest, corpus: Corpus, vector: np.ndarray) -> Question:
        from assistant.query import Glossary

        analyzer, glossary = corpus.analyzer, Glossary.load()
        text = request.focus or request.question

        def terms(s: str) -> list[str]:
            return [t for t in dict.fromkeys(analyzer(s)) if t in corpus.df and t not in GENERIC_STEMS]

        names = set(request.regions) | {a for a, e in glossary.acronyms.items() if e in request.regions}
        damp = frozenset(t for n in names for t in analyzer(n))
        english = request.language == "en"
        french = glossary.french_terms(text) if english else []
        boost = set(analyzer(" ".join(french)))
        pairs = bigrams(analyzer(request.question))
        for phrase in french:
            pairs |= bigrams(analyzer(phrase))
        words = re.findall(r"[^\W\d_][\w'’-]*", request.question)
        capitalised = [w for i, w in enumerate(words) if i > 0 and w[0].isupper()]
        rare = {s for w in capitalised for s in analyzer(w) if s not in damp and 0 < corpus.df.get(s, 0) <= 2}
        acronyms = {a.lower() for a in glossary.acronyms}
        unknown = [
            w for w in capitalised
            if len(w) >= 3 and w.lower() not in acronyms
            and not all(part in corpus.words for part in re.findall(r"[^\W\d_]+", fold(w)))  # "Brévilly-sur-Orne"
        ]
        all_terms = [t for t in dict.fromkeys(analyzer(text)) if t not in GENERIC_STEMS]
        absent = sum(1 for t in all_terms if t not in corpus.df)
        q = request.question
        wants = {k: request.kind == k for k in KINDS}
        wants.update(
            duration=bool(DURATION_Q.search(q)), role=bool(ROLE_Q.search(q)),
            rank=bool(RANK_Q.search(q) or ORDINAL_Q.search(q)), until=bool(UNTIL.search(q)),
            deadline=bool(DEADLINE_Q.search(q)), precise_date=bool(PRECISE_DATE_Q.search(q)),
            eligibility=bool(ELIGIBILITY_Q.search(q)),
        )
        stages = [m.group(0) for m in NUMBERED_STAGE.finditer(q)]
        query_terms = terms(request.query)
        return cls(
            terms=query_terms,
            focus_terms=terms(request.focus) if request.focus and request.focus != request.query else [],
            boost=boost,
            damp=damp,
            pairs=pairs,
            rare=rare,
            names=[fold(n) for n in _NAME.findall(request.question[1:]) if len(n) >= 4 and fold(n) not in _NOT_NAMES],
            wants=wants,
            years=set(HAS_YEAR.findall(q)),
            stages=set(phase_numbers(q)),
            ordinals=ordinal_mentions(text, corpus.reader.stem),
            regions=list(request.regions),
            missing=0.0 if english or not all_terms else absent / len(all_terms),
            unknown_names=len(unknown),
            unknown_stages=sum(1 for s in stages if not any(fold(s) in t for t in corpus.folded)),
            english=english,
            counts=stated_numbers(text),
            focus=focus_noun(text, analyzer, glossary.en_fr),
            kind=request.kind,
            top_idf=max((corpus.idf(t) for t in query_terms), default=0.0) or 1.0,
            vector=vector,
        )

    @property
    def typed(self) -> bool:
        """Whether the question asks for a span of a type (a figure, an amount, a date, a person, a place)."""
        return self.kind in ("number", "amount", "date", "person", "place") or self.wants["duration"]

    def coverage(self, corpus: Corpus, terms: list[str], have: set[str]) -> float:
        """Share of the terms' weight (idf, doubled for an English question's French terms, a third for
        the regions it names) that `have` holds."""
        key = tuple(terms)
        weights = self._weights.get(key)
        if weights is None:
            weights = self._weights[key] = {
                t: corpus.idf(t) * (2.0 if t in self.boost else 1 / 3 if t in self.damp else 1.0) for t in terms
            }
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in have) / total if total else 0.0


# A name: capitalised words, with the small words names hold ("Chèque Export Premiers Pas", "Pays de Dreux").
_NAME = re.compile(r"(?<![\w'’])[A-ZÀ-Ý][\w’'-]+(?:\s+(?:(?:de|du|des|d['’]|la|le|et|en|sur)\s+)?[A-ZÀ-Ý][\w’'-]*)*")
_NOT_NAMES = frozenset(
    "quel quelle quels quelles what which when where who how combien pourquoi comment les the".split()
)
_SMALL_NUMBER = re.compile(r"(?<![\d,.])\b(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")\b(?![,.]\d)", re.I)


# "combien de territoires", "how many industrial territories", "quels grands axes", "which new territories".
_COUNTED = re.compile(
    r"\b(?:combien\s+(?:[\w-]+\s+){0,3}?(?:de|d')\s*|nombre\s+(?:de|d')\s*|(?P<en>how many\s+|number of\s+))"
    r"(?P<words>[a-z]+(?:\s+[a-z]+){0,3})"
)
_NAMED = re.compile(
    r"\b(?:quel|quelle|quels|quelles|(?P<en>which|what))\s+(?:are\s+the\s+|were\s+the\s+|sont\s+les\s+)?"
    r"(?:(?:grands?|grandes?|principa(?:l|ux|les?)|nouveaux|nouvelles?|main|new|first|two|three|four|five|deux|trois|"
    r"quatre|cinq|\d+)\s+)*(?!est\b|sont\b|is\b|are\b|was\b|were\b)(?P<words>[a-z]+(?:\s+[a-z]+){0,2})"
)
_EN_NOUN_END = frozenset("are were is was did do does have has had in of on at there will would can the to for from by with and".split())


def focus_noun(text: str, analyzer: FrenchAnalyzer, en_fr: dict[str, str]) -> str | None:
    """The stem of the noun a question counts or names: French puts it first ('combien de territoires
    industriels'), English after its adjectives ('how many industrial territories'), in the plural
    after 'how many'; English words go through the glossary."""
    folded = fold(text)
    m = _COUNTED.search(folded) or _NAMED.search(folded)
    if not m:
        return None
    words = m.group("words").split()
    if m.group("en"):  # "how many small industrial towns took part": the first plural, else the last word
        head = []
        for w in words:
            if w in _EN_NOUN_END:
                break
            if w not in ("the", "a", "an"):
                head.append(w)
        word = next((w for w in head if w.endswith("s") and len(w) > 3), (head or words[:1])[-1])
    else:
        word = words[0]
    stems = analyzer(en_fr.get(word, word).split()[0])
    return stems[0] if stems else None


def stated_numbers(text: str) -> set[int]:
    """The small numbers (2 to 30) a text states, in digits or words: 'the three new territories' -> {3}."""
    out = set()
    for m in _SMALL_NUMBER.finditer(text):
        word = m.group(1).lower()
        value = int(word) if word.isdigit() else NUMBER_WORDS.get(word, 0)
        if 2 <= value <= 30:
            out.add(value)
    return out
