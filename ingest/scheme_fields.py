"""Reading what a scheme gives and who may apply, with fitted models.

A scheme's name is found in one place (`ingest.schemes`, `ingest.scheme_names`); what it
gives and to whom is often written elsewhere: in the lines under its name ("- Aide :
subvention de 20 % à 40 % ... plafonnée à 800 000 euros"), in a section of its own ("Qui
peut candidater ? ..."), or in the paragraph after it. For each scheme, every amount of
its document is a candidate for its `amount`, and every sentence, list item and table
cell a candidate for its `beneficiaries`. Each candidate gets the general features of
`AMOUNT_FEATURES` or `WHO_FEATURES`: where it stands from the scheme (inside its span,
after it in its paragraph or section, how many other schemes' names lie between, whether
the document has one scheme or many), what surrounds it (the heading or list intro it
sits under), what it says (the words that state an amount's role, or a condition of who
may apply), and what the rules read in the scheme's own span. Two ensembles of boosted
trees fitted on hand-labelled documents (`make schemes-model`, `evals/scheme_model.py`;
LightGBM at training time, walked in numpy here by `knowledge.trees`) score them: where a
candidate stands counts differently for an amount on the scheme's own line than for one
two schemes further on, which a sum of weights cannot say. A scheme keeps the candidates
above the fitted thresholds, best first, a few at most; where they keep nothing, the
rules' reading stands.

Nothing here names a phrasing of a particular document: the cue words are the general
vocabulary of amounts and eligibility, and their weights are learned. The models live in
`ingest/scheme_fields.json`.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge.errors import ConfigError
from knowledge.regions import fold
from knowledge.trees import TreeEnsemble

__all__ = [
    "AMOUNT_FEATURES", "FIELDS_PATH", "WHO_FEATURES", "Anchor", "FieldModel", "FieldModels", "Fields", "amount_rows",
    "read_fields", "who_rows",
]

FIELDS_PATH = Path(__file__).with_name("scheme_fields.json")
MAX_AMOUNTS = 5
MAX_WHO = 3
MAX_WHO_CHARS = 320
_BLOCK = 4096  # rows scored at a time
WINDOW = 100  # segments before and after a scheme's own that are read for it


class Segment(Protocol):
    start: int
    end: int
    text: str
    kind: str  # "item" | "sentence" | "heading"
    line: int


@dataclass(frozen=True)
class Anchor:
    """Where a scheme was read: its span and its name, and what the rules read of it (features here)."""

    start: int
    end: int
    name: str
    amount: str | None = None
    who: str | None = None


AMOUNT = re.compile(
    r"(?:(?:jusqu'à|plus de|près de|environ|up to) )?(?:(?:€|EUR)\s?\d[\d,.]*(?:\s?(?:million|billion))?|"
    r"\d+(?:[ .\u202f\u00a0]\d{3})*(?:[,.]\d+)?\s?(?:%|M€|Md€|k€|€|millions? d'euros|milliards? d'euros|"
    r"millions?|milliards?|euros|EUR(?: \d+ million)?))(?![\w€])(?:\s+par an\b)?",
    re.IGNORECASE,
)

# The general vocabulary around amounts and eligibility; each cue is one feature, its weight learned.
_AMOUNT_BEFORE = {
    "ceiling": r"jusqu'a|plafon\w*|maximum|max\.?|dans la limite|limite|au plus|atteindre|up to|capped",
    "rate": r"taux|de \d+ ?% a|entre|hauteur de|represent\w* \d",
    "support": r"subvention\w*|pret\w*|avance\w*|aide\w*|prime\w*|bonus|garantie\w*|forfait\w*|grant|loan",
    "budget": r"enveloppe|dote\w*|budget|fonds|credits?|montant|total|allou\w*|consacr\w*|mobilis\w*",
    "minimum": r"au moins|minimum|minimal\w*|superieur\w*|plus de|at least|seuil",
    "per": r"par (?:an|projet|entreprise|site|poste|salarie|beneficiaire|etablissement|dossier)",
}
_AMOUNT_AFTER = {
    "of_cost": r"^\s*(?:des|du|de la|of)\s+(?:depenses|cout|couts|investissement|montant|assiette|eligible|eligibles)",
    "per": r"^\s*(?:par|per)\s+\w+",
    "investment": r"^\s*(?:d'|de )?(?:investissements?|chiffre d'affaires|aides publiques|projets?)\b",
    "ht": r"^\s*(?:ht|hors taxes?)\b",
}
_BALANCE = r"\b(?:ont ete|a ete|deja|mobilises?|engages?|representent|laureats?|retenus?|beneficie|verses?|realise)\b"
_WHO_CUES = {
    "eligible": r"\beligib\w*|\bcandidat\w*|\bbeneficiaires?\b|\bpeuvent\b|\bpeut\b|\bqui peut\b",
    "open_to": r"\b(?:ouverte?s?|reservee?s?|destinee?s?|accessibles?|s'adresse\w*|adresse\w*|vise\w*) (?:aux?|a l'|a la)\b|\bopen to\b",
    "firms": r"\b(?:entreprises?|pme|eti|tpe|start-?ups?|industriels?|societes?|exploitants?|artisans?|cooperatives?|smes?|firms?)\b",
    "public": r"\b(?:collectivites?|communes?|intercommunalites?|epci|associations?|groupements?|etablissements? publics?|bailleurs?|syndicats?)\b",
    "size": r"\b(?:salaries|employes|effectif\w*|employees)\b",
    "threshold": r"\b(?:au moins|moins de|plus de|minimum|au maximum|superieur\w*|inferieur\w*|at least|fewer than)\b",
    "must": r"\b(?:doi(?:t|vent)|devr\w*|condition\w*|critere\w*|requis|exige\w*|justifi\w*|must|required)\b",
    "status": r"\b(?:immatricul\w*|implante\w*|situe\w*|dispos\w*|siege|inscrit\w*|a jour|en activite|registered|based)\b",
    "exclusion": r"\b(?:ne sont pas|n'est pas|exclu\w*|hors|sauf|not eligible)\b",
    "project": r"\b(?:projets?|programmes? d'investissement|investissements?|depenses)\b",
    "topic_only": r"\b(?:objet|finance|permet|vise a|pour objectif)\b",
}
_WHO_HEADING = re.compile(
    r"\b(?:qui peut|eligib\w*|beneficiaires?|public|conditions?|criteres?|pour qui|candidat\w*|who can|eligibility)\b"
)
_LABEL = re.compile(r"^\s*([A-Za-zÀ-ÿ' ]{3,30}?)\s*:\s+")


def _compiled(table: dict[str, str]) -> dict[str, re.Pattern[str]]:
    return {k: re.compile(v) for k, v in table.items()}


_AB, _AA, _WC = _compiled(_AMOUNT_BEFORE), _compiled(_AMOUNT_AFTER), _compiled(_WHO_CUES)
_BALANCE_RE = re.compile(_BALANCE)

_POSITION = (
    "inside", "core_segment", "after_same_paragraph", "after_same_section", "before", "log_distance",
    "others_between", "other_inside", "owner_before", "owner_after", "one_scheme", "log_schemes", "first_scheme",
    "in_title", "names_scheme", "names_other", "under_cue_heading", "is_item", "label_line",
)
AMOUNT_FEATURES: tuple[str, ...] = (
    *_POSITION,
    *(f"before_{k}" for k in _AMOUNT_BEFORE),
    *(f"after_{k}" for k in _AMOUNT_AFTER),
    "log_chars_from_name", "percent", "log_euros", "balance", "first_in_segment", "amounts_in_segment", "rules_amount",
)
WHO_FEATURES: tuple[str, ...] = (
    *_POSITION,
    *(f"cue_{k}" for k in _WHO_CUES),
    "label_cue", "has_amount", "log_chars", "cell", "log_chars_from_name", "intro_cue", "holds_rules_who", "name_share",
)


@dataclass(frozen=True)
class _Doc:
    """What the features read of a document, computed once per document."""

    text: str
    segments: Sequence[Segment]
    folded: list[str]  # each segment's folded text
    paragraph: list[int]  # each segment's paragraph number (blank lines split them)
    section: list[int]  # each segment's section number (headings, list intros and questions open one)
    cue_section: list[bool]  # its section opens on a line that speaks of eligibility ("Qui peut candidater ?")
    intro: list[int]  # for a list item, the index of the line introducing its list (-1 otherwise)


def _opens_section(s: Segment) -> bool:
    return s.kind == "heading" or (s.kind == "sentence" and s.text.rstrip().endswith((":", "?")))


def _read_doc(text: str, segments: Sequence[Segment]) -> _Doc:
    folded = [fold(s.text) for s in segments]
    paragraph, section, cue, intro = [], [], [], []
    par = sec = 0
    cue_now = False
    last_intro = -1
    prev_end = None
    for i, (s, f) in enumerate(zip(segments, folded, strict=True)):
        if prev_end is not None and "\n\n" in text[prev_end : s.start]:
            par += 1
        if _opens_section(s):
            sec += 1
            cue_now = bool(_WHO_HEADING.search(f))
        if s.kind != "item":
            last_intro = i
        paragraph.append(par)
        section.append(sec)
        cue.append(cue_now)
        intro.append(last_intro if s.kind == "item" else -1)
        prev_end = s.end
    return _Doc(text, segments, folded, paragraph, section, cue, intro)


def _words(name: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", fold(name)) if len(w) > 3}


class _Context:
    """The position features of every segment relative to each scheme of a document (what is needed
    per segment and per scheme computed once, so that a row costs the same in a long document)."""

    def __init__(self, doc: _Doc, anchors: Sequence[Anchor], title: str = "") -> None:
        self.doc = doc
        self.anchors = anchors
        self.names = [_words(a.name) for a in anchors]
        self.name_words = set().union(*self.names) if self.names else set()
        title_words = set(re.findall(r"[a-z0-9]+", fold(title)))
        self.in_title = [len(w & title_words) / len(w) if w else 0.0 for w in self.names]
        self.starts = sorted((a.start, k) for k, a in enumerate(anchors))
        self.start_values = [start for start, _ in self.starts]
        # Names that hold one another ("Pass Recrutement Compétences", "... Compétences Île-de-France") are
        # one scheme read twice: the same group for who owns what lies between them.
        self.group = list(range(len(anchors)))
        for k, w in enumerate(self.names):
            self.group[k] = next((m for m in range(k) if w and self.names[m] and (w <= self.names[m] or self.names[m] <= w)), k)
        segs = doc.segments
        seg_starts = [s.start for s in segs]
        self.core: list[tuple[int, int]] = []
        for a in anchors:
            lo = max(bisect.bisect_right(seg_starts, a.start) - 1, 0)
            inside = [i for i in range(lo, bisect.bisect_left(seg_starts, a.end)) if segs[i].start < a.end and a.start < segs[i].end]
            if not inside:  # a name between two segments: the one after it
                inside = [min(bisect.bisect_left(seg_starts, a.start), max(len(segs) - 1, 0))]
            self.core.append((inside[0], inside[-1]))
        self.words = [set(re.findall(r"[a-z0-9]+", f)) for f in doc.folded]
        self.holds_anchor = [
            {self.group[k] for _, k in self.starts[bisect.bisect_left(self.start_values, s.start) : bisect.bisect_left(self.start_values, s.end)]}
            for s in segs
        ]
        # The groups whose names a segment mentions (most of their words).
        self.mentions = [
            {self.group[m] for m, w in enumerate(self.names) if w and len(w & seg_words) >= max(1, math.ceil(0.6 * len(w)))}
            for seg_words in self.words
        ]

    def near(self, k: int, j: int) -> bool:
        """Whether segment `j` is close enough to scheme `k` to be read for it (none of the labelled
        training documents has an amount or a condition further than 43 segments from its scheme, nor any
        candidate further than 100)."""
        first, last = self.core[k]
        return first - WINDOW <= j <= last + WINDOW

    def name_share(self, folded: str) -> float:
        """How much of a unit's words are words of the schemes' names (a cell that only names a scheme: 1)."""
        words = [w for w in re.findall(r"[a-z0-9]+", folded) if len(w) > 3]
        return sum(1 for w in words if w in self.name_words) / len(words) if words else 0.0

    def owners(self, offset: int) -> tuple[int | None, int | None]:
        """The scheme named last before `offset`, and the one named first after it."""
        i = bisect.bisect_right(self.start_values, offset)
        return (self.starts[i - 1][1] if i else None), (self.starts[i][1] if i < len(self.starts) else None)

    def _between(self, group: int, lo: int, hi: int) -> int:
        """How many other schemes are named strictly between two offsets (3 at most: the feature's cap)."""
        count = 0
        for _, m in self.starts[bisect.bisect_right(self.start_values, lo) : bisect.bisect_left(self.start_values, hi)]:
            if self.group[m] != group:
                count += 1
                if count == 3:
                    break
        return count

    def position(self, k: int, j: int, offset: int | None = None) -> dict[str, float]:
        doc, (first, last) = self.doc, self.core[k]
        owner_before, owner_after = self.owners(doc.segments[j].start if offset is None else offset)
        a = self.anchors[k]
        seg = doc.segments[j]
        inside = first <= j <= last
        after, before = j > last, j < first
        distance = 0 if inside else (j - last if after else first - j)
        lo, hi = (a.start, seg.start) if after else (seg.end, a.start)
        group = self.group[k]
        between = self._between(group, lo, hi) if not inside else 0
        words = self.names[k]
        seg_words = self.words[j]
        return {
            "inside": float(inside),
            "core_segment": float(j == first),
            "after_same_paragraph": float(after and doc.paragraph[j] == doc.paragraph[last]),
            "after_same_section": float(after and doc.section[j] == doc.section[last]),
            "before": float(before),
            "log_distance": math.log1p(distance),
            "others_between": float(min(between, 3)),
            "other_inside": float(any(g != group for g in self.holds_anchor[j])),
            "owner_before": float(owner_before is not None and self.group[owner_before] == group),
            "owner_after": float(owner_after is not None and self.group[owner_after] == group),
            "one_scheme": float(len(self.anchors) == 1),
            "log_schemes": math.log1p(len(self.anchors)),
            "first_scheme": float(self.starts[0][1] == k),
            "in_title": self.in_title[k],
            "names_scheme": (len(words & seg_words) / len(words)) if (words and not inside) else 0.0,
            "names_other": float(any(g != group for g in self.mentions[j])),
            "under_cue_heading": float(doc.cue_section[j]),
            "is_item": float(seg.kind == "item"),
            "label_line": float(bool(_LABEL.match(seg.text))),
        }


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", fold(text))


def _euros(amount: str) -> float:
    """A rough value in euros, for the feature only ('1,5 M€' -> 1.5e6); 0 for a share."""
    f = fold(amount)
    m = re.search(r"\d+(?:[ .\u202f\u00a0]\d{3})*(?:[,.]\d+)?", f)
    if not m or "%" in f:
        return 0.0
    number = float(re.sub(r"[ .\u202f\u00a0]", "", m.group()).replace(",", ".") or 0)
    if re.search(r"md|milliard|billion", f):
        number *= 1e9
    elif re.search(r"m€|million", f):
        number *= 1e6
    elif "k€" in f:
        number *= 1e3
    return number


@dataclass(frozen=True)
class AmountCandidate:
    segment: int
    start: int
    end: int
    text: str


def amount_candidates(doc: _Doc) -> list[AmountCandidate]:
    out = []
    for j, s in enumerate(doc.segments):
        for m in AMOUNT.finditer(s.text):
            out.append(AmountCandidate(j, s.start + m.start(), s.start + m.end(), m.group(0).strip()))
    return out


def _amount_content(doc: _Doc, c: AmountCandidate, siblings: list[AmountCandidate]) -> dict[str, float]:
    """The features of an amount that do not depend on the scheme (computed once per amount)."""
    seg = doc.segments[c.segment]
    offset = c.start - seg.start
    before = fold(seg.text[max(0, offset - 40) : offset])
    after = fold(seg.text[offset + len(c.text) : offset + len(c.text) + 40])
    euros = _euros(c.text)
    values = {f"before_{n}": float(bool(p.search(before))) for n, p in _AB.items()}
    values |= {f"after_{n}": float(bool(p.search(after))) for n, p in _AA.items()}
    values |= {
        "percent": float("%" in c.text),
        "log_euros": math.log10(euros) if euros > 0 else 0.0,
        "balance": float(bool(_BALANCE_RE.search(doc.folded[c.segment]))),
        "first_in_segment": float(siblings[0] is c),
        "amounts_in_segment": math.log1p(len(siblings)),
    }
    return values


def _amount_features(ctx: _Context, k: int, c: AmountCandidate, content: dict[str, float]) -> list[float]:
    values = ctx.position(k, c.segment, c.start) | content
    anchor = ctx.anchors[k]
    values["log_chars_from_name"] = math.log1p(abs(c.start - anchor.start))
    values["rules_amount"] = float(bool(anchor.amount) and _squash(c.text) in _squash(anchor.amount or ""))
    return [values[n] for n in AMOUNT_FEATURES]


def _who_content(ctx: _Context, c: WhoCandidate) -> dict[str, float]:
    """The features of a sentence, item or cell that do not depend on the scheme (computed once per unit)."""
    doc = ctx.doc
    f = fold(c.text) if c.cell else doc.folded[c.segment]
    label = _LABEL.match(c.text)
    intro = doc.intro[c.segment]
    values = {f"cue_{n}": float(bool(p.search(f))) for n, p in _WC.items()}
    values |= {
        "label_cue": float(bool(label and _WHO_HEADING.search(fold(label.group(1))))),
        "has_amount": float(bool(AMOUNT.search(c.text))),
        "log_chars": math.log1p(len(c.text)),
        "cell": float(c.cell),
        "intro_cue": float(
            intro >= 0 and bool(_WHO_HEADING.search(doc.folded[intro]) or _WC["open_to"].search(doc.folded[intro]))
        ),
        "name_share": ctx.name_share(f),
    }
    return values


def _who_features(ctx: _Context, k: int, c: WhoCandidate, content: dict[str, float]) -> list[float]:
    values = ctx.position(k, c.segment, c.start) | content
    anchor = ctx.anchors[k]
    values["log_chars_from_name"] = math.log1p(abs(c.start - anchor.start))
    values["holds_rules_who"] = float(bool(anchor.who) and _squash(anchor.who or "") in _squash(c.text))
    return [values[n] for n in WHO_FEATURES]


def amount_rows(
    text: str, segments: Sequence[Segment], anchors: Sequence[Anchor], title: str = ""
) -> list[tuple[int, AmountCandidate, list[float]]]:
    """(scheme index, candidate, features) for every scheme and amount of a document."""
    return _amount_rows(_Context(_read_doc(text, segments), anchors, title))


def _amount_rows(ctx: _Context) -> list[tuple[int, AmountCandidate, list[float]]]:
    found = amount_candidates(ctx.doc)
    per_segment: dict[int, list[AmountCandidate]] = {}
    for c in found:
        per_segment.setdefault(c.segment, []).append(c)
    content = [_amount_content(ctx.doc, c, per_segment[c.segment]) for c in found]
    return [
        (k, c, _amount_features(ctx, k, c, content[i]))
        for k in range(len(ctx.anchors)) for i, c in enumerate(found) if ctx.near(k, c.segment)
    ]


@dataclass(frozen=True)
class WhoCandidate:
    """A sentence or list item, or one cell of a table row ("Nom | montant | bénéficiaires")."""

    segment: int
    start: int
    end: int
    text: str
    cell: bool


_CELL = re.compile(r"\s*\|\s*")


def who_candidates(doc: _Doc) -> list[WhoCandidate]:
    out = []
    for j, s in enumerate(doc.segments):
        if s.kind == "heading" and "|" not in s.text:
            continue
        if s.text.count("|") >= 2:
            pos = 0
            for part in _CELL.split(s.text):
                at = s.text.find(part, pos)
                pos = at + len(part)
                if len(part.strip()) >= 12:
                    out.append(WhoCandidate(j, s.start + at, s.start + pos, part.strip(), True))
        elif len(s.text) >= 12:
            out.append(WhoCandidate(j, s.start, s.end, s.text, False))
    return out


def who_rows(
    text: str, segments: Sequence[Segment], anchors: Sequence[Anchor], title: str = ""
) -> list[tuple[int, WhoCandidate, list[float]]]:
    """(scheme index, candidate, features) for every scheme and sentence, item or cell of a document."""
    return _who_rows(_Context(_read_doc(text, segments), anchors, title))


def _who_rows(ctx: _Context) -> list[tuple[int, WhoCandidate, list[float]]]:
    found = who_candidates(ctx.doc)
    content = [_who_content(ctx, c) for c in found]
    return [
        (k, c, _who_features(ctx, k, c, content[i]))
        for k in range(len(ctx.anchors)) for i, c in enumerate(found) if ctx.near(k, c.segment)
    ]


_WHO_START = re.compile(
    r"(?:\b(?:[Bb]énéficiaires?|[Pp]ublic(?: visé| cible)?|[ÉéEe]ligibilité|[Cc]onditions?)\s*:\s*|"
    r"\b(?:destinée?s?|réservée?s?|ouverte?s?|accessibles?|s['’]adresse(?:nt)?)\s+(?:aux|au|à la|à l['’]|à)\s*)"
)


def who_text(segment: str) -> str:
    """What a sentence, item or cell says of who may apply, as the scheme's beneficiaries show it: what
    follows its cue ("ouvert aux PME ..." -> "PME ...", "Bénéficiaires : ..."), else all of it, a line's
    label dropped."""
    text = " ".join(segment.split())
    m = _WHO_START.search(text)
    rest = text[m.end() :].strip(" ;,.:") if m else ""
    return rest or _LABEL.sub("", text, count=1).strip(" ;,.:")


def _shown_who(unit: str, rules_who: str | None) -> str:
    """The rules' phrase ("PME de moins de 250 salariés") when the chosen unit holds it, else `who_text`."""
    if rules_who and _squash(rules_who) in _squash(unit):
        return rules_who
    return who_text(unit)


@dataclass(frozen=True)
class Fields:
    amounts: list[str]  # as written, in text order
    who: list[str]  # what each chosen sentence or item says of who may apply
    evidence: list[tuple[str, int, int]]  # the spans read outside the scheme's own

    @property
    def amount(self) -> str | None:
        return "; ".join(self.amounts) or None

    @property
    def beneficiaries(self) -> str | None:
        return " ; ".join(self.who) or None


@dataclass(frozen=True)
class FieldModel:
    """Boosted trees (a binary LightGBM model, walked in numpy) and the threshold a candidate must reach."""

    trees: TreeEnsemble
    threshold: float

    def probability(self, rows: np.ndarray) -> np.ndarray:
        # In blocks: the trees are walked for every row at once, and a long document has many rows.
        scores = np.concatenate([self.trees.decision(rows[i : i + _BLOCK]) for i in range(0, len(rows), _BLOCK)] or [np.zeros(0)])
        return 1.0 / (1.0 + np.exp(-scores))

    def with_threshold(self, threshold: float) -> FieldModel:
        return FieldModel(self.trees, threshold)


@dataclass(frozen=True)
class FieldModels:
    amount: FieldModel
    who: FieldModel

    def to_dict(self) -> dict[str, Any]:
        return {
            key: {"threshold": m.threshold, "trees": m.trees.to_dict()} for key, m in (("amount", self.amount), ("who", self.who))
        }

    @classmethod
    def load(cls, path: Path = FIELDS_PATH) -> FieldModels:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            where = f"{path}: the scheme-field model"
            return cls(*(
                FieldModel(TreeEnsemble.from_dict(data[key]["trees"], names, f"{where} ({key})", "make schemes-model"),
                           float(data[key]["threshold"]))
                for key, names in (("amount", AMOUNT_FEATURES), ("who", WHO_FEATURES))
            ))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot read the scheme-field models {path}: {exc}; rebuild them with `make schemes-model`") from exc


@lru_cache(maxsize=1)
def _models() -> FieldModels:
    return FieldModels.load()


def read_fields(
    text: str, segments: Sequence[Segment], anchors: Sequence[Anchor], title: str = "", models: FieldModels | None = None
) -> list[Fields]:
    """Each scheme's amounts and who may apply, as the fitted models read them (one `Fields` per anchor)."""
    models = models or _models()
    if not anchors:
        return []
    ctx = _Context(_read_doc(text, segments), anchors, title)  # read once for both fields
    amounts, whos = _amount_rows(ctx), _who_rows(ctx)
    a_scores = models.amount.probability(np.asarray([r[2] for r in amounts], dtype=float)) if amounts else np.zeros(0)
    w_scores = models.who.probability(np.asarray([r[2] for r in whos], dtype=float)) if whos else np.zeros(0)
    by_scheme: dict[int, tuple[list[tuple[float, AmountCandidate]], list[tuple[float, WhoCandidate]]]] = {
        k: ([], []) for k in range(len(anchors))
    }
    for (k, c, _), score in zip(amounts, a_scores, strict=True):
        if score >= models.amount.threshold:
            by_scheme[k][0].append((float(score), c))
    for (k, c, _), score in zip(whos, w_scores, strict=True):
        if score >= models.who.threshold:
            by_scheme[k][1].append((float(score), c))
    out = []
    for k, anchor in enumerate(anchors):
        evidence: list[tuple[str, int, int]] = []

        def note(field: str, seg: Segment) -> None:
            if not (anchor.start <= seg.start and seg.end <= anchor.end) and (field, seg.start, seg.end) not in evidence:
                evidence.append((field, seg.start, seg.end))

        picked = sorted(by_scheme[k][0], key=lambda pc: -pc[0])
        chosen: list[AmountCandidate] = []
        for _, c in picked:
            if len(chosen) < MAX_AMOUNTS and fold(c.text) not in {fold(x.text) for x in chosen}:
                chosen.append(c)
        chosen.sort(key=lambda c: c.start)
        for c in chosen:
            note("amount", segments[c.segment])
        who_picked = sorted(by_scheme[k][1], key=lambda pc: -pc[0])
        who_chosen: list[tuple[WhoCandidate, str]] = []
        size = 0
        for _, c in who_picked:
            shown = _shown_who(c.text, None if any(s == anchor.who for _, s in who_chosen) else anchor.who)
            if (
                len(who_chosen) < MAX_WHO and shown and size + len(shown) <= MAX_WHO_CHARS
                and all(_squash(shown) not in _squash(s) and _squash(s) not in _squash(shown) for _, s in who_chosen)
            ):
                who_chosen.append((c, shown))
                size += len(shown) + 3
        who_chosen.sort(key=lambda cs: cs[0].start)
        for c, _ in who_chosen:
            note("beneficiaries", segments[c.segment])
        # Where the models keep nothing, what the rules read in the scheme's own span stands.
        out.append(
            Fields(
                amounts=[_normalise(c.text) for c in chosen] or ([anchor.amount] if anchor.amount else []),
                who=[shown for _, shown in who_chosen] or ([anchor.who] if anchor.who else []),
                evidence=evidence,
            )
        )
    return out


def _normalise(amount: str) -> str:
    """'3,9M€' -> '3,9 M€' (the figure and its unit as written, one space between)."""
    return re.sub(r"(\d)(M€|Md€|Mds€|k€|€)", r"\1 \2", " ".join(amount.split()))
