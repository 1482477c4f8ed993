"""Direct answers: the span of the chosen quote that says what was asked (a figure, an
amount, a date, a duration, a person with their role, a place), said first.

Spans of the asked type are found in the quote; one is said first only when it is the only
one (of the noun the question counts, when it counts one) that the question does not already
say: a quote with "146 Territoires" and "15 territoires" is left to speak for itself. A region
question answered by a sentence that says "la région" gets the region its document is about.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.cues import DAY_MONTH, DURATION, FIGURE, FULL_DATE, HAS_MONEY, HAS_YEAR, PERSON_NAME
from knowledge.lexical import STOPWORDS, fold

if TYPE_CHECKING:
    from assistant.answerer import AnswerRequest
    from assistant.candidates import Candidate
    from assistant.question import Question
    from assistant.reading import DocumentReader

__all__ = ["direct_answer", "spans_of"]

_MONTH_YEAR = re.compile(
    r"\b(?:en\s+)?(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)\s+(?:19|20)\d{2}\b",
    re.I,
)
_UNTIL_YEAR = re.compile(r"\bjusqu['’](?:à|en)\s+(?:19|20)\d{2}\b", re.I)
_PLACE = re.compile(r"(?<!\w)(?:à|au|en|in|at)\s+([A-ZÀ-Ý][\w’'-]+(?:[ -](?:de |du |des |sur |en )?[A-ZÀ-Ý][\w’'-]+)*)")
_ROLE_AFTER = re.compile(r"\**\s*,\s*((?:la |le |l['’])?[a-zà-ÿ][^,.;:()«»]{2,90})")
_REGION_Q = re.compile(r"\b(r[ée]gions?)\b", re.I)


def spans_of(kind: str, wants: dict[str, bool], text: str) -> list[tuple[int, int]]:
    """Spans of `text` of the type a question asks for (empty when it asks for no such type)."""
    if wants.get("duration"):
        patterns = [DURATION, _UNTIL_YEAR]
    elif kind == "amount":
        patterns = [HAS_MONEY]
    elif kind == "number":
        patterns = [HAS_MONEY, FIGURE] if "%" in text else [FIGURE]
    elif kind == "date":
        patterns = [FULL_DATE, _UNTIL_YEAR, _MONTH_YEAR, DAY_MONTH] if wants.get("until") else [
            FULL_DATE, _MONTH_YEAR, DAY_MONTH, _UNTIL_YEAR]
    elif kind == "person" or wants.get("role"):
        out = []
        for m in PERSON_NAME.finditer(text):
            role = _ROLE_AFTER.match(text, m.end())
            out.append((m.start(), role.end() if role else m.end()))
        return out
    elif kind == "place":
        return [m.span(1) for m in _PLACE.finditer(text)]
    else:
        return []
    for pattern in patterns:
        found = [
            (m.start(), m.end(2) if m.end(2) > 0 else m.end(1)) if pattern is FIGURE and fold(m.group(3)) in STOPWORDS
            else m.span()  # "85 % des territoires": the figure, not "85 % des"
            for m in pattern.finditer(text)
        ]
        if found:
            return found
    if kind == "date":
        return [m.span() for m in HAS_YEAR.finditer(text)]
    return []


def direct_answer(
    request: AnswerRequest, q: Question, candidate: Candidate, quote: str, reader: DocumentReader
) -> str | None:
    """What the question asked, as said in the quote, or None when the quote holds no such span."""
    if request.kind == "place" and _REGION_Q.search(request.question):
        regions = reader.subject(candidate.doc).regions
        if len(regions) == 1 and not any(r in quote for r in regions):
            return next(iter(regions))
    spans = spans_of(request.kind, q.wants, quote)
    if not spans:
        return None
    asked = fold(request.question)
    # What the question says already is no answer ("Grand Est" to "which Grand Est territory ...?").
    spans = [s for s in spans if fold(quote[s[0] : s[1]].strip(" ,;:*")) not in asked]
    if len(spans) > 1 and q.focus:  # "15 territoires" for "combien de territoires", not "10 %"
        spans = [s for s in spans if q.focus in reader.analyzer(quote[s[0] : s[1]])] or spans
    if len(spans) != 1:
        return None  # none, or several the quote leaves to the reader to tell apart
    a, b = spans[0]
    span = quote[a:b].strip(" ,;:*")
    if not span or len(span) > 0.7 * len(quote.strip()):
        return None  # the quote is the answer already
    return span
