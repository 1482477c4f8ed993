"""Finding the names of support schemes in a document with a fitted model.

Candidates are spans that could name a scheme: quoted names, runs of capitalised words
("Pass Diagnostic Carbone"), phrases opening on a support noun ("aide à l'embauche
d'alternants", every length up to eight words, so that the model learns where a name
ends), the head of a list item or a heading ("Prêt Usine Normande : ..."), what follows
a label ("Dispositif : ..."). Each gets the general features of `FEATURES` (its shape,
its words, what surrounds it: an amount in its paragraph, a cue of who may apply, a
heading, an acronym after it), and a logistic regression fitted on hand-labelled
documents (`make schemes-model`, `evals/scheme_model.py`) scores it. `find_names`
keeps the best-scoring candidates above the fitted threshold, one per place and name.

The model is `ingest/scheme_names.json`: weights, scaling and threshold, read with
numpy only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.errors import ConfigError
from knowledge.regions import find_regions, fold

__all__ = ["FEATURES", "NameCandidate", "candidates", "features", "find_names", "is_support_noun", "MODEL_PATH"]

MODEL_PATH = Path(__file__).with_name("scheme_names.json")

SUPPORT_NOUNS = (
    "aide", "aides", "prêt", "prêts", "pret", "fonds", "fond", "subvention", "subventions", "appel", "appels",
    "dispositif", "programme", "plan", "prime", "primes", "chèque", "cheque", "pass", "bonus", "bourse",
    "avance", "garantie", "contrat", "label", "crédit", "credit", "exonération", "exonérations", "allocation",
    "dotation", "diagnostic", "volontariat", "enveloppe", "accompagnement", "voucher", "vouchers", "fund",
    "loan", "grant", "scheme", "prize", "trophée", "concours", "zone", "mission", "missions", "parcours",
)
_SUPPORT = frozenset(fold(w) for w in SUPPORT_NOUNS)
_CONNECTORS = frozenset("de des du d' l' la le à au aux en et & pour sur".split())
_LABELS = re.compile(r"^\s*(?:[-•*–]\s*)?(?:dispositif|nom|aide|programme|volet\s+\d+|lot\s+\d+|mesure|offre)\s*:\s*", re.I)
_WORD = re.compile(r"[\w’'&.-]+|[«»\"“”()|:;,!?]")
_OPERATOR = re.compile(
    r"\b(?:bpifrance|ademe|banque des territoires|business france|france travail|cci|caisse des depots|"
    r"region|etat|europe|union europeenne|prefecture|ministere|agence)\b"
)
_AMOUNT = re.compile(
    r"\d+(?:[ .\u202f\u00a0]\d{3})*(?:,\d+)?\s?(?:%|M€|Md€|k€|€|millions?|milliards?|euros|EUR)|€\s?\d", re.I
)
_WHO = re.compile(
    r"\b(?:bénéficiaires?|éligibles?|destinée?s? aux|réservée?s? aux|ouverte?s? aux|s'adresse aux|"
    r"peuvent en bénéficier|qui peut|public|entreprises|PME|ETI|collectivités)\b",
    re.I,
)
_VERBISH = frozenset(fold(w) for w in "est sont a ont peut peuvent permet finance doit sera seront été qui que dont".split())


def is_support_noun(word: str) -> bool:
    """'Prêt', 'aide', 'Fonds', 'chèque'...: a word that names a kind of support."""
    return fold(word) in _SUPPORT


@dataclass(frozen=True)
class NameCandidate:
    start: int
    end: int
    kind: str  # quoted, caps, support, head, label

    def text(self, doc: str) -> str:
        return doc[self.start : self.end]


KINDS = ("quoted", "caps", "support", "head", "label")


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


_ENUMERATOR = re.compile(r"(?:\d{1,2}|[a-z]|[IVX]{1,4})[.)]\s+")


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in " \t-•*–«\"“(":
        a += 1
    if (m := _ENUMERATOR.match(text, a, b)) is not None:  # "4. Prime VIE régionale"
        a = m.end()
    while b > a and text[b - 1] in " \t.,;:»\"”)":
        b -= 1
    return a, b


def candidates(text: str) -> list[NameCandidate]:
    """Every span of `text` that could be a scheme's name (duplicates removed)."""
    found: set[NameCandidate] = set()

    def add(a: int, b: int, kind: str) -> None:
        a, b = _trim(text, a, b)
        if 2 < b - a <= 90 and any(ch.isalpha() for ch in text[a:b]):
            found.add(NameCandidate(a, b, kind))

    for start, end in _lines(text):
        line = text[start:end]
        if not line.strip():
            continue
        for m in re.finditer(r"«\s*([^«»\n]{3,80}?)\s*»|[\"“]([^\"“”\n]{3,80}?)[\"”]", line):
            g = 1 if m.group(1) else 2
            add(start + m.start(g), start + m.end(g), "quoted")
        if (m := _LABELS.match(line)) is not None:
            rest = line[m.end() :]
            cut = re.search(r"\s[:–|]\s|\s\(|[.;]\s|$", rest)
            add(start + m.end(), start + m.end() + (cut.start() if cut else len(rest)), "label")
        stripped = line.lstrip(" -•*–\t")
        offset = start + len(line) - len(stripped)
        head = re.search(r"\s[:–|]\s|\s-\s|\s\(|\s*:\s*$|[.;!?]\s", stripped)
        if head is not None and head.start() > 2:
            add(offset, offset + head.start(), "head")
        elif len(stripped) <= 70 and not stripped.rstrip().endswith((".", "!", "?")):
            add(offset, offset + len(stripped), "head")
        tokens = [(m.start() + start, m.end() + start, m.group()) for m in _WORD.finditer(line)]
        _word_runs(text, tokens, add)
    return sorted(found, key=lambda c: (c.start, c.end, c.kind))


def _word_runs(text: str, tokens: list[tuple[int, int, str]], add) -> None:  # noqa: ANN001
    """Capitalised runs and support-noun phrases among a line's tokens."""
    n = len(tokens)
    for i, (a, _b, word) in enumerate(tokens):
        if not word[:1].isalnum():
            continue
        # a run of capitalised words, connectors inside it
        if word[:1].isupper():
            j, last = i, i
            while j + 1 < n:
                nxt = tokens[j + 1][2]
                if nxt[:1].isupper() or nxt[:1].isdigit() or fold(nxt) in _CONNECTORS or nxt.lower().startswith(("d'", "l'", "d’", "l’")):
                    j += 1
                    if nxt[:1].isupper() or nxt[:1].isdigit() or nxt.lower().startswith(("d'", "l'", "d’", "l’")):
                        last = j
                else:
                    break
            if last > i or (last == i and len(word) > 3 and word.upper() != word):
                add(a, tokens[last][1], "caps")
        # a phrase opening on a support noun, every length up to eight words
        if fold(word) in _SUPPORT:
            for j in range(i, min(n, i + 8)):
                w = tokens[j][2]
                if not w[:1].isalnum() and w not in ("«", "»", '"'):
                    break
                if j > i and fold(w) in _VERBISH:
                    break
                add(a, tokens[j][1], "support")


FEATURES: tuple[str, ...] = (
    *(f"kind_{k}" for k in KINDS),
    "log_words",
    "log_chars",
    "cap_ratio",
    "first_cap",
    "starts_support",
    "has_support",
    "ends_connector",
    "ends_lower",
    "has_digit",
    "acronym_after",
    "all_caps_word",
    "line_start",
    "line_heading",
    "line_item",
    "colon_after",
    "article_before",
    "cue_before",
    "amount_in_line",
    "amount_in_paragraph",
    "who_in_paragraph",
    "operator",
    "region_only",
    "sentence_initial",
    "log_occurrences",
    "in_title",
    "verbish",
    "quoted_inside",
)


def _paragraph(text: str, start: int) -> tuple[int, int]:
    a = text.rfind("\n\n", 0, start)
    b = text.find("\n\n", start)
    return (0 if a < 0 else a + 2), (len(text) if b < 0 else b)


def features(c: NameCandidate, text: str, title: str, folded_text: str) -> list[float]:
    """The numbers the model reads for one candidate (in `FEATURES` order)."""
    span = text[c.start : c.end]
    words = [w for w in re.findall(r"[\w’'&.-]+", span) if w[:1].isalnum()]
    n = max(len(words), 1)
    line_start = text.rfind("\n", 0, c.start) + 1
    line_end = text.find("\n", c.end)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    before = text[line_start : c.start]
    after = text[c.end : line_end]
    p_start, p_end = _paragraph(text, c.start)
    paragraph = text[c.end : min(p_end, c.end + 500)]
    folded = fold(span)
    stripped_line = line.strip()
    values = {f"kind_{k}": float(c.kind == k) for k in KINDS}
    values |= {
        "log_words": math.log1p(len(words)),
        "log_chars": math.log1p(len(span)),
        "cap_ratio": sum(1 for w in words if w[:1].isupper()) / n,
        "first_cap": float(bool(words) and words[0][:1].isupper()),
        "starts_support": float(bool(words) and fold(words[0]) in _SUPPORT),
        "has_support": float(any(fold(w) in _SUPPORT for w in words)),
        "ends_connector": float(bool(words) and fold(words[-1]) in _CONNECTORS),
        "ends_lower": float(bool(words) and words[-1][:1].islower()),
        "has_digit": float(any(ch.isdigit() for ch in span)),
        "acronym_after": float(bool(re.match(r"\s*\(\s*[A-Z][A-Z0-9'’&-]{1,10}\s*\)", after))),
        "all_caps_word": float(any(len(w) > 1 and w.isupper() for w in words)),
        "line_start": float(not before.strip(" -•*–\t«\"“")),
        "line_heading": float(len(stripped_line) <= 80 and not stripped_line.endswith((".", "!", "?", ","))),
        "line_item": float(bool(re.match(r"\s*(?:[-•*–]|\d{1,2}[.)])\s", line))),
        "colon_after": float(bool(re.match(r"\s*[»\"”)]?\s*(?::|–|\|| - )", after))),
        "article_before": float(bool(re.search(r"(?:\b(?:le|la|les|du|au|aux|un|une|des)\s+|\b[ld][’'])\s*[«\"“]?\s*$", before, re.I))),
        "cue_before": float(bool(re.search(r"\b(?:dispositif|appel à projets|programme|aide|fonds|label|volet|lot|intitulée?)\s*[«\"“:]?\s*$", before, re.I))),
        "amount_in_line": float(bool(_AMOUNT.search(line))),
        "amount_in_paragraph": float(bool(_AMOUNT.search(paragraph))),
        "who_in_paragraph": float(bool(_WHO.search(paragraph))),
        "operator": float(bool(_OPERATOR.search(folded))),
        "region_only": float(bool(find_regions(span)) and len(words) <= 3 and not any(fold(w) in _SUPPORT for w in words)),
        "sentence_initial": float(bool(re.search(r"(?:^|[.!?]\s+)$", before))),
        "log_occurrences": math.log1p(folded_text.count(folded)) if folded else 0.0,
        "in_title": float(bool(folded) and folded in fold(title)),
        "verbish": float(any(fold(w) in _VERBISH for w in words)),
        "quoted_inside": float(any(q in span for q in "«»\"“”")),
    }
    return [values[name] for name in FEATURES]


@dataclass(frozen=True)
class NameModel:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float

    def probability(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def from_payload(cls, data: dict) -> NameModel:
        """From the stored dict (mean, scale, weights, bias, threshold); KeyError or ValueError when malformed."""
        return cls(
            np.asarray(data["mean"], dtype=float),
            np.asarray(data["scale"], dtype=float),
            np.asarray(data["weights"], dtype=float),
            float(data["bias"]),
            float(data["threshold"]),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> NameModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if list(data["features"]) != list(FEATURES):
                raise ConfigError(f"{path}: fitted for other features; rebuild it with `make schemes-model`")
            return cls.from_payload(data)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot read the scheme-name model {path}: {exc}; rebuild it with `make schemes-model`") from exc


@lru_cache(maxsize=1)
def _model() -> NameModel:
    return NameModel.load()


def find_names(text: str, title: str = "", model: NameModel | None = None) -> list[tuple[NameCandidate, float]]:
    """The scheme names of `text`, in text order, with their probabilities: the best candidate of
    each place above the model's threshold, each name (folded) once."""
    model = model or _model()
    found = candidates(text)
    if not found:
        return []
    folded_text = fold(text)
    rows = np.asarray([features(c, text, title, folded_text) for c in found], dtype=float)
    scores = model.probability(rows)
    kept: list[tuple[NameCandidate, float]] = []
    names: set[str] = set()
    for i in np.argsort(-scores, kind="stable"):
        c, p = found[int(i)], float(scores[int(i)])
        if p < model.threshold:
            break
        name = " ".join(fold(c.text(text)).split())
        if name in names or any(c.start < k.end and k.start < c.end for k, _ in kept):
            continue
        names.add(name)
        kept.append((c, p))
    return sorted(kept, key=lambda kp: kp[0].start)
