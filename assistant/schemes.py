"""Answers "what support can I get?" questions from the scheme catalogue.

The extractive answerer calls `answer_schemes` for questions of kind "scheme" that no
passage answers (its reader abstains), and `scheme_line` to add what the catalogue read of
the scheme its answer quotes (amounts, who may apply) when the quotes do not say it;
`tia schemes` lists the catalogue. It works
out where the asker is (a region the question names, or a town found in a
regional document: "Issoudun" is in a Centre-Val de Loire document), keeps the
schemes that apply there (national ones apply everywhere), ranks them by what the
project is about (a decarbonation project puts the green-fund scheme first), and
lists them, each field read from the cited spans. It returns None when no scheme
applies, so that the usual answer (or abstention) follows.

>>> answer = answer_schemes(request, scheme_catalogue(kb), kb)
>>> print(answer.text)
Dispositifs applicables à Issoudun (Centre-Val de Loire), les plus adaptés à votre projet (transition écologique) en premier :
- Dispositif « territoires d'industrie en transition écologique » — pour : industriels dans les territoires d'industrie ; 3,9 M€ ; Centre-Val de Loire ; 2024–2027 [1][2][3]
...

Each line cites the span the scheme was read from, then the spans its other fields
come from (the list's introduction for "who", the sentences giving the period's ends).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer import Answer, Citation
from assistant.answerer import AnswerRequest
from knowledge.base import KnowledgeBase
from knowledge.docstore import StoredDocument
from knowledge.errors import NotFoundError
from knowledge.filters import Filters
from knowledge.regions import REGIONS, canonical_region, find_regions, fold
from knowledge.retriever import date_bounds
from knowledge.schemes import Scheme, SchemeCatalogue, document_region, question_topics, rank_schemes, same_scheme

__all__ = ["answer_schemes", "place_region", "scheme_line", "MAX_SCHEMES", "MAX_CHARS"]

MAX_SCHEMES = 5
MAX_CHARS = 900

_INTRO = {
    "fr": {
        "place": "Dispositifs applicables à {place} ({region}){order}",
        "region": "Dispositifs applicables en {region}{order}",
        "national_only": "Les documents ne citent aucun dispositif propre à la région {where} ; "
        "dispositifs nationaux, qui s'y appliquent{order}",
        "unknown_place": "Les documents ne disent pas dans quelle région se trouve {place} ; "
        "dispositifs nationaux, qui s'appliquent partout{order}",
        "anywhere": "Dispositifs relevés dans les documents{order}",
    },
    "en": {
        "place": "Schemes that apply in {place} ({region}){order}",
        "region": "Schemes that apply in {region}{order}",
        "national_only": "The documents name no scheme specific to {where}; national schemes, which apply there{order}",
        "unknown_place": "The documents do not say which region {place} is in; national schemes, which apply everywhere{order}",
        "anywhere": "Schemes found in the documents{order}",
    },
}
_ORDER = {
    "fr": (" :", ", les plus adaptés à votre projet ({topics}) en premier :"),
    "en": (":", ", best match for your project ({topics}) first:"),
}
_TOPIC_NAMES: dict[str, dict[str, str]] = {
    "fr": {},
    "en": {
        "transition écologique": "ecological transition",
        "investissement": "investment",
        "recrutement": "recruitment",
        "ingénierie": "engineering",
        "foncier": "industrial land",
        "innovation": "innovation",
    },
}
_NATIONAL = {"fr": "national", "en": "national"}

# A place the question names: a capitalised word (or hyphenated name) after a preposition.
_PLACE = re.compile(
    r"(?:\b(?:à|a|au|en|dans|près de|pres de|autour de|sur|vers|de|du|in|at|near|around|from|outside)\s+|\bd')"
    r"([A-ZÀ-Ý][\w'-]*(?:\s+[A-ZÀ-Ý][\w'-]*)*)"
)
_NOT_PLACES = frozenset(
    "I Territoires Territoire Industrie Etat État France Europe Bpifrance Ademe Banque Région Conseil "
    "The A Le La Les".split()
)


@dataclass(frozen=True)
class _Where:
    region: str | None  # the region the schemes must apply to; None = anywhere
    place: str | None  # the town the question names, if any
    known: bool  # False: a place was named but no regional document places it


def place_region(text: str, documents: Sequence[StoredDocument]) -> tuple[str, str | None] | None:
    """The first place `text` names after a preposition and the region the documents put it in.

    (place, region) when a regional document mentions the place; (place, None) when only
    national documents (or none) do; None when the text names no place.

    >>> place_region("I run a factory in Issoudun", kb.documents.all())
    ('Issoudun', 'Centre-Val de Loire')
    """
    first: str | None = None
    for m in _PLACE.finditer(text):
        place = m.group(1).strip(" '’-")
        if (
            not place
            or place in _NOT_PLACES
            or (place.isupper() and len(place) <= 6)  # an acronym: BPI, PME, ETI
            or canonical_region(place)
            or find_regions(place)
            or any(fold(place) in fold(r) for r in REGIONS)  # "Centre-Val" of "Centre-Val de Loire"
        ):
            continue
        first = first or place
        pattern = re.compile(rf"(?<![\w-]){re.escape(place)}(?![\w])")
        regions = {document_region(d) for d in documents if pattern.search(d.text)}
        regions.discard(None)
        if len(regions) == 1:
            return place, regions.pop()
    return (first, None) if first else None


def _where(request: AnswerRequest, documents: Sequence[StoredDocument]) -> _Where:
    if request.regions:
        region = canonical_region(request.regions[0])
        found = place_region(request.question, documents)
        place = found[0] if found and found[1] == region else None
        return _Where(region, place, True)
    for text in (request.question, request.query):
        found = place_region(text, documents)
        if found:
            return _Where(found[1], found[0], found[1] is not None)
    return _Where(None, None, True)


def _period_text(period: str, lang: str) -> str:
    if lang != "en":
        return period
    out = period.replace("jusqu'en", "until").replace("depuis", "since")
    out = re.sub(r"\bdeux ans\b", "two years", out)
    return re.sub(r"\b(\d+) ans\b", r"\1 years", out)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _line(s: Scheme, lang: str, marks: str, compact: bool, purpose: bool = False) -> str:
    fields = []
    if purpose and s.purpose:  # the best match says what it pays for, in its own words
        fields.append(("what: " if lang == "en" else "objet : ") + _shorten(s.purpose, 70 if compact else 110))
    if s.beneficiaries:
        label = "for: " if lang == "en" else "pour : "
        fields.append(label + _shorten(s.beneficiaries, 45 if compact else 70))
    if s.amount:
        fields.append(_shorten(s.amount, 50))
    fields.append(s.region or _NATIONAL[lang])
    if s.period:
        fields.append(_period_text(s.period, lang))
    sep = "; " if lang == "en" else " ; "
    return f"- {_shorten(s.display_name, 80)} — {sep.join(fields)} {marks}"


def _citation(n: int, doc: StoredDocument, start: int, end: int, score: float) -> Citation:
    return Citation(
        n=n,
        source=doc.source,
        doc_id=doc.doc_id,
        title=doc.title,
        date=doc.date,
        page=doc.page_at(start),
        quote=doc.text[start:end],
        start=start,
        end=end,
        score=round(score, 4),
        chunk_id="",
    )


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", fold(text))


def scheme_line(
    catalogue: SchemeCatalogue, lang: str, doc: StoredDocument, start: int, end: int, said: str, n: int
) -> tuple[str, list[Citation]] | None:
    """For an answer about support schemes that quotes `doc[start:end]`: a line with what the catalogue
    read of the scheme that span is about (its amounts, who may apply) and the answer (`said`) does not
    already say, each piece cited by the span it was read from (numbered from `n`), and those citations.
    None when no scheme of the catalogue is read there or it has nothing to add."""
    schemes = [s for s in catalogue.all() if s.doc_id == doc.doc_id]
    text = fold(doc.text[start:end])
    scheme = next((s for s in schemes if s.start < end and start < s.end), None) or next(
        (s for s in schemes if fold(s.name) in text), None
    )
    if scheme is None:
        return None
    have = _squash(said)
    spans = [(scheme.start, scheme.end)] + [(a, b) for f, a, b in scheme.evidence if f in ("amount", "beneficiaries")]
    citations: list[Citation] = []
    shown: dict[str, list[str]] = {"amount": [], "who": []}
    marks: list[int] = []
    pieces = [("amount", a) for a in (scheme.amount or "").split("; ")]
    pieces += [("who", w) for w in (scheme.beneficiaries or "").split(" ; ")]
    for field, piece in pieces:
        if not piece or _squash(piece) in have:
            continue
        span = next(((a, b) for a, b in spans if _squash(piece) in _squash(doc.text[a:b])), None)
        if span is None:
            continue  # nothing shown that its citation does not hold
        known = next((c for c in citations if (c.start, c.end) == span), None)
        if known is None:
            known = _citation(n + len(citations), doc, *span, 0.0)
            citations.append(known)
        shown[field].append(piece)
        marks.append(known.n)
    if not citations:
        return None
    fields = ["; ".join(shown["amount"])] if shown["amount"] else []
    if shown["who"]:
        fields.append(("for: " if lang == "en" else "pour : ") + " ; ".join(shown["who"]))
    cited = "".join(f"[{m}]" for m in dict.fromkeys(marks))
    return f"{_shorten(scheme.display_name, 80)} — {' — '.join(fields)} {cited}", citations


def _date_num(date: str | None) -> int:
    parts = (date or "").split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 0
        day = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        return 0
    return year * 10000 + month * 100 + day


def _allowed_documents(kb: KnowledgeBase, documents: Sequence[StoredDocument], filters: Filters) -> set[str]:
    """The ids of the documents retrieval would search under `filters` (same rules as the retriever)."""
    sources = set(kb.resolve_sources(filters.sources)) if filters.sources else None
    low, high = date_bounds(filters)
    allowed = set()
    for d in documents:
        num = _date_num(d.date)
        if sources is not None and d.source not in sources:
            continue
        if filters.regions and not set(filters.regions) & set(d.regions):
            continue
        if (low is not None and (not num or num < low)) or (high is not None and (not num or num > high)):
            continue
        allowed.add(d.doc_id)
    return allowed


def answer_schemes(
    request: AnswerRequest,
    catalogue: SchemeCatalogue,
    kb: KnowledgeBase | None = None,
    filters: Filters | None = None,
) -> Answer | None:
    """The applicable schemes, one cited line each, or None when none applies.

    `filters`: the question's filters (`tia ask --source/--region/--from/--to`): only
    schemes read from documents the retriever would search are listed, and a filter's
    region stands for the asker's region when the question names none.
    """
    kb = kb or catalogue.kb
    lang = request.language if request.language in ("fr", "en") else "fr"
    schemes = catalogue.all()
    documents = kb.documents.all()
    if filters is not None and not filters.is_empty:
        allowed = _allowed_documents(kb, documents, filters)
        schemes = [s for s in schemes if s.doc_id in allowed]
    if not schemes:
        return None
    where = _where(request, documents)
    if where.region is None and where.place is None and filters is not None and len(filters.regions) == 1:
        where = _Where(canonical_region(filters.regions[0]), None, True)
    region = where.region
    topic_text = request.focus or request.question
    if not question_topics(topic_text) and request.query != topic_text:
        topic_text = f"{topic_text} {request.query}"
    if where.place and not where.known:
        ranked = [(score, s) for score, s in rank_schemes(schemes, topic_text, None, live=True) if s.region is None]
    else:
        ranked = rank_schemes(schemes, topic_text, region, live=True)
    chosen: list[tuple[float, Scheme]] = []
    for score, s in ranked:
        if any(same_scheme(s, c) or _same_offer(s, c) for _, c in chosen):
            continue  # the regional version of a national scheme is shown once
        chosen.append((score, s))
        if len(chosen) == MAX_SCHEMES:
            break
    if not chosen:
        return None

    intro = _intro(lang, where, chosen, question_topics(topic_text))
    limit = min(MAX_CHARS, request.budget)  # a part of a two-part question gets half the room
    for compact in (False, True):
        for count in range(len(chosen), 0, -1):
            text, citations = _compose(lang, intro, chosen[:count], kb, compact)
            if len(text) <= limit or (compact and count <= 2):
                break
        if len(text) <= limit:
            break
    if not citations:
        return None
    return request.reply(text, citations, abstained=False, language=lang, answerer="extractive")


def _same_offer(a: Scheme, b: Scheme) -> bool:
    """A national scheme and a regional one with near-identical names: one offer, two scopes."""
    if (a.region is None) == (b.region is None):
        return False
    national, regional = (a, b) if a.region is None else (b, a)
    probe = Scheme(**{**national.__dict__, "region": regional.region, "also": []})
    return same_scheme(probe, regional)


def _intro(lang: str, where: _Where, chosen: list[tuple[float, Scheme]], topics: list[str]) -> str:
    texts = _INTRO[lang]
    plain, ranked = _ORDER[lang]
    names = [_TOPIC_NAMES[lang].get(t, t) for t in topics]
    order = ranked.format(topics=", ".join(names)) if topics else plain
    if where.place and not where.known:
        return texts["unknown_place"].format(place=where.place, order=order)
    if where.region is None:
        return texts["anywhere"].format(order=order)
    if all(s.region is None for _, s in chosen):
        where_text = f"{where.region} ({where.place})" if where.place else where.region
        return texts["national_only"].format(where=where_text, order=order)
    if where.place:
        return texts["place"].format(place=where.place, region=where.region, order=order)
    return texts["region"].format(region=where.region, order=order)


def _compose(
    lang: str, intro: str, chosen: list[tuple[float, Scheme]], kb: KnowledgeBase, compact: bool
) -> tuple[str, list[Citation]]:
    citations: list[Citation] = []
    by_span: dict[tuple[str, int, int], int] = {}
    lines = [intro]

    def cite(doc: StoredDocument, start: int, end: int, score: float) -> int:
        key = (doc.doc_id, start, end)
        if key not in by_span:
            by_span[key] = len(citations) + 1
            citations.append(_citation(by_span[key], doc, start, end, score))
        return by_span[key]

    for i, (score, s) in enumerate(chosen):
        try:
            doc = kb.documents.get(s.doc_id)
        except NotFoundError:
            continue
        if doc.text[s.start : s.end] != s.quote:
            continue  # the document changed since the catalogue was built: do not quote a stale span
        numbers = [cite(doc, s.start, s.end, score)]
        for _field, start, end in s.evidence:
            n = cite(doc, start, end, score)
            if n not in numbers:
                numbers.append(n)
        lines.append(_line(s, lang, "".join(f"[{n}]" for n in numbers), compact, purpose=i == 0))
    if len(lines) == 1:
        return "", []
    return "\n".join(lines), citations
