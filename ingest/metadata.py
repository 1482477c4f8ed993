"""Per-document metadata: id, title, publication date, regions, language, and sidecars.

Sidecar files
-------------
A file ``NAME.meta.yaml`` beside ``NAME.ext`` (``000_x.txt`` -> ``000_x.meta.yaml``)
overrides what is extracted from the text. Every key is optional::

    title: "Un premier bilan pour les Territoires d'industrie"
    date: "2019-09"            # YYYY, YYYY-MM or YYYY-MM-DD; null for "no date"
    regions: [Grand Est, CVL]  # names or aliases (see knowledge.regions); [] for none
    language: fr               # fr or en

A key that is absent keeps the extracted value; an unknown key, a malformed
date or an unknown region is an error (`SidecarError`) naming the sidecar.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from ingest.document import DocumentMetadata, Format
from ingest.normalize import normalize_text
from knowledge.errors import IngestError
from knowledge.regions import canonical_region, find_regions, fold

__all__ = [
    "SIDECAR_KEYS",
    "SidecarError",
    "apply_sidecar",
    "build_metadata",
    "date_num",
    "detect_language",
    "document_id",
    "extract_date",
    "extract_title",
    "is_dateline",
    "parse_date",
    "read_sidecar",
    "sidecar_path",
]

SIDECAR_KEYS = frozenset({"title", "date", "regions", "language"})
_TITLE_MAX = 160


class SidecarError(IngestError):
    """A ``.meta.yaml`` sidecar cannot be read or holds a bad value."""


# -- ids --------------------------------------------------------------------------------


def document_id(data: bytes) -> str:
    """The first 16 hex characters of the SHA-256 of the file's bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


# -- dates ------------------------------------------------------------------------------

_MONTHS = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "february": 2, "feb": 2,
    "mars": 3, "march": 3, "mar": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "september": 9, "sep": 9,
    "octobre": 10, "october": 10, "oct": 10,
    "novembre": 11, "november": 11, "nov": 11,
    "decembre": 12, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = (
    r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday),?\s+)?"
)
_YEAR = r"(?P<year>(?:19|20)\d\d)"
# Searched in folded text (lower case, no accents), most precise first.
_DATE_PATTERNS = [
    re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)(?!\d)"),
    re.compile(r"\b(?P<day>\d{1,2})[/.](?P<month>\d{1,2})[/.]" + _YEAR + r"\b"),
    re.compile(r"\b" + _WEEKDAY + r"(?P<day>\d{1,2})(?:er|st|nd|rd|th)?\s+" + _MONTH + r"\s+" + _YEAR + r"\b"),
    re.compile(r"\b" + _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+" + _YEAR + r"\b"),
    re.compile(r"\b" + _MONTH + r"\s+" + _YEAR + r"\b"),
]
_ISO = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?)?$")


def _iso(year: int, month: int | None, day: int | None) -> str | None:
    try:
        if month is None:
            return f"{year:04d}" if 1000 <= year <= 9999 else None
        if day is None:
            dt.date(year, month, 1)
            return f"{year:04d}-{month:02d}"
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _from_match(match: re.Match[str]) -> str | None:
    parts = match.groupdict()
    month_text = parts.get("month") or ""
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text)
    day = int(parts["day"]) if parts.get("day") else None
    return _iso(int(parts["year"]), month, day)


def parse_date(text: str) -> str | None:
    """The first date written in `text`, as (possibly partial) ISO; French or English.

    >>> parse_date("Paris, le 24 septembre 2019"), parse_date("September 24, 2019")
    ('2019-09-24', '2019-09-24')
    >>> parse_date("le 1er mars 2024"), parse_date("en mai 2023"), parse_date("31/12/2024")
    ('2024-03-01', '2023-05', '2024-12-31')
    """
    folded = fold(text)
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            found = _from_match(match)
            if found:
                return found
    return None


def _find_date(folded_line: str) -> tuple[str, int, int] | None:
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded_line):
            found = _from_match(match)
            if found:
                return found, match.start(), match.end()
    return None


# What may stand before a dateline's date: "Paris, le", "Publié le", "Communiqué de presse -".
_DATELINE_PREFIX = re.compile(
    r"^(?:"
    r"|(?:[a-z][\w' .-]{0,40},\s*)?(?:le|the|on)?"
    r"|(?:publie|publiee|mis a jour|mise a jour|date|dated|posted|published|updated|released"
    r"|paru|parution)\b[^0-9]{0,20}"
    r"|[^0-9]{0,60}[|:\-]"
    r")$"
)
_DATELINE_SUFFIX = re.compile(r"^[.,;|)\-]?\s*(?:(?:a\s*)?\d{1,2}\s*[h:]\s*\d{0,2}\s*)?$")
_DATELINE_SCAN_LINES = 12
_DATELINE_MAX_LEN = 120


def is_dateline(line: str) -> str | None:
    """The date of a dateline ("Paris, le 24 septembre 2019"); None for any other line."""
    line = line.strip()
    if not line or len(line) > _DATELINE_MAX_LEN:
        return None
    folded = fold(line)
    found = _find_date(folded)
    if found is None:
        return None
    date, start, end = found
    prefix, suffix = folded[:start].strip(), folded[end:].strip()
    if _DATELINE_PREFIX.match(prefix) and _DATELINE_SUFFIX.match(suffix):
        return date
    return None


def extract_date(text: str) -> str | None:
    """The publication date from a dateline near the top of `text`, else None.

    Only short lines among the first few are considered: a date inside the body
    ("lancé le 22 novembre 2018 par le Premier ministre") is not a publication date.
    """
    lines = [ln for ln in text[:3000].split("\n") if ln.strip()][:_DATELINE_SCAN_LINES]
    for line in lines:
        found = is_dateline(line)
        if found:
            return found
    return None


def date_num(date: str | None) -> int:
    """YYYYMMDD as an int, unknown month/day as 00; 0 for no date.

    >>> date_num("2019-09-24"), date_num("2019-11"), date_num("2025"), date_num(None)
    (20190924, 20191100, 20250000, 0)
    """
    if not date:
        return 0
    match = _ISO.match(date.strip())
    if not match:
        return 0
    year = int(match["year"])
    month = int(match["month"] or 0)
    day = int(match["day"] or 0)
    return year * 10000 + month * 100 + day


# -- titles -----------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(?P<text>.+?)[ \t#]*$")


def _clean_title(title: str, *, keep_end: bool = False) -> str:
    title = " ".join(normalize_text(title).split())
    title = title.strip(" ") if keep_end else title.strip(" :;,.-–—|")
    if len(title) > _TITLE_MAX:
        title = title[:_TITLE_MAX].rsplit(" ", 1)[0] + "…"
    return title


def _markdown_title(original: str) -> str | None:
    """The first markdown heading, joined with the heading lines right after it."""
    lines = original.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:80]
    parts: list[str] = []
    for line in lines:
        heading = _MD_HEADING.match(line)
        if heading:
            cleaned = _clean_title(heading.group("text"), keep_end=True)
            if cleaned:
                parts.append(cleaned)
            continue
        if parts and line.strip():
            break
    if not parts:
        return None
    title = parts[0]
    for part in parts[1:]:
        # "Territoires d'industrie :" + "premier bilan..." -> joined by a space.
        title += " " + part if re.search(r"[:;,\-–—]$", title) else " — " + part
    return _clean_title(title) or None


def extract_title(original: str, text: str, fmt: Format) -> str | None:
    """The first markdown heading (txt/md), else the first line that is not a dateline.

    One-word lines ("Archives", "Image") are passed over when a longer line follows.
    """
    if fmt in ("md", "txt"):
        heading = _markdown_title(original)
        if heading:
            return heading
    lines = [ln.strip() for ln in text[:5000].split("\n") if ln.strip()][:12]
    candidates: list[str] = []
    for line in lines:
        # A line wrapped into the next one (a PDF's lines): the paragraph is the candidate.
        if candidates and line[:1].islower() and not is_dateline(candidates[-1]):
            candidates[-1] += " " + line
        else:
            candidates.append(line)
    candidates = [c for c in candidates if not is_dateline(c)]
    for candidate in candidates:
        if len(candidate.split()) > 1:
            return _clean_title(_first_sentence(candidate)) or None
    return _clean_title(candidates[0]) if candidates else None


def _first_sentence(text: str) -> str:
    match = re.match(r"(.{20,}?[.!?])\s+\S", text)
    return match.group(1) if match else text


# -- language ---------------------------------------------------------------------------

_FR_WORDS = frozenset(
    "le la les des du un une et est dans pour par sur au aux que qui ne pas plus avec ce cette"
    " ces son sa ses leur leurs il elle ils nous vous sont ont ou d l qu c n s j m entre depuis"
    " lors comme mais aussi tout tous etre".split()
)
_EN_WORDS = frozenset(
    "the of and to in is are was were for on with by that this these from at as be it an or not"
    " have has had their which its been will would can into than they there more also about".split()
)


def detect_language(text: str) -> Literal["fr", "en"]:
    """"fr" or "en", by counting common function words (French when unsure)."""
    words = re.findall(r"[a-z]+", fold(text[:20000]))
    fr = sum(1 for w in words if w in _FR_WORDS)
    en = sum(1 for w in words if w in _EN_WORDS)
    return "en" if en > fr else "fr"


# -- sidecars ---------------------------------------------------------------------------


def sidecar_path(path: Path) -> Path:
    """``dir/NAME.ext`` -> ``dir/NAME.meta.yaml``."""
    return path.with_name(path.stem + ".meta.yaml")


def _sidecar_date(value: Any, where: Path) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, (str, int)):
        raise SidecarError(where, f"date must be a date like 2024-03-15, not a {type(value).__name__}")
    text = str(value).strip()
    match = _ISO.match(text)
    found = None
    if match:
        month = int(match["month"]) if match["month"] else None
        day = int(match["day"]) if match["day"] else None
        found = _iso(int(match["year"]), month, day)
    if found is None:
        raise SidecarError(where, f"date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    return found


MAX_SIDECAR_BYTES = 64 * 1024  # a sidecar holds title, date, regions, language: a few hundred bytes


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The validated overrides of the sidecar beside `path`, or None when there is none.

    Returned keys are a subset of `SIDECAR_KEYS`, with `date` as ISO str or None,
    `regions` as a tuple of canonical names.
    """
    side = sidecar_path(path)
    if not side.is_file():
        return None
    import yaml  # only when a sidecar exists

    try:
        if side.stat().st_size > MAX_SIDECAR_BYTES:
            raise SidecarError(side, f"sidecar is over {MAX_SIDECAR_BYTES // 1024} KiB: it holds four short fields")
        raw = yaml.safe_load(side.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise SidecarError(side, f"cannot read sidecar: {reason}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SidecarError(side, "sidecar must be a mapping of title/date/regions/language")
    unknown = sorted(str(k) for k in raw if k not in SIDECAR_KEYS)
    if unknown:
        allowed = ", ".join(sorted(SIDECAR_KEYS))
        raise SidecarError(side, f"unknown key(s) {', '.join(unknown)}; allowed: {allowed}")
    out: dict[str, Any] = {}
    if "title" in raw:
        # A scalar only: YAML aliases can make a 1 KB list that prints as hundreds of MB.
        if raw["title"] is not None and not isinstance(raw["title"], (str, int, float)):
            raise SidecarError(side, "title must be a text")
        title = " ".join(str(raw["title"] or "").split())
        if not title:
            raise SidecarError(side, "title is empty")
        out["title"] = title
    if "date" in raw:
        out["date"] = _sidecar_date(raw["date"], side)
    if "regions" in raw:
        value = raw["regions"] or []
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise SidecarError(side, "regions must be a list of region names")
        regions: list[str] = []
        for name in names:
            canonical = canonical_region(str(name))
            if canonical is None:
                raise SidecarError(side, f"unknown region {name!r}")
            if canonical not in regions:
                regions.append(canonical)
        out["regions"] = tuple(regions)
    if "language" in raw:
        if raw["language"] not in ("fr", "en"):
            raise SidecarError(side, f"language must be fr or en, not {raw['language']!r}")
        out["language"] = raw["language"]
    return out


def apply_sidecar(meta: DocumentMetadata, overrides: dict[str, Any]) -> DocumentMetadata:
    """`meta` with the sidecar's values in place of the extracted ones."""
    from dataclasses import replace

    if "date" in overrides:
        overrides = {**overrides, "date_num": date_num(overrides["date"])}
    return replace(meta, **overrides)


# -- all together -----------------------------------------------------------------------


def build_metadata(
    *,
    path: Path,
    data: bytes,
    fmt: Format,
    original: str,
    text: str,
    title_hint: str | None = None,
    date_hint: str | None = None,
) -> DocumentMetadata:
    """Metadata for the file at `path` (absolute), its sidecar applied.

    `title_hint`/`date_hint` come from the format itself (an HTML ``<h1>``, a PDF's
    /Title, an HTML date meta tag) and are used when the text gives nothing better.
    """
    title = (_clean_title(title_hint) if title_hint else None) or extract_title(original, text, fmt)
    date = extract_date(text) or date_hint
    meta = DocumentMetadata(
        doc_id=document_id(data),
        source=str(path),
        title=title or path.stem,
        date=date,
        date_num=date_num(date),
        regions=tuple(find_regions(text)),
        language=detect_language(text),
        format=fmt,
    )
    overrides = read_sidecar(path)
    return apply_sidecar(meta, overrides) if overrides else meta
