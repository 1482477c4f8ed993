"""The French regions: canonical names, aliases, and finding them in text.

Used by ingest (which regions a document mentions) and by the question side
("CVL", "Grand Est", "en PACA"...). Matching ignores accents, case, and the
difference between spaces, hyphens and apostrophes ("Ile de France" matches
"Île-de-France"), except for the few aliases that are ordinary words when
written in lower case ("le plus grand est", "il aura", "la réunion du comité",
"un vin corsé"): those need their capitals, or a region word just before them
("région grand est", "en grand est").

Names of places that merely contain a region name are not the region:
"Grand-Est Touraine" is a territory in Centre-Val de Loire and "Portes
Euréliennes d'Ile-de-France" is in Eure-et-Loir. Such a mention is skipped when
it is in a small list of known names, when a capitalised word follows it on the
same line ("Grand Est Touraine"), when a place name precedes it with "d'"/"de"
("Portes Euréliennes d'Île-de-France", but not "Conseil régional d'Île-de-France"),
or when it is excluded by "hors"/"sauf" ("hors IDF").

>>> find_regions("Le CVL et la région Grand-Est, hors IDF.")
['Centre-Val de Loire', 'Grand Est']
>>> canonical_region("paca")
"Provence-Alpes-Côte d'Azur"
>>> region_key("Centre-Val de Loire")
'region:centre-val-de-loire'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

__all__ = [
    "REGIONS",
    "METROPOLITAN_REGIONS",
    "OVERSEAS_REGIONS",
    "canonical_region",
    "find_regions",
    "fold",
    "region_key",
    "region_slug",
]

METROPOLITAN_REGIONS: tuple[str, ...] = (
    "Auvergne-Rhône-Alpes",
    "Bourgogne-Franche-Comté",
    "Bretagne",
    "Centre-Val de Loire",
    "Corse",
    "Grand Est",
    "Hauts-de-France",
    "Île-de-France",
    "Normandie",
    "Nouvelle-Aquitaine",
    "Occitanie",
    "Pays de la Loire",
    "Provence-Alpes-Côte d'Azur",
)
OVERSEAS_REGIONS: tuple[str, ...] = ("Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte")
REGIONS: tuple[str, ...] = METROPOLITAN_REGIONS + OVERSEAS_REGIONS


class _Case(Enum):
    ANY = "any"  # case-insensitive
    CAPITALS = "capitals"  # words written with a capital in the alias need one in the text
    CONTEXT = "context"  # capitals, or lower case right after "région", "en", "du"...
    EXACT = "exact"  # acronyms that are words in lower case (AURA: "il aura")


@dataclass(frozen=True)
class _Alias:
    text: str
    region: str
    case: _Case = _Case.ANY


def _aliases() -> list[_Alias]:
    a = _Alias
    cap, ctx, exact = _Case.CAPITALS, _Case.CONTEXT, _Case.EXACT
    out = [a(name, name) for name in REGIONS if name not in ("Grand Est", "Corse", "La Réunion")]
    out += [
        a("Auvergne Rhône-Alpes", "Auvergne-Rhône-Alpes"),
        a("AURA", "Auvergne-Rhône-Alpes", exact),
        a("ARA", "Auvergne-Rhône-Alpes", exact),
        a("BFC", "Bourgogne-Franche-Comté"),
        a("Burgundy-Franche-Comté", "Bourgogne-Franche-Comté"),
        a("Brittany", "Bretagne"),
        a("CVL", "Centre-Val de Loire"),
        a("région Centre", "Centre-Val de Loire", cap),
        a("Centre-Loire Valley", "Centre-Val de Loire"),
        a("Corse", "Corse", ctx),
        a("Corsica", "Corse"),
        a("Grand Est", "Grand Est", ctx),
        a("HDF", "Hauts-de-France"),
        a("IDF", "Île-de-France"),
        a("région parisienne", "Île-de-France"),
        a("Paris region", "Île-de-France"),
        a("Normandy", "Normandie"),
        a("Occitania", "Occitanie"),
        a("PACA", "Provence-Alpes-Côte d'Azur"),
        a("Région Sud", "Provence-Alpes-Côte d'Azur", cap),
        a("French Guiana", "Guyane"),
        a("la Réunion", "La Réunion", cap),
        a("Réunion Island", "La Réunion", cap),
        a("île de la Réunion", "La Réunion", cap),
    ]
    return out


# Known names of places (territoires d'industrie...) that contain a region's name.
_NOT_REGIONS: tuple[str, ...] = (
    "Grand-Est Touraine",
    "Portes Euréliennes d'Île-de-France",
    "Sud Île-de-France",
)
_FOLLOWERS_OK = frozenset({"region", "regional", "regionale", "regions", "et", "ou"})
_EXCLUDERS = ("hors", "sauf", "excepte", "exceptee", "except", "excluding")
# Words after which a lower-case "grand est" / "corse" is the region.
_CONTEXT = re.compile(r"(?:\bregions?|\ben|\bdu|\bdans\s+le|\bin(?:\s+the)?)\s+$")


_APOSTROPHES = "'’‘ʼ‛`´"
_DASHES = "-‐‑‒–—−"


class _FoldTable(dict[int, str]):
    """Translation table for `fold`, filled one code point at a time as they are met."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch in _APOSTROPHES:
            out = "'"
        elif ch in _DASHES:
            out = "-"
        elif ch == "\n":
            out = ch
        elif ch.isspace():
            out = " "
        else:
            out = unicodedata.normalize("NFD", ch)[0].lower()[:1] or ch
        self[code] = out
        return out


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes/dashes/spaces unified; same length as `text`.

    Keeping one character per character lets a match in the folded text be
    mapped back to the original by its offsets.

    >>> fold("Île-de-France’s")
    "ile-de-france's"
    """
    return text.translate(_FOLD)


# Words that may precede a region with "de"/"d'" without making it a place name.
_INSTITUTION_WORDS = frozenset(
    fold(w)
    for w in (
        "Région", "Conseil", "Régional", "Préfecture", "Préfet", "Préfète", "Président",
        "Présidente", "Agence", "Chambre", "Banque", "Rectorat", "Académie", "Université",
        "Direction", "Délégation", "Commissariat", "Cour", "Tribunal", "Territoires",
        "Territoire", "Comité", "Assemblée", "Collectivité", "Conférence", "Fédération",
        "Union", "Association", "Réseau", "Pôle", "Cluster", "Industrie", "Commerce",
        "Métiers", "Artisanat", "Economie", "Développement", "Parc", "Musée",
    )
)


def region_slug(name: str) -> str:
    """ASCII, lower case, hyphens: "Provence-Alpes-Côte d'Azur" -> "provence-alpes-cote-d-azur"."""
    canonical = canonical_region(name) or name
    return re.sub(r"[^a-z0-9]+", "-", fold(canonical)).strip("-")


def region_key(name: str) -> str:
    """The boolean chunk-metadata key for a region (name or alias): "region:<slug>"."""
    return f"region:{region_slug(name)}"


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s'\-]+", text) if t]


def _pattern(alias: str) -> str:
    # Any run of spaces, hyphens and apostrophes between words; word boundaries around.
    return r"(?<![\w])" + r"[\s'\-]+".join(re.escape(fold(t)) for t in _tokens(alias)) + r"(?![\w])"


@lru_cache(maxsize=1)
def _compiled() -> tuple[re.Pattern[str], list[_Alias], re.Pattern[str]]:
    aliases = sorted(_aliases(), key=lambda al: -len(al.text))  # longest first wins the alternation
    pattern = re.compile("|".join(f"(?P<a{i}>{_pattern(al.text)})" for i, al in enumerate(aliases)))
    not_regions = re.compile("|".join(_pattern(n) for n in _NOT_REGIONS))
    return pattern, aliases, not_regions


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for alias in _aliases():
        table[_key(alias.text)] = alias.region
    table["reunion"] = "La Réunion"  # a name given on purpose (filter, sidecar) is not the common noun
    for name in REGIONS:
        table[_key(name)] = name
        table[re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")] = name
    return table


def _key(text: str) -> str:
    return " ".join(_tokens(fold(text)))


def canonical_region(name_or_alias: str) -> str | None:
    """The canonical name for a region's name, alias, acronym or slug, else None.

    >>> canonical_region("Ile de France"), canonical_region("aura"), canonical_region("Paris")
    ('Île-de-France', 'Auvergne-Rhône-Alpes', None)
    """
    if not name_or_alias or not name_or_alias.strip():
        return None
    text = name_or_alias.strip()
    if text.startswith("region:"):
        text = text[len("region:") :]
    table = _lookup()
    return table.get(_key(text)) or table.get(text.lower())


def _case_ok(alias: _Alias, original: str, folded_before: str) -> bool:
    if alias.case is _Case.ANY:
        return True
    if alias.case is _Case.EXACT:
        return original == alias.text
    words = _tokens(original)
    wanted = _tokens(alias.text)
    capitals = all(not w[0].isupper() or got[:1].isupper() for w, got in zip(wanted, words, strict=False))
    # "en grand est", "région grand est": lower case is fine after a region word.
    return capitals or (alias.case is _Case.CONTEXT and bool(_CONTEXT.search(folded_before)))


def _is_place_name(text: str, folded: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before = folded[line_start:start]
    # "hors IDF", "(hors Île-de-France)"
    if re.search(r"(?:^|[\s(])(?:" + "|".join(_EXCLUDERS) + r")\s+$", before):
        return True
    # "Grand Est Touraine": a capitalised word (not an acronym) right after, on the same line.
    after = text[end:line_end]
    follow = re.match(r"[ \t]+([A-ZÀ-Ý][a-zà-ÿ][\w-]*)", after)
    if (
        follow
        and fold(follow.group(1)) not in _FOLLOWERS_OK
        and not _compiled()[0].match(folded, end + follow.start(1))  # "CVL Grand Est": two regions
    ):
        return True
    # "Portes Euréliennes d'Ile-de-France": a place name (capitalised, not an institution) + de/d'.
    prev = re.search(r"([A-ZÀ-Ý][\w-]*)\s+(?:d'|d’|de\s+)$", text[line_start:start])
    return bool(prev and fold(prev.group(1)) not in _INSTITUTION_WORDS)


def find_regions(text: str) -> list[str]:
    """Canonical names of the regions `text` mentions, in order of first mention."""
    if not text:
        return []
    pattern, aliases, not_regions = _compiled()
    firsts = _first_tokens()
    folded = fold(text)
    excluded = [(m.start(), m.end()) for m in not_regions.finditer(folded)]
    found: list[str] = []
    position = 0
    # Try the alias patterns only where a word that can start an alias begins:
    # much faster than running the whole alternation at every character.
    for word in _WORD.finditer(folded):
        if word.start() < position or word.group(0) not in firsts:
            continue
        match = pattern.match(folded, word.start())
        if match is None:
            continue
        position = match.end()
        alias = aliases[int(match.lastgroup[1:])]  # type: ignore[index]
        start, end = match.span()
        if alias.region in found:
            continue
        if any(s <= start and end <= e for s, e in excluded):
            continue
        if not _case_ok(alias, text[start:end], folded[max(0, start - 20) : start]):
            continue
        if _is_place_name(text, folded, start, end):
            continue
        found.append(alias.region)
    return found


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _first_tokens() -> frozenset[str]:
    return frozenset(fold(_tokens(alias.text)[0]) for alias in _aliases())
