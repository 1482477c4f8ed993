"""The catalogue of support schemes (dispositifs) found in the ingested documents.

A `Scheme` is one support scheme and where it was read; the schemes are read out of
each document at ingest time (`ingest.schemes.extract_schemes`) and kept here, in
`<data_dir>/schemes.json`, with what answering needs: topics, regions, the phases of
the programme, and the ranking of schemes for a question.

A scheme of a regional document (its title names one region, or it is about one
region only) belongs to that region; any other is national. The same scheme
reported by several documents of the same scope is kept once, with the other
documents in `also`.

>>> catalogue = scheme_catalogue(kb)   # ingest.schemes: wired to the extractor
>>> catalogue.rebuild()                # after each ingest or remove
>>> [s.name for s in catalogue.find(region="CVL", text="décarbonation")][:1]
["Dispositif « territoires d'industrie en transition écologique »"]
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.docstore import StoredDocument
from knowledge.errors import ConfigError, StoreError
from knowledge.regions import canonical_region, find_regions, fold

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

__all__ = [
    "Scheme",
    "SchemeCatalogue",
    "TOPICS",
    "document_region",
    "scheme_topics",
    "question_topics",
    "CATALOGUE_FILE",
    "deduplicate",
    "name_key",
    "match_score",
    "ordinal_value",
    "phase_numbers",
    "YEAR",
    "rank_schemes",
    "same_scheme",
]

CATALOGUE_FILE = "schemes.json"
_SCHEMA = 5


def _reading_key(doc: StoredDocument) -> str:
    """What a document's schemes depend on: its content (the id) and what its sidecar may change."""
    return json.dumps([doc.doc_id, doc.source, doc.title, doc.date, doc.regions, doc.format])


@dataclass
class Scheme:
    """One support scheme and where it was read.

    `start`/`end` index `StoredDocument.text`; `quote` is `text[start:end]`.
    `evidence` lists `(field, start, end)` for the fields read outside that span
    (a list's introduction, a sentence giving the phase's end year...).
    `also` lists the other documents reporting the same scheme
    (dicts with doc_id, source, title, date, start, end, quote).
    """

    id: str
    name: str
    description: str
    beneficiaries: str | None
    amount: str | None
    region: str | None  # canonical region name; None = national
    period: str | None
    doc_id: str
    source: str
    title: str
    date: str | None
    start: int
    end: int
    topics: list[str] = field(default_factory=list)
    quote: str = ""
    operator: str | None = None
    evidence: list[tuple[str, int, int]] = field(default_factory=list)
    also: list[dict[str, Any]] = field(default_factory=list)
    phases: list[int] = field(default_factory=list)  # the programme phases the text around it is about
    purpose: str | None = None  # what it pays for: "le soutien de projets capacitaires structurants en lien avec ..."

    @property
    def display_name(self) -> str:
        """The name, with the body offering it when the name does not say it."""
        if self.operator and fold(self.operator) not in fold(self.name):
            return f"{self.name} ({self.operator})"
        return self.name

    @property
    def source_name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def end_year(self) -> int | None:
        """The last year of the period, when the period has one ("2024–2027", "jusqu'en 2022")."""
        if not self.period or self.period.startswith("depuis"):
            return None
        years = re.findall(r"(?:19|20)\d\d", self.period)
        return int(years[-1]) if years else None

    def applies_to(self, region: str | None) -> bool:
        """A national scheme applies everywhere; a regional one only in its region."""
        return self.region is None or region is None or self.region == region

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = [list(e) for e in self.evidence]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scheme:
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["evidence"] = [(str(f), int(a), int(b)) for f, a, b in data.get("evidence", [])]
        values["topics"] = list(data.get("topics", []))
        values["also"] = [dict(x) for x in data.get("also", [])]
        values["phases"] = [int(p) for p in data.get("phases", [])]
        return cls(**values)


# -- topics --------------------------------------------------------------------------------

TOPICS: tuple[str, ...] = (
    "transition écologique",
    "investissement",
    "recrutement",
    "ingénierie",
    "foncier",
    "innovation",
)

# Folded (lower case, no accents) stems, matched at a word start, in the documents' French.
_SCHEME_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "transition écologique": (
        "transition ecologique", "transition energetique", "decarbon", "fonds vert", "fond vert",
        "ecologie industrielle", "climat", "environnement", "industrie verte", "sobriete", "energie",
    ),
    "investissement": (
        "invest", "fonds propres", "capacitaire", "projets industriels", "soutien de projets",
        "projets pouvant etre soutenus",
    ),
    "recrutement": (
        "recrut", "emploi", "competences", "formation", "volontari", "volontaires", "alternance", "metiers",
    ),
    "ingénierie": ("ingenierie", "chefs de projet", "chef de projet", "etudes", "animation", "appui en"),
    "foncier": ("foncier", "fonciere", "friche", "immobilier", "cles en main", "implantation"),
    "innovation": ("innovation", "numerique", "r&d", "recherche", "territoires d'innovation"),
}
# The same topics as people ask about them, in French or English.
_QUESTION_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "transition écologique": _SCHEME_TOPIC_WORDS["transition écologique"] + (
        "green", "ecolog", "energy", "climate", "carbon", "co2", "emission", "environment", "decarbonis",
        "decarboniz", "vert", "verte",
    ),
    "investissement": _SCHEME_TOPIC_WORDS["investissement"] + (
        "equity", "capacity", "expansion", "extension", "capex", "new line", "nouvelle ligne",
    ),
    "recrutement": _SCHEME_TOPIC_WORDS["recrutement"] + (
        "recruit", "hiring", "hire", "skill", "training", "job", "staff", "workforce", "embauch", "apprenti",
    ),
    "ingénierie": _SCHEME_TOPIC_WORDS["ingénierie"] + (
        "etude", "engineering", "project manager", "feasibility", "study", "studies",
    ),
    "foncier": _SCHEME_TOPIC_WORDS["foncier"] + (
        "land", "site", "sites", "brownfield", "real estate", "terrain", "building", "batiment", "locaux",
    ),
    "innovation": _SCHEME_TOPIC_WORDS["innovation"] + (
        "innov", "digital", "research", "numeris", "robot", "industrie du futur",
    ),
}


def _topic_regex(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(w) for w in words) + ")")


_SCHEME_TOPIC_RE = {t: _topic_regex(w) for t, w in _SCHEME_TOPIC_WORDS.items()}
_QUESTION_TOPIC_RE = {t: _topic_regex(w) for t, w in _QUESTION_TOPIC_WORDS.items()}


def scheme_topics(text: str) -> list[str]:
    """The topics a scheme's text is about, in `TOPICS` order."""
    folded = fold(text)
    return [t for t in TOPICS if _SCHEME_TOPIC_RE[t].search(folded)]


def question_topics(text: str) -> list[str]:
    """The topics a question (French or English) asks about, in `TOPICS` order.

    >>> question_topics("What support for a decarbonation project?")
    ['transition écologique']
    """
    folded = fold(text)
    return [t for t in TOPICS if _QUESTION_TOPIC_RE[t].search(folded)]


# -- phases -----------------------------------------------------------------------------------

YEAR = r"((?:19|20)\d\d)"  # a year, as a regex group
_STAGE_WORD = r"(?:phase|étape|etape|stage|acte|act)"
_PHASE = re.compile(
    rf"\b{_STAGE_WORD}\s+(\d+|I{{1,3}})\b|\b(première|premiere|premier|1re|1ère|first|seconde|second|deuxième|deuxieme|"
    rf"2e|2ème|troisième|troisieme|third|3e|3ème|quatrième|quatrieme|fourth|4e|4ème)\s+{_STAGE_WORD}\b",
    re.IGNORECASE,
)
# Folded ordinal words and forms -> their rank ("deuxième", "2e", "second", "II" -> 2).
_ORDINALS = {
    "i": 1, "premiere": 1, "premier": 1, "1re": 1, "1ere": 1, "1er": 1, "first": 1, "1st": 1,
    "ii": 2, "seconde": 2, "second": 2, "deuxieme": 2, "2e": 2, "2eme": 2, "2nd": 2,
    "iii": 3, "troisieme": 3, "third": 3, "3e": 3, "3eme": 3, "3rd": 3,
    "quatrieme": 4, "fourth": 4, "4e": 4, "4eme": 4, "4th": 4,
    "cinquieme": 5, "fifth": 5, "5e": 5, "5eme": 5, "5th": 5,
}


def ordinal_value(word: str) -> int | None:
    """The rank an ordinal (or a plain number) gives: 'deuxième', '2e', 'second', 'II', '2' -> 2; else None."""
    folded = fold(word)
    return int(folded) if folded.isdigit() else _ORDINALS.get(folded)


def phase_numbers(text: str) -> set[int]:
    """The numbered phases (or stages, acts) a text names: 'la phase 1', 'cette seconde phase',
    'the second phase', 'phase II' -> {1}, {2}, {2}, {2}."""
    return {rank for m in _PHASE.finditer(text) if (rank := ordinal_value(m.group(1) or m.group(2))) is not None}


# -- document scope ---------------------------------------------------------------------------


def document_region(doc: StoredDocument) -> str | None:
    """The region a document is about, or None for a national (or multi-region) document.

    A region named in the title makes a document regional; so does being the only
    region the document mentions, if its opening names it too.
    """
    in_title = find_regions(doc.title)
    if len(in_title) == 1:
        return in_title[0]
    if len(doc.regions) == 1:
        opening = doc.text[:600]
        if doc.regions[0] in find_regions(opening):
            return doc.regions[0]
    return None


# -- deduplication ----------------------------------------------------------------------------

_NAME_STOP = frozenset(
    "le la les l de d des du au aux a en et pour dans sur un une dedies dedie dediee postes poste".split()
)


def name_key(name: str) -> frozenset[str]:
    """Content words of a scheme name, folded and cut to 6 letters, for near-duplicate detection."""
    text = re.sub(r"\bco-?financement", "financement", fold(name))
    words = re.findall(r"[a-z0-9]+", text)
    return frozenset(w[:6] for w in words if w not in _NAME_STOP and len(w) > 1)


def same_scheme(a: Scheme, b: Scheme) -> bool:
    """Near-identical names (and the same scope): the same scheme reported twice."""
    if a.region != b.region:
        return False
    return _near(name_key(a.name), name_key(b.name))


def _near(ka: frozenset[str], kb: frozenset[str]) -> bool:
    return bool(ka and kb) and len(ka & kb) / len(ka | kb) >= 0.6


def _richness(s: Scheme) -> tuple[int, str]:
    filled = sum(v is not None for v in (s.amount, s.beneficiaries, s.period, s.operator))
    return filled, s.date or ""


def deduplicate(schemes: Sequence[Scheme]) -> list[Scheme]:
    """One entry per scheme: the richest report (then the latest) first, the others in `also`."""
    groups: list[list[Scheme]] = []
    keys: list[list[frozenset[str]]] = []  # the name keys of each group's members
    # (scope, name word) -> the groups holding a member with that word: two names can only be near-identical
    # when they share a word, so a scheme is compared with those groups, not with all of them.
    by_word: dict[tuple[str | None, str], list[int]] = {}
    for s in schemes:
        key = name_key(s.name)
        candidates = sorted({g for w in key for g in by_word.get((s.region, w), ())})
        found = next((g for g in candidates if any(_near(key, k) for k in keys[g])), None)
        if found is None:
            found = len(groups)
            groups.append([])
            keys.append([])
        groups[found].append(s)
        keys[found].append(key)
        for w in key:
            bucket = by_word.setdefault((s.region, w), [])
            if not bucket or bucket[-1] != found:
                bucket.append(found)
    out = []
    for group in groups:
        group.sort(key=_richness, reverse=True)
        primary = group[0]
        for other in group[1:]:
            if other.doc_id == primary.doc_id:
                continue  # the same document saying it twice: keep its first span only
            primary.also.append(
                {
                    "doc_id": other.doc_id,
                    "source": other.source,
                    "title": other.title,
                    "date": other.date,
                    "start": other.start,
                    "end": other.end,
                    "quote": other.quote,
                }
            )
        out.append(primary)
    return out


# -- the catalogue ----------------------------------------------------------------------------


class SchemeCatalogue:
    """The schemes of every stored document, persisted in `<data_dir>/schemes.json`.

    Cheap to build. `extract` reads one document's schemes (ingest work:
    `ingest.schemes.extract_schemes`, wired by `ingest.schemes.scheme_catalogue(kb)`).
    `rebuild()` re-reads the documents with it (call it after ingest or remove);
    `all()` loads the saved catalogue, rebuilding it when the documents changed
    since it was written.

    >>> catalogue = SchemeCatalogue(kb, extract=extract_schemes)
    >>> catalogue.rebuild()
    >>> [s.name for s in catalogue.find(region="Grand Est")]
    """

    def __init__(
        self, kb: KnowledgeBase, extract: Callable[[StoredDocument], list[Scheme]], extractor_version: str = ""
    ) -> None:
        self.kb = kb
        self.extract = extract
        # What the schemes of a document were read with: when it changes, every document is read again.
        self.extractor_version = extractor_version
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, tuple[str, ...]], list[Scheme]] | None = None

    @property
    def path(self) -> Path:
        return self.kb.settings.data_dir / CATALOGUE_FILE

    def _document_ids(self) -> list[str]:
        return sorted(d.doc_id for d in self.kb.documents.all())

    def rebuild(self) -> list[Scheme]:
        """Bring the catalogue up to date with the stored documents and save it (atomically).

        Each document's schemes are kept in the file as read from it, so only the documents
        added or changed since the last rebuild are read (all of them when the extractor changed);
        an unchanged set of documents writes nothing."""
        with self.kb.write_lock:
            docs = self.kb.documents.all()
            previous = self._load()
            reusable = previous is not None and previous.get("extractor") == self.extractor_version
            known: dict[str, list[dict[str, Any]]] = previous.get("extracted", {}) if reusable else {}
            ids = sorted(d.doc_id for d in docs)
            extracted: dict[str, list[dict[str, Any]]] = {}
            for doc in docs:  # in document order, which the catalogue keeps
                key = _reading_key(doc)
                found = known.get(key)
                extracted[key] = found if found is not None else [x.to_dict() for x in self.extract(doc)]
            if reusable and previous.get("documents") == ids and set(known) == set(extracted):
                schemes = [Scheme.from_dict(x) for x in previous.get("schemes", [])]
            else:
                schemes = deduplicate([Scheme.from_dict(x) for read in extracted.values() for x in read])
                self._write(
                    {
                        "schema": _SCHEMA,
                        "extractor": self.extractor_version,
                        "documents": ids,
                        "schemes": [x.to_dict() for x in schemes],
                        "extracted": extracted,
                    }
                )
        with self._lock:
            self._cache = None
        return schemes

    def _write(self, payload: dict[str, Any]) -> None:
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".schemes-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(payload, fh, ensure_ascii=False, indent=1)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write the scheme catalogue {self.path}: {exc}") from exc

    def _load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read the scheme catalogue {self.path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("schema") != _SCHEMA:
            return None
        return data

    def all(self) -> list[Scheme]:
        """Every scheme, in catalogue order (documents by name, then position)."""
        current = self._document_ids()
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                mtime = -1
            if self._cache is not None and self._cache[0] == (mtime, tuple(current)):
                return list(self._cache[1])
            data = self._load() if mtime >= 0 else None
            if data is not None and data.get("documents") == current:
                schemes = [Scheme.from_dict(s) for s in data.get("schemes", [])]
                self._cache = ((mtime, tuple(current)), schemes)
                return list(schemes)
        # Missing, from another schema, or older than the documents: build it now.
        return self.rebuild()

    def find(
        self, region: str | None = None, text: str | None = None, topics: Sequence[str] | None = None
    ) -> list[Scheme]:
        """Schemes that apply in `region` (national ones apply everywhere), about `text`/`topics`.

        `region`: a region's name or alias ("CVL"); unknown names raise `ConfigError`.
        `text`: a question or keywords; only schemes sharing a topic or a content word
        with it are kept, best match first. `topics`: keep schemes with any of these topics.
        """
        canonical = None
        if region is not None and region.strip():
            canonical = canonical_region(region)
            if canonical is None:
                raise ConfigError(f"unknown region {region!r}")
        schemes = [s for s in self.all() if s.region is None or s.region == canonical or canonical is None]
        if topics:
            wanted = set(topics)
            schemes = [s for s in schemes if wanted & set(s.topics)]
        if text and text.strip():
            schemes = [s for _, s in rank_schemes(schemes, text, canonical) if match_score(s, text) > 0]
        return schemes


_WORD_STOP = frozenset(
    """territoire territoires industrie industries industriel industriels projet projets programme entreprise
    entreprises dispositif dispositifs aide aides support schemes scheme quelles quels quelle quel what which
    pour avec dans from that this have peux puis obtenir get can usine factory""".split()
)


def _content_words(text: str) -> set[str]:
    """Words of four letters or more, singular, cut to six letters; 'cofinancement' also gives 'financ'."""
    words = set()
    for w in re.findall(r"[a-z0-9]{4,}", fold(text)):
        if w in _WORD_STOP:
            continue
        w = w[:-1] if w.endswith("s") and len(w) > 4 else w
        words.add(w[:6])
        if w.startswith("co") and len(w) > 7:
            words.add(w[2:8])
    return words


def match_score(scheme: Scheme, text: str) -> float:
    """How well a scheme matches a question: shared topics first, then shared content words."""
    topics = set(question_topics(text))
    score = 3.0 * len(topics & set(scheme.topics))
    asked = phase_numbers(text)
    if asked and scheme.phases:  # "la phase 2 prévoit-elle ... ?": the schemes of phase 2, not of phase 1
        score += 1.0 if asked & set(scheme.phases) else -1.0
    words = _content_words(text)
    if words:
        score += 0.5 * len(words & _content_words(f"{scheme.name} {scheme.description}"))
    return score


def _reference_year(schemes: Sequence[Scheme]) -> int | None:
    years = [int(s.date[:4]) for s in schemes if s.date and s.date[:4].isdigit()]
    return max(years) if years else None


def _covers(s: Scheme, year: int) -> bool:
    years = [int(y) for y in re.findall(r"(?:19|20)\d\d", s.period or "")]
    if not years:
        return False
    if (s.period or "").startswith("depuis"):
        return years[0] <= year
    if (s.period or "").startswith("jusqu"):
        return year <= years[-1]
    return years[0] <= year <= years[-1]


def rank_schemes(
    schemes: Sequence[Scheme], text: str, region: str | None = None, *, live: bool = False
) -> list[tuple[float, Scheme]]:
    """Schemes that apply in `region`, best first for `text` (a question or keywords).

    Shared topics and words first; then a scheme of the region itself before a national
    one, one with an amount, one on offer at the date of the latest documents.
    `live`: leave out schemes whose period ended before the latest documents' year,
    unless nothing else applies.
    """
    applicable = [s for s in schemes if s.applies_to(region)]
    ref = _reference_year(schemes)
    if live:
        current = [s for s in applicable if not (ref and s.end_year and s.end_year < ref)]
        applicable = current or applicable
    scored = []
    for i, s in enumerate(applicable):
        score = match_score(s, text)
        if region is not None and s.region == region:
            score += 1.0
        if s.amount:
            score += 0.3
        if ref and _covers(s, ref):
            score += 0.4
        scored.append((score, s.date or "", -i, s))
    scored.sort(key=lambda t: t[:3], reverse=True)
    return [(score, s) for score, _, _, s in scored]
