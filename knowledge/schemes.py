"""The catalogue of support schemes (dispositifs) found in the ingested documents.

Built at ingest time by rules, without a model, so that it is deterministic and
every field can be traced to the text: a `Scheme` keeps the span of the document
text it was read from (`text[start:end] == quote`), and the extra spans any
field shown was read from outside it (`evidence`).

Two patterns find schemes:

(a) the items of a bulleted list introduced by a sentence that speaks of
    dispositifs, aides, offres, mesures... ("La phase 2 ... est assortie de
    nouveaux dispositifs ... On y retrouve notamment :");
(b) sentences that announce money or a named support for territories or
    companies ("la Banque des territoires prévoit une enveloppe de 100 M€ par an
    ... pour investir sur fonds propres dans les projets ...", "25 territoires
    ... bénéficieraient du financement de postes de chefs de projets ..."),
    but not sentences that only report a balance ("108 millions d'euros ont été
    mobilisés").

A scheme of a regional document (its title names one region, or it is about one
region only) belongs to that region; any other is national. The same scheme
reported by several documents of the same scope is kept once, with the other
documents in `also`.

>>> catalogue = SchemeCatalogue(kb)
>>> catalogue.rebuild()            # after each ingest or remove
>>> [s.name for s in catalogue.find(region="CVL", text="décarbonation")][:1]
["Dispositif « territoires d'industrie en transition écologique »"]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Sequence
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
    "extract_schemes",
    "scheme_topics",
    "question_topics",
    "CATALOGUE_FILE",
    "deduplicate",
    "name_key",
    "match_score",
    "ordinal_value",
    "phase_numbers",
    "rank_schemes",
    "same_scheme",
]

CATALOGUE_FILE = "schemes.json"
_SCHEMA = 4


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


# -- segments ---------------------------------------------------------------------------------

_ITEM = re.compile(r"(?:[-•*–]|\d{1,2}[.)])\s+")  # used with .match(text, pos)
_SENT_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"A-ZÀ-ÖØ-Þ0-9])")
# "etc." is not here: followed by a capital, it ends its sentence ("... la mobilité etc. Cela ...").
_ABBREV = re.compile(r"(?:\b(?:M|Mme|Mmes|MM|Dr|St|Ste|cf|p|n°|art|av|env|vol|No)\.|\b[A-Z]\.)$")


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    text: str
    kind: str  # "item" | "sentence" | "heading"
    line: int  # index of the line it is on


def _segments(text: str) -> list[_Segment]:
    """Sentences and list items (without their bullet) of `text`, with offsets."""
    out: list[_Segment] = []
    pos = 0
    for number, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped:
            begin = pos + len(line) - len(line.lstrip())
            end = pos + len(line.rstrip())
            bullet = _ITEM.match(text, begin, end)
            if bullet:
                out.append(_Segment(bullet.end(), end, text[bullet.end() : end], "item", number))
            elif len(stripped) < 90 and not re.search(r"[.!?:;,]$", stripped) and len(stripped.split()) <= 12:
                out.append(_Segment(begin, end, stripped, "heading", number))
            else:
                start = begin
                for match in _SENT_END.finditer(text, begin, end):
                    if _ABBREV.search(text, start, match.start()):
                        continue
                    out.append(_Segment(start, match.start(), text[start : match.start()], "sentence", number))
                    start = match.end()
                if text[start:end].strip():
                    out.append(_Segment(start, end, text[start:end], "sentence", number))
        pos += len(line) + 1
    return out


# -- field patterns ---------------------------------------------------------------------------

_NUM = r"\d+(?:[ .]\d{3})*(?:,\d+)?"
_UNIT = r"(?:M€|Md€|Mds€|k€|€|millions? d'euros|milliards? d'euros|euros)"
_AMOUNT = re.compile(
    rf"(?:(?:plus|près|moins) de |environ |jusqu'à )?{_NUM}\s?{_UNIT}(?:\s+par an)?(?![\w€])",
)
_SHARE = re.compile(r"(?:la moitié|le tiers|le quart|les deux tiers|\d+\s?%) du coût(?: [^.;,)]*)?")

_SUPPORT_NOUN = re.compile(
    r"\b(?:enveloppes?|financements?|co-?financements?|subventions?|prêts?|aides?|dotations?|fonds|"
    r"appels? à projets|volontaires|volontariat|dispositifs?|mesures)\b",
    re.IGNORECASE,
)
_ANNOUNCE = re.compile(
    r"\b(?:prévoi\w*|annonc\w*|bénéficier\w*|s'accompagner\w*|lancée?s?|s'appuyer|mis en place|mise en place|"
    r"ouverte?s?|fléchée?s?|soutenue?s?|investir|financera|financer)\b",
    re.IGNORECASE,
)
_MONEY_CUE = re.compile(r"\b(?:montant|enveloppe|aides?|fléchée?s?|soutenue?s?|investir|prévoit|dotée?s?)\b", re.I)
# A balance of money already spent is not a scheme one can apply to.
_BALANCE = re.compile(r"\b(?:engag\w*|mobilisée?s?|engagement)\b", re.IGNORECASE)
# An introduction to a list of schemes.
_LIST_TRIGGER = re.compile(
    r"\b(?:dispositifs?|aides|offres?|mesures|appels? à projets|financements|subventions|outils "
    r"(?:financiers|d'accompagnement))\b",
    re.IGNORECASE,
)
# "Ces missions ...", "Ce dispositif ...": says more about the scheme named just before.
_CONTINUATION = re.compile(r"^(?:Ces|Ce|Cet|Cette)\s+[a-zà-ÿ]", re.UNICODE)

_ARTICLE = re.compile(r"^(?:(?:le|la|les|des|une|un|du|de la)\s+|l'|de l')", re.IGNORECASE)
_NAME_CUTS = re.compile(
    r",|;|:|\(|\.\s|\.$| à destination\b| pour (?:ceux|celles|les|des|le|la)\b| avec\b| dédiée?s?\b| issue?s?\b| afin\b"
    r"| qui\b| lancée?s?\b| sur le modèle\b| via\b| dans\b| notamment\b| d'ici\b| par an\b| sur \d| pour deux\b"
    r"| pour \d| pendant\b"
)
_SCHEME_HEADS = frozenset(
    "dispositif dispositifs mission missions programme programmes plan plans appel appels fonds label "
    "opération opérations prêt prêts aide aides offre offres sites site volontariat contrat contrats".split()
)
_ARTICLES = frozenset("le la les l' des un une du de d' aux au ces ce cette".split())
_QUOTED = re.compile(r"«\s*([^«»]{3,80}?)\s*»|\"([^\"\n]{3,80}?)\"")
_FRAMEWORK = re.compile(
    r"\bdans le cadre (?:du|de la|de l'|des)\s+((?:plan|programme|fonds|appel à projets|dispositif)\b[^,.;]{2,60})",
    re.IGNORECASE,
)
_OPERATORS = re.compile(
    r"\b(Banque des [Tt]erritoires|Bpifrance|Ademe|ADEME|Business France|Pôle emploi|France Travail|"
    r"Caisse des dépôts|Conseil régional|Région [A-Z][\w' -]+)\b"
)
_ANNOUNCER_VERB = re.compile(r"\s+(?:prévoit|propose|lance|déploie|met en place|finance|annonce|ouvre)\b")

_WHO_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"à destination (?:des|de la|du|de l'|d')\s*(?P<who>[^.;:,]+?)"
        r"(?=\s+(?:permet|pour|afin|qui|est|sont|vise|avec)\b|[.;:,]|$)"
    ),
    re.compile(
        r"\b(?P<who>(?:territoires|entreprises|industriels|PME|ETI|collectivités|intercommunalités)"
        r"[^.;:,]*?\s+pour (?:ceux|celles) qui [^.;:,]+)"
    ),
    re.compile(r"(?P<who>\b(?:\d+\s+)?territoires[^.;:,]{0,40}?)\s+bénéficier\w*"),
    re.compile(
        r"accompagnement (?:de|des)\s+(?P<who>(?:\d+\s+)?(?:territoires|entreprises|industriels|PME)[^.;:,]*?)"
        r"(?=\s+(?:via|par|grâce|avec)\b|[.;:,])"
    ),
    re.compile(
        r"\b(?:aux|destinée?s? aux|ouverte?s? aux|réservée?s? aux)\s+"
        r"(?P<who>(?:industriels|entreprises|PME|ETI|territoires|collectivités)[^.;:,]*?)"
        r"(?=[.;:,]|\s+(?:pour|afin|dans)\b|$)"
    ),
    re.compile(
        r"\b(?:dans|vers|pour) les (?P<who>projets (?:des|de|du|d')\s*[^.;:,]+?)"
        r"(?=[.;:,]|\s+(?:notamment|afin|pour)\b|$)"
    ),
    re.compile(r"\bpour accompagner (?:les\s+)?(?P<who>[^.;:,]+)"),
    re.compile(r"\bpour les (?P<who>(?:entreprises|industriels|PME|ETI|collectivités)[^.;:,]*)"),
    re.compile(r"\b(?P<who>projets industriels)\b[^.;]*?\bsoutenus\b"),
)

_YEAR = r"((?:19|20)\d\d)"
_RANGE = re.compile(rf"\b{_YEAR}\s*[-–]\s*{_YEAR}\b")
_START = re.compile(
    rf"\b(?:[Dd]epuis|lancée?s? (?:en|le|au mois de)|ouvre(?:nt)? (?:en|le|au mois de)|ouverte?s? (?:en|le|depuis)|"
    rf"à partir de|dès|à compter de)\b[^.;,()]{{0,25}}?\b{_YEAR}\b"
)
_END = re.compile(rf"\b(?:jusqu'(?:à|au|en)|d'ici (?:à|a|en|la fin)|au plus tard en)\b[^.;,()]{{0,15}}?\b{_YEAR}\b")
_DURATION = re.compile(r"\b(?:pour|sur|pendant)\s+((?:deux|trois|quatre|cinq|six|\d+)\s+ans)\b")
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


def _normalise_amount(amount: str) -> str:
    """'3,9M€' -> '3,9 M€' (the figure and its unit as written, one space between)."""
    return re.sub(r"(\d)(M€|Md€|Mds€|k€|€)", r"\1 \2", amount.strip())


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _strip_article(text: str) -> str:
    return _ARTICLE.sub("", text.strip(), count=1).strip()


def _clean_who(who: str) -> str:
    who = " ".join(who.split()).strip(" ,;:")
    return _strip_article(who) if who.lower().startswith(("les ", "des ", "la ", "le ")) else who


def _find_who(text: str) -> str | None:
    for pattern in _WHO_PATTERNS:
        m = pattern.search(text)
        if m:
            who = _clean_who(m.group("who"))
            if 2 < len(who) <= 90:
                return who
    return None


def _find_amount(text: str) -> str | None:
    m = _AMOUNT.search(text)
    if m:
        return _normalise_amount(m.group(0))
    share = _SHARE.search(text)
    return share.group(0).strip() if share else None


def _cut_name(text: str) -> str:
    """A name from a noun phrase: up to the first comma, 'à destination', 'pour ceux'..."""
    m = _NAME_CUTS.search(text)
    head = text[: m.start()] if m else text
    return " ".join(head.split()).strip(" .")


def _quoted_name(text: str, near_start: int | None = None) -> str | None:
    """'Le dispositif « X » avec ...' -> 'Dispositif « X »'; 'les "X Y Z"' -> 'X Y Z'.

    One-word quotes ('territoires "fragiles"') and the programme's own name are not scheme names.
    """
    for m in _QUOTED.finditer(text):
        if near_start is not None and m.start() > near_start:
            return None
        inner = (m.group(1) or m.group(2) or "").strip()
        if len(inner.split()) < 2 or fold(inner) == "territoires d'industrie":
            continue
        before = text[: m.start()].split()
        head = before[-1] if before else ""
        if head.lower() in _SCHEME_HEADS:
            return f"{_capitalise(head)} {m.group(0)}"
        if not head or head.lower() in _ARTICLES:
            return _capitalise(inner)
    return None


def _support_phrase(text: str) -> str | None:
    """The support noun phrase of a sentence: 'financement de postes de chefs de projets'."""
    m = re.search(
        r"\b(enveloppe|co-?financement|cofinancement|financement|subvention|prêt|dotation|aides? (?:au|à la|aux|à l')"
        r"|appel à projets)s?\b",
        text,
        re.IGNORECASE,
    )
    if not m:
        return None
    rest = text[m.start() :]
    # "enveloppe de 100 M€ par an d'ici à 2022 pour investir ...": drop the figure and the horizon.
    rest = re.sub(rf"^(\w+(?:-\w+)?)\s+de\s+{_AMOUNT.pattern}", r"\1", rest)
    rest = re.sub(r"^(\w+(?:-\w+)?)\s+d'ici (?:à|a|en)\s+\d{4}", r"\1", rest)
    name = _cut_name(rest)
    if len(name.split()) == 1:
        # A bare "enveloppe": keep its purpose ("pour investir sur fonds propres").
        purpose = re.match(r"(\w+)\s+(pour [^,.;()]+?)(?=\s+dans\b|[,.;()]|$)", rest)
        if purpose:
            name = f"{purpose.group(1)} {purpose.group(2)}"
    if name.lower().startswith(("financement des projets", "financement de projets")):
        return None  # the generic "financement des projets" names no scheme
    return _capitalise(" ".join(name.split())) if len(name) > 3 else None


def _operator(text: str) -> str | None:
    """The body that offers the scheme, when the text says so ("la Banque des territoires prévoit")."""
    for m in _OPERATORS.finditer(text):
        after = text[m.end() :]
        before = text[: m.start()]
        if _ANNOUNCER_VERB.match(after) or re.search(r"\bavec\s+(?:la\s+|le\s+|l')?$", before):
            return m.group(1)
    return None


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


# -- extraction -------------------------------------------------------------------------------


@dataclass
class _Draft:
    name: str
    start: int
    end: int
    beneficiaries: str | None = None
    amount: str | None = None
    period: str | None = None
    operator: str | None = None
    context: str = ""  # text beyond the span that the topics may come from
    evidence: list[tuple[str, int, int]] = field(default_factory=list)


def _period(
    core: _Segment, context: Sequence[_Segment], segments: Sequence[_Segment]
) -> tuple[str | None, list[tuple[str, int, int]]]:
    """The period of a scheme from its own text, then from its context; phases looked up in the document."""
    start_year: tuple[str, _Segment] | None = None
    end_year: tuple[str, _Segment] | None = None
    duration: tuple[str, _Segment] | None = None
    for seg in [core, *context]:
        if (m := _RANGE.search(seg.text)) and start_year is None and end_year is None:
            start_year, end_year = (m.group(1), seg), (m.group(2), seg)
        if start_year is None and (m := _START.search(seg.text)):
            start_year = (m.group(1), seg)
        if end_year is None and (m := _END.search(seg.text)):
            end_year = (m.group(1), seg)
        if duration is None and (m := _DURATION.search(seg.text)):
            duration = (m.group(1), seg)
    if end_year is None and start_year is not None:
        # "La phase 2, lancée en février 2024" + "... la seconde phase ..., qui s'étend jusqu'à 2027"
        phases = phase_numbers(start_year[1].text)
        if phases:
            for seg in segments:
                if seg.kind != "item" and phases & phase_numbers(seg.text) and (m := _END.search(seg.text)):
                    end_year = (m.group(1), seg)
                    break
    used: list[tuple[str, _Segment]] = []
    if start_year and end_year:
        period = start_year[0] if start_year[0] == end_year[0] else f"{start_year[0]}–{end_year[0]}"
        used = [start_year, end_year]
    elif end_year:
        period, used = f"jusqu'en {end_year[0]}", [end_year]
    elif start_year:
        period, used = f"depuis {start_year[0]}", [start_year]
    elif duration:
        period, used = duration[0], [duration]
    else:
        return None, []
    evidence = []
    for _, seg in used:
        if not (core.start <= seg.start and seg.end <= core.end):
            span = ("period", seg.start, seg.end)
            if span not in evidence:
                evidence.append(span)
    return period, evidence


def _list_schemes(segments: list[_Segment]) -> tuple[list[tuple[_Draft, _Segment]], set[int]]:
    """Pattern (a): items of a list introduced by a sentence about dispositifs/aides/offres."""
    drafts: list[tuple[_Draft, _Segment]] = []
    used: set[int] = set()
    i = 0
    while i < len(segments):
        seg = segments[i]
        if seg.kind == "item" or not seg.text.rstrip().endswith(":"):
            i += 1
            continue
        j = i + 1
        items = []
        while j < len(segments) and segments[j].kind == "item":
            items.append(segments[j])
            j += 1
        if not items:
            i += 1
            continue
        # The introduction and up to two sentences before it in its paragraph; when the
        # introduction starts its line, the sentence ending the line before.
        context = [seg]
        k = i - 1
        lines = {seg.line}
        if k < 0 or segments[k].line != seg.line:
            lines.add(seg.line - 1)
        while k >= 0 and len(context) < 3 and segments[k].kind == "sentence" and segments[k].line in lines:
            context.insert(0, segments[k])
            if segments[k].line != seg.line:
                k -= 1
                break
            k -= 1
        intro_text = " ".join(c.text for c in context)
        if _LIST_TRIGGER.search(intro_text):
            intro_who = _find_who(intro_text)
            for item in items:
                draft = _item_scheme(item, context, segments, intro_who)
                if draft is not None:
                    drafts.append((draft, item))
            used.update(range(k + 1, j))
        i = j
    return drafts, used


def _looks_like_names(text: str) -> bool:
    """A list of places or people ("Est du Loiret, qui inclut Montargis"), not of schemes."""
    words = re.findall(r"[^\W\d_][\w'-]*", text)
    if len(words) < 3:
        return True
    capitals = sum(1 for w in words if w[0].isupper())
    return capitals / len(words) >= 0.5


def _item_scheme(
    item: _Segment, context: list[_Segment], segments: list[_Segment], intro_who: str | None
) -> _Draft | None:
    text = item.text.strip()
    if _looks_like_names(text):
        return None
    name = _quoted_name(text, near_start=40) or _capitalise(_strip_article(_cut_name(text)))
    if len(name) < 4:
        return None
    draft = _Draft(name=name, start=item.start, end=item.end)
    draft.amount = _find_amount(text)
    draft.operator = _operator(text)
    who = _find_who(text)
    if who is None and intro_who is not None:
        # Who the list's introduction says the schemes are for, cited by its sentence.
        intro = next((c for c in context if intro_who in c.text), None)
        if intro is not None:
            who = intro_who
            draft.evidence.append(("beneficiaries", intro.start, intro.end))
    draft.beneficiaries = who
    draft.period, evidence = _period(item, context, segments)
    draft.evidence += [e for e in evidence if e not in draft.evidence]
    # The topics come from the item alone: its introduction speaks of every item.
    return draft


def _sentence_name(text: str) -> str | None:
    m = _FRAMEWORK.search(text)
    if m:
        return _capitalise(_cut_name(m.group(1)))
    quoted = _quoted_name(text)
    if quoted:
        return quoted
    return _support_phrase(text)


def _is_announcement(text: str) -> bool:
    money = _AMOUNT.search(text)
    if money:
        if _BALANCE.search(text) and not re.search(r"\baides?\b", text, re.IGNORECASE):
            return False
        return bool(_MONEY_CUE.search(text) or _ANNOUNCE.search(text))
    return bool(_SUPPORT_NOUN.search(text) and _ANNOUNCE.search(text))


def _sentence_schemes(segments: list[_Segment], used: set[int]) -> list[tuple[_Draft, _Segment]]:
    """Pattern (b): sentences announcing money or a named support."""
    drafts: list[tuple[_Draft, _Segment]] = []
    for i, seg in enumerate(segments):
        if seg.kind != "sentence" or i in used:
            continue
        text = seg.text
        if _CONTINUATION.match(text) or not _is_announcement(text):
            continue
        name = _sentence_name(text)
        if name is None:
            continue
        # Earlier sentences of the paragraph that speak of the same named scheme give context
        # ("Depuis 2023, trois missions « rebond industriel » se sont déroulées ... Ces missions ...").
        context: list[_Segment] = []
        quoted = _QUOTED.search(name)
        if quoted:
            run: list[_Segment] = []
            k = i - 1
            while k >= 0 and i - k <= 3 and segments[k].kind == "sentence" and segments[k].line == seg.line:
                run.insert(0, segments[k])
                if quoted.group(0) in segments[k].text:
                    context = list(run)
                    break
                if not _CONTINUATION.match(segments[k].text):
                    break
                k -= 1
        draft = _Draft(name=name, start=seg.start, end=seg.end)
        draft.amount = _find_amount(text)
        draft.operator = _operator(text)
        draft.beneficiaries = _find_who(text)
        draft.period, draft.evidence = _period(seg, context, segments)
        draft.context = " ".join(c.text for c in context)
        # "Ces missions comprenaient ...": a following sentence that goes on about it.
        if i + 1 < len(segments) and segments[i + 1].line == seg.line and _CONTINUATION.match(segments[i + 1].text):
            draft.context += " " + segments[i + 1].text
        drafts.append((draft, seg))
    return drafts


def _scheme_id(doc_id: str, start: int, end: int, name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:48].strip("-")
    digest = hashlib.sha1(f"{doc_id}:{start}:{end}".encode()).hexdigest()[:6]
    return f"{slug}-{digest}"


_PURPOSE = re.compile(
    r"\b(?:permet(?:tra|tent|tront)?\s+|vise(?:nt)? à\s+|pour\s+(?=financer|soutenir|accompagner|investir|aider))"
    r"([^.;]{12,160}?)\s*(?:[.;,]|$)"
)


def find_purpose(description: str) -> str | None:
    """What a scheme pays for or does, as its text says it: '... permet le soutien de projets capacitaires
    structurants en lien avec la transition écologique.' -> 'le soutien de projets capacitaires ...'."""
    m = _PURPOSE.search(description)
    return m.group(1).strip(" ,") if m else None


def extract_schemes(doc: StoredDocument) -> list[Scheme]:
    """The schemes one document describes, in document order. Deterministic; no model."""
    segments = _segments(doc.text)
    drafts, used = _list_schemes(segments)
    drafts += _sentence_schemes(segments, used)
    drafts.sort(key=lambda ds: ds[0].start)
    region = document_region(doc)
    schemes = []
    for draft, _seg in drafts:
        phases: set[int] = set()  # the last phase the document named before the scheme ("La phase 2, lancée ...")
        for seg in segments:
            if seg.start > draft.start:
                break
            phases = phase_numbers(seg.text) or phases
        quote = doc.text[draft.start : draft.end]
        description = " ".join(quote.split())
        schemes.append(
            Scheme(
                id=_scheme_id(doc.doc_id, draft.start, draft.end, draft.name),
                name=draft.name,
                description=description,
                beneficiaries=draft.beneficiaries,
                amount=draft.amount,
                region=region,
                period=draft.period,
                doc_id=doc.doc_id,
                source=doc.source,
                title=doc.title,
                date=doc.date,
                start=draft.start,
                end=draft.end,
                topics=scheme_topics(f"{draft.name} {description} {draft.context}"),
                quote=quote,
                operator=draft.operator,
                evidence=draft.evidence,
                phases=sorted(phases),
                purpose=find_purpose(description),
            )
        )
    return schemes


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
    ka, kb = name_key(a.name), name_key(b.name)
    if not ka or not kb:
        return False
    return len(ka & kb) / len(ka | kb) >= 0.6


def _richness(s: Scheme) -> tuple[int, str]:
    filled = sum(v is not None for v in (s.amount, s.beneficiaries, s.period, s.operator))
    return filled, s.date or ""


def deduplicate(schemes: Sequence[Scheme]) -> list[Scheme]:
    """One entry per scheme: the richest report (then the latest) first, the others in `also`."""
    groups: list[list[Scheme]] = []
    for s in schemes:
        for group in groups:
            if any(same_scheme(s, g) for g in group):
                group.append(s)
                break
        else:
            groups.append([s])
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

    Cheap to build. `rebuild()` re-reads the documents (call it after ingest or
    remove); `all()` loads the saved catalogue, rebuilding it when the documents
    changed since it was written.

    >>> catalogue = SchemeCatalogue(kb)
    >>> catalogue.rebuild()
    >>> [s.name for s in catalogue.find(region="Grand Est")]
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, tuple[str, ...]], list[Scheme]] | None = None

    @property
    def path(self) -> Path:
        return self.kb.settings.data_dir / CATALOGUE_FILE

    def _document_ids(self) -> list[str]:
        return sorted(d.doc_id for d in self.kb.documents.all())

    def rebuild(self) -> list[Scheme]:
        """Extract the schemes of every stored document and save them (atomically)."""
        with self.kb.write_lock:
            docs = self.kb.documents.all()
            extracted: list[Scheme] = []
            for doc in docs:
                extracted += extract_schemes(doc)
            schemes = deduplicate(extracted)
            payload = {
                "schema": _SCHEMA,
                "documents": sorted(d.doc_id for d in docs),
                "schemes": [s.to_dict() for s in schemes],
            }
            self._write(payload)
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
