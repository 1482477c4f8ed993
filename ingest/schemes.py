"""Reading support schemes (dispositifs) out of a document: ingest work.

`extract_schemes(doc)` returns the schemes one stored document describes; the catalogue
of all of them (`knowledge.schemes.SchemeCatalogue`) is written from it after each
ingest or removal (`scheme_catalogue(kb)` builds one wired to this extractor).

Deterministic, and every field can be traced to the text: a `Scheme` keeps the span of
the document text it was read from (`text[start:end] == quote`), and the extra spans any
field shown was read from outside it (`evidence`). Three ways find schemes:

(a) the items of a bulleted list introduced by a sentence that speaks of
    dispositifs, aides, offres, mesures... ("La phase 2 ... est assortie de
    nouveaux dispositifs ... On y retrouve notamment :");
(b) sentences that announce money or a named support for territories or
    companies ("la Banque des territoires prévoit une enveloppe de 100 M€ par an
    ... pour investir sur fonds propres dans les projets ...", "25 territoires
    ... bénéficieraient du financement de postes de chefs de projets ..."),
    but not sentences that only report a balance ("108 millions d'euros ont été
    mobilisés");
(c) the names a fitted model finds (`ingest.scheme_names`) that (a) and (b) missed.

What each scheme gives and who may apply are then read anywhere in its document by two
fitted models (`ingest.scheme_fields`), which take what (a) and (b) read in the scheme's
own span as features. How well all this reads documents it has never seen:
evals/README.md, "The scheme catalogue".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.scheme_fields import FIELDS_PATH, Anchor, read_fields
from ingest.scheme_names import MODEL_PATH, find_names, is_support_noun
from knowledge.docstore import StoredDocument
from knowledge.regions import fold
from knowledge.schemes import YEAR as _YEAR
from knowledge.schemes import Scheme, SchemeCatalogue, document_region, name_key, phase_numbers, scheme_topics

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

__all__ = ["extract_schemes", "find_purpose", "scheme_catalogue"]


# Bump when what `extract_schemes` reads changes: stored catalogues then read every document again.
# The fitted models' own changes are caught by their hashes.
RULES_VERSION = 1
EXTRACTOR_VERSION = "-".join(
    [str(RULES_VERSION), *(hashlib.sha256(p.read_bytes()).hexdigest()[:12] if p.exists() else "none" for p in (MODEL_PATH, FIELDS_PATH))]
)  # a missing model file ("none") is reported when the catalogue is read, with the command that rebuilds it


def scheme_catalogue(kb: KnowledgeBase) -> SchemeCatalogue:
    """The catalogue of `kb`, rebuilt with this module's extractor when stale."""
    return SchemeCatalogue(kb, extract=extract_schemes, extractor_version=EXTRACTOR_VERSION)


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

_RANGE = re.compile(rf"\b{_YEAR}\s*[-–]\s*{_YEAR}\b")
_START = re.compile(
    rf"\b(?:[Dd]epuis|lancée?s? (?:en|le|au mois de)|ouvre(?:nt)? (?:en|le|au mois de)|ouverte?s? (?:en|le|depuis)|"
    rf"à partir de|dès|à compter de)\b[^.;,()]{{0,25}}?\b{_YEAR}\b"
)
_END = re.compile(rf"\b(?:jusqu'(?:à|au|en)|d'ici (?:à|a|en|la fin)|au plus tard en)\b[^.;,()]{{0,15}}?\b{_YEAR}\b")
_DURATION = re.compile(r"\b(?:pour|sur|pendant)\s+((?:deux|trois|quatre|cinq|six|\d+)\s+ans)\b")

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


# What a named scheme's text says it gives, and to whom (read in its block: from its name to the end
# of its paragraph or the next name).
_BLOCK_AMOUNT = re.compile(
    r"(?:(?:jusqu'à|plus de|près de|environ|up to) )?(?:€\s?\d[\d,.]*(?:\s?(?:million|billion))?|"
    r"\d+(?:[ .\u202f\u00a0]\d{3})*(?:[,.]\d+)?\s?(?:%|M€|Md€|k€|€|millions? d'euros|milliards? d'euros|"
    r"millions?|milliards?|euros|EUR(?: \d+ million)?))(?![\w€])",
    re.IGNORECASE,
)
_BLOCK_WHO = re.compile(
    r"(?:\b(?:Bénéficiaires?|Public(?: visé| cible)?|Éligibilité)\s*:\s*|\b(?:Pour qui|Qui peut (?:en )?bénéficier)\s*\?\s*:?\s*|"
    r"\b(?:destinée?s? aux?|réservée?s? aux?|ouverte?s? aux?|s'adresse aux?|accessible aux?|éligibles? :?|"
    r"peuvent en bénéficier :?)\s+)"
    r"(?P<who>[^.;\n?]{4,160})",
    re.IGNORECASE,
)
_BLOCK_LEN = 700


def _named_schemes(doc: StoredDocument, taken: Sequence[tuple[int, int, str]]) -> list[_Draft]:
    """Schemes whose names the fitted model finds (`ingest.scheme_names`) and the rules missed."""
    text = doc.text
    found = find_names(text, doc.title)
    keys = [name_key(name) for _, _, name in taken]
    drafts = []
    for i, (c, _p) in enumerate(found):
        name = " ".join(text[c.start : c.end].split())
        key = name_key(name)
        if any(c.start < b and a < c.end for a, b, _ in taken) or any(key and (key <= k or k <= key) for k in keys if k):
            continue
        end = text.find("\n\n", c.end)
        end = min(len(text) if end < 0 else end, c.start + _BLOCK_LEN)
        if i + 1 < len(found):
            end = min(end, max(found[i + 1][0].start, c.end))
        block = text[c.end : end]
        amounts = list(dict.fromkeys(m.group(0).strip() for m in _BLOCK_AMOUNT.finditer(block)))[:4]
        who = _BLOCK_WHO.search(block)
        if not (amounts or who or is_support_noun(name.split()[0])):
            continue  # a name with nothing it gives, to nobody, and no support noun: nothing to offer an industrialist
        drafts.append(
            _Draft(
                name=_capitalise(name),
                start=c.start,
                end=len(text[:end].rstrip()),
                amount="; ".join(amounts) or None,
                beneficiaries=who.group("who").strip(" ,:") if who else None,
            )
        )
    return drafts


def _drafts(doc: StoredDocument) -> tuple[list[_Segment], list[_Draft]]:
    """The document's segments and its schemes as the rules and the name model find them, in order."""
    segments = _segments(doc.text)
    found, used = _list_schemes(segments)
    drafts = [d for d, _ in found] + [d for d, _ in _sentence_schemes(segments, used)]
    drafts += _named_schemes(doc, [(d.start, d.end, d.name) for d in drafts])
    drafts.sort(key=lambda d: d.start)
    return segments, drafts


def scheme_anchors(doc: StoredDocument) -> tuple[list[_Segment], list[Anchor]]:
    """Where each scheme of `doc` was read (what the field models are fitted on, `evals/scheme_model.py`)."""
    segments, drafts = _drafts(doc)
    return segments, [_anchor(d) for d in drafts]


def _anchor(d: _Draft) -> Anchor:
    return Anchor(d.start, d.end, d.name, d.amount, d.beneficiaries)


def extract_schemes(doc: StoredDocument) -> list[Scheme]:
    """The schemes one document describes, in document order: the rules' first, then the names the
    fitted model finds that the rules missed; their amounts and who may apply as the field models
    read them (`ingest.scheme_fields`). Deterministic."""
    segments, drafts = _drafts(doc)
    fields = read_fields(doc.text, segments, [_anchor(d) for d in drafts], doc.title)
    for draft, read in zip(drafts, fields, strict=True):
        draft.amount = read.amount or draft.amount
        draft.beneficiaries = read.beneficiaries or draft.beneficiaries
        draft.evidence += [e for e in read.evidence if e not in draft.evidence]
    region = document_region(doc)
    schemes = []
    for draft in drafts:
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
