"""Answer-accuracy metrics: small pure functions over ``(Record, Answer)`` pairs.

Nothing here does I/O or calls the assistant. Every rate is a fraction in [0, 1]
over the records it applies to, and is ``None`` (shown "n/a") when no record
applies, so an empty denominator never reads as a perfect or a zero score.

Matching rules (documented in evals/README.md):

- a fact alternative is found when it occurs in the answer text after `fold`
  (case, accents, apostrophes, dashes and whitespace folded) and after removing the
  ``[n]`` citation marks; an alternative that starts or ends with a digit must not be
  glued to other digits there ("12" is not found in "2012" nor in "1,12");
- an expected source matches a citation or passage whose source path contains it
  (slashes and case folded) or whose doc id equals it.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answer import Answer
from evals.dataset import Record

__all__ = [
    "Pair",
    "RecordScore",
    "Threshold",
    "fold",
    "strip_marks",
    "fact_found",
    "source_matches",
    "score_record",
    "fact_recall",
    "all_facts",
    "citation_hit",
    "citation_precision",
    "abstention_accuracy",
    "false_abstention",
    "pass_rate",
    "hit_at_k",
    "mrr",
    "answer_length",
    "length_stats",
    "latency_stats",
    "percentile",
    "compute_metrics",
    "group_metrics",
    "is_known_metric",
    "lower_is_better",
    "check_thresholds",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
]

Pair = tuple[Record, Answer]
Value = float | None

# -- folding and matching ---------------------------------------------------------------
_APOSTROPHES = "'’‘ʼ`´′"
_DASHES = "-‐‑‒–—―−"
_LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss"}
_FOLD_TABLE = str.maketrans({**{c: " " for c in _APOSTROPHES + _DASHES}, **_LIGATURES})
_MARK = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, strip accents, turn apostrophes and dashes into spaces, collapse whitespace.

    >>> fold("Grand-Est  Touraine, l’AdCF — ÉTÉ")
    'grand est touraine, l adcf ete'
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.translate(_FOLD_TABLE)).strip()


def strip_marks(text: str) -> str:
    """The answer text without its ``[n]`` (or ``[1, 2]``) citation marks.

    >>> strip_marks("Douze territoires [1][2]. Voir [3, 4].")
    'Douze territoires. Voir.'
    """
    return _MARK.sub("", text)


def _pattern(alternative: str) -> re.Pattern[str]:
    folded = fold(alternative)
    # Numbers match whole: no digit (or digit plus decimal separator) glued on either side.
    before = r"(?<!\d)(?<!\d[.,])" if folded[:1].isdigit() else ""
    after = r"(?!\d)(?![.,]\d)" if folded[-1:].isdigit() else ""
    return re.compile(before + re.escape(folded) + after)


def fact_found(alternatives: Iterable[str], text: str) -> bool:
    """Whether any alternative occurs in `text` (marks removed, both sides folded).

    >>> fact_found(["12", "douze"], "Douze territoires [12]"), fact_found(["12"], "en 2012")
    (True, False)
    """
    folded = fold(strip_marks(text))
    return any(alt.strip() and _pattern(alt).search(folded) for alt in alternatives)


def source_matches(expected: Iterable[str], source: str, doc_id: str = "") -> bool:
    """Whether any expected string is in the source path (case, slashes folded) or is the doc id."""
    path = source.replace("\\", "/").casefold()
    return any(e.replace("\\", "/").casefold() in path or (doc_id and e == doc_id) for e in expected)


# -- one record -------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordScore:
    """How one answer fared against its record. `passed` is the record-level verdict.

    An answerable record passes when the assistant did not abstain, every fact group
    was found and (when sources are expected) a citation hits one; an unanswerable
    record passes when the assistant abstained.
    """

    facts: tuple[bool, ...]
    citation_hit: bool | None
    cited_matching: int
    cited_total: int
    first_relevant_rank: int | None
    length: int
    passed: bool
    reasons: tuple[str, ...]


def answer_length(answer: Answer) -> int:
    """Characters of the answer text, ``[n]`` marks excluded."""
    return len(strip_marks(answer.text).strip())


def score_record(record: Record, answer: Answer) -> RecordScore:
    facts = tuple(fact_found(group, answer.text) for group in record.expected_facts)
    expected = record.expected_sources
    matching = sum(source_matches(expected, c.source, c.doc_id) for c in answer.citations) if expected else 0
    hit = (matching > 0) if expected else None
    ranked = sorted(enumerate(answer.passages), key=lambda ip: (ip[1].rank or ip[0] + 1, ip[0]))
    first = None
    if expected:
        first = next(
            (pos for pos, (_, p) in enumerate(ranked, start=1) if source_matches(expected, p.source, p.doc_id)),
            None,
        )
    reasons: list[str] = []
    if record.answerable:
        if answer.abstained:
            reasons.append("abstained on an answerable question")
        missing = [" / ".join(g) for g, ok in zip(record.expected_facts, facts, strict=True) if not ok]
        if missing:
            reasons.append("missing fact(s): " + "; ".join(missing))
        if hit is False:
            reasons.append("no citation from an expected source")
    elif not answer.abstained:
        reasons.append("answered an unanswerable question")
    return RecordScore(
        facts=facts,
        citation_hit=hit,
        cited_matching=matching,
        cited_total=len(answer.citations) if expected else 0,
        first_relevant_rank=first,
        length=answer_length(answer),
        passed=not reasons,
        reasons=tuple(reasons),
    )


# -- rates ------------------------------------------------------------------------------
def _mean(values: Sequence[float]) -> Value:
    return sum(values) / len(values) if values else None


def _with_facts(pairs: Sequence[Pair]) -> list[Pair]:
    return [(r, a) for r, a in pairs if r.answerable and r.expected_facts]


def fact_recall(pairs: Sequence[Pair]) -> Value:
    """Mean fraction of fact groups found, over answerable records that expect facts."""
    fractions = []
    for record, answer in _with_facts(pairs):
        found = score_record(record, answer).facts
        fractions.append(sum(found) / len(found))
    return _mean(fractions)


def all_facts(pairs: Sequence[Pair]) -> Value:
    """Fraction of answerable records (that expect facts) with every group found."""
    return _mean([float(all(score_record(r, a).facts)) for r, a in _with_facts(pairs)])


def _with_sources(pairs: Sequence[Pair]) -> list[Pair]:
    return [(r, a) for r, a in pairs if r.answerable and r.expected_sources]


def citation_hit(pairs: Sequence[Pair]) -> Value:
    """Fraction of answerable records (that expect sources) with a citation from one of them."""
    return _mean([float(bool(score_record(r, a).citation_hit)) for r, a in _with_sources(pairs)])


def citation_precision(pairs: Sequence[Pair]) -> Value:
    """Share of all citations, on answerable records that expect sources, from an expected source."""
    scores = [score_record(r, a) for r, a in _with_sources(pairs)]
    total = sum(s.cited_total for s in scores)
    return sum(s.cited_matching for s in scores) / total if total else None


def abstention_accuracy(pairs: Sequence[Pair]) -> Value:
    """Fraction of unanswerable records where the assistant abstained."""
    return _mean([float(a.abstained) for r, a in pairs if not r.answerable])


def false_abstention(pairs: Sequence[Pair]) -> Value:
    """Fraction of answerable records where the assistant abstained (lower is better)."""
    return _mean([float(a.abstained) for r, a in pairs if r.answerable])


def pass_rate(pairs: Sequence[Pair]) -> Value:
    """Fraction of all records that pass (see `RecordScore`)."""
    return _mean([float(score_record(r, a).passed) for r, a in pairs])


def hit_at_k(pairs: Sequence[Pair], k: int) -> Value:
    """Fraction of answerable records (that expect sources) with a passage from one in the top k retrieved."""
    ranks = [score_record(r, a).first_relevant_rank for r, a in _with_sources(pairs)]
    return _mean([float(rank is not None and rank <= k) for rank in ranks])


def mrr(pairs: Sequence[Pair]) -> Value:
    """Mean of 1/rank of the first retrieved passage from an expected source (0 when none)."""
    ranks = [score_record(r, a).first_relevant_rank for r, a in _with_sources(pairs)]
    return _mean([1.0 / rank if rank else 0.0 for rank in ranks])


# -- distributions ----------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> Value:
    """Nearest-rank percentile (q in (0, 100]): the smallest value with at least q% at or below it.

    >>> percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), percentile([5], 95)
    (9, 5)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _median(values: Sequence[float]) -> Value:
    return statistics.median(values) if values else None


def length_stats(pairs: Sequence[Pair]) -> dict[str, Value]:
    """Answer length in characters (marks excluded) over the answers that did not abstain."""
    lengths = [answer_length(a) for _, a in pairs if not a.abstained]
    return {
        "length_median": _median(lengths),
        "length_p90": percentile(lengths, 90),
        "length_max": max(lengths) if lengths else None,
    }


def latency_stats(pairs: Sequence[Pair]) -> dict[str, Value]:
    """p50 (median), p95 (nearest rank) and max in ms of every timed stage, "total" included."""
    stages: dict[str, list[float]] = {}
    for _, answer in pairs:
        for stage, ms in answer.timings.items():
            if isinstance(ms, int | float):
                stages.setdefault(stage, []).append(float(ms))
    out: dict[str, Value] = {}
    for stage in sorted(stages, key=lambda s: (s != "total", s)):
        values = stages[stage]
        out[f"latency_{stage}_p50"] = _median(values)
        out[f"latency_{stage}_p95"] = percentile(values, 95)
        out[f"latency_{stage}_max"] = max(values)
    return out


# -- all together -----------------------------------------------------------------------
HIGHER_IS_BETTER = (
    "pass_rate",
    "fact_recall",
    "fact_recall_fr",
    "fact_recall_en",
    "all_facts",
    "citation_hit",
    "citation_precision",
    "abstention_accuracy",
    "mrr",
)
LOWER_IS_BETTER = ("false_abstention", "fact_recall_gap", "length_median", "length_p90", "length_max")
_HIT = re.compile(r"hit@([1-9]\d*)")
_LATENCY = re.compile(r"latency_[a-z0-9_]+_(p50|p95|max)")
DEFAULT_HIT_KS = (1, 3, 5)


def lower_is_better(name: str) -> bool:
    return name in LOWER_IS_BETTER or bool(_LATENCY.fullmatch(name))


def is_known_metric(name: str) -> bool:
    """Whether `name` is a metric `compute_metrics` can report (hit@N for any N, any latency stage)."""
    return name in HIGHER_IS_BETTER or name in LOWER_IS_BETTER or bool(_HIT.fullmatch(name) or _LATENCY.fullmatch(name))


def _by_lang(pairs: Sequence[Pair], lang: str) -> list[Pair]:
    return [(r, a) for r, a in pairs if r.lang == lang]


def compute_metrics(pairs: Sequence[Pair], hit_ks: Iterable[int] = DEFAULT_HIT_KS) -> dict[str, Value]:
    """Every metric, by name. `hit_ks`: the k of each hit@k to report (the run's k is usually added)."""
    fr, en = fact_recall(_by_lang(pairs, "fr")), fact_recall(_by_lang(pairs, "en"))
    metrics: dict[str, Value] = {
        "pass_rate": pass_rate(pairs),
        "fact_recall": fact_recall(pairs),
        "all_facts": all_facts(pairs),
        "fact_recall_fr": fr,
        "fact_recall_en": en,
        "fact_recall_gap": abs(fr - en) if fr is not None and en is not None else None,
        "citation_hit": citation_hit(pairs),
        "citation_precision": citation_precision(pairs),
        "abstention_accuracy": abstention_accuracy(pairs),
        "false_abstention": false_abstention(pairs),
    }
    for k in sorted(set(hit_ks)):
        metrics[f"hit@{k}"] = hit_at_k(pairs, k)
    metrics["mrr"] = mrr(pairs)
    metrics.update(length_stats(pairs))
    metrics.update(latency_stats(pairs))
    return metrics


_GROUP_METRICS: dict[str, Callable[[Sequence[Pair]], Value]] = {
    "pass_rate": pass_rate,
    "fact_recall": fact_recall,
    "all_facts": all_facts,
    "citation_hit": citation_hit,
    "abstention_accuracy": abstention_accuracy,
    "false_abstention": false_abstention,
    "mrr": mrr,
}


def group_metrics(pairs: Sequence[Pair], key: Callable[[Record], Iterable[str]]) -> dict[str, dict[str, Any]]:
    """The quality metrics (no latency) per group; `key` gives a record's groups (its tags, its language).

    >>> group_metrics([], key=lambda r: r.tags)
    {}
    """
    groups: dict[str, list[Pair]] = {}
    for record, answer in pairs:
        for name in key(record):
            groups.setdefault(name, []).append((record, answer))
    return {
        name: {"n": len(members), **{m: fn(members) for m, fn in _GROUP_METRICS.items()}}
        for name, members in sorted(groups.items())
    }


# -- thresholds -------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    """`metric` must be at least (`kind` "under": fail under) or at most ("over") `limit`."""

    metric: str
    kind: str  # "under" | "over"
    limit: float

    def check(self, metrics: dict[str, Value]) -> tuple[bool, str]:
        """(holds, one-line explanation)."""
        value = metrics.get(self.metric)
        sign = ">=" if self.kind == "under" else "<="
        if value is None:
            return False, f"{self.metric}: not measured in this run (needs {sign} {self.limit:g})"
        holds = value >= self.limit if self.kind == "under" else value <= self.limit
        gap = abs(value - self.limit)
        if holds:
            return True, f"{self.metric} = {value:.4g} (needs {sign} {self.limit:g})"
        word = "below" if self.kind == "under" else "above"
        return False, f"{self.metric} = {value:.4g}, {gap:.4g} {word} the threshold {self.limit:g}"


def check_thresholds(metrics: dict[str, Value], thresholds: Iterable[Threshold]) -> list[tuple[Threshold, bool, str]]:
    return [(t, *t.check(metrics)) for t in thresholds]
