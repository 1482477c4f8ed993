"""The reader's features, all in one place: how well each candidate answers the question as
`assistant.question` read it (similarity, word overlap, answer type, agreement of region,
phase, year, count and rank, position, shape), and what the abstainer and the gate see.

No feature names a phrasing of any particular question: the question's answer type comes
from `assistant.query` (count, amount, date, place, person, list, definition...) and a few
general cues (duration, role, rank, deadline); a candidate's types from what its text holds
(figures, amounts, dates, names, places, lists). How much each feature counts is learned
(`assistant.ranker`, fitted by `make reader`).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from assistant.candidates import Candidate
from assistant.cues import (
    CONDITION,
    DAY_MONTH,
    DEADLINE,
    DEFINES,
    DURATION,
    FIGURE,
    HAS_DATE,
    HAS_MONEY,
    HAS_NUMBER,
    INLINE_LIST,
    NAMED_PLACE,
    ORDINAL_WORDS,
    PERSON_NAME,
    ROLE,
    SUPPORT,
    UNTIL,
    date_precision,
)
from assistant.question import WANTS, Question, stated_numbers
from assistant.reading import DocumentReader, bigrams
from assistant.spans import spans_of
from assistant.units import UnitIndex
from knowledge.lexical import FrenchAnalyzer, fold

__all__ = [
    "CANDIDATE_FEATURES",
    "GATE_FEATURES",
    "QUESTION_FEATURES",
    "Corpus",
    "candidate_features",
    "candidate_vectors",
    "gate_features",
    "question_features",
    "set_fitted_similarity",
]

# (what the question wants, what the candidate holds): each pair is one learned weight.
PAIRS = (
    ("number", "number"), ("number", "duration"), ("amount", "money"), ("amount", "number"),
    ("date", "date"), ("date", "precision"), ("precise_date", "day"), ("duration", "duration"),
    ("until", "until"), ("deadline", "deadline"), ("person", "person"), ("person", "role"),
    ("role", "role"), ("place", "place"), ("definition", "defines"), ("list", "is_list"),
    ("list", "inline_list"), ("list", "is_item"), ("scheme", "is_list"), ("scheme", "money"), ("scheme", "support"),
    ("rank", "ordinal"), ("fact", "number"), ("eligibility", "condition"),
)
HOLDS = ("number", "money", "date", "precision", "day", "duration", "until", "deadline", "person", "role",
         "place", "defines", "inline_list", "ordinal", "is_list", "is_item", "condition", "support")

CANDIDATE_FEATURES = (
    "dense", "dense_gap", "dense_rank", "dense_ctx", "dense_fit", "dense_fit_gap", "lex", "lex_gap", "lex_rank", "lex_ctx", "lex_focus",
    "lex_own", "lex_rest", "lex_rest_gap", "novel", "bm25", "bm25_rel", "span_near", "span_none", "miss_max", "names", "pairs", "rare_names",
    "in_chunk", "inv_rank", "inv_doc_rank", "log_len", "too_long", "is_heading", "is_title_like", "is_short",
    "log_items", "region_ok", "region_bad", "stage_ok", "stage_bad", "year_ok", "year_bad", "count_ok", "count_bad", "focus_in", "focus_intro", "focus_figure", "rank_ok",
    "rank_bad", *(f"holds_{h}" for h in HOLDS), *(f"{w}x{h}" for w, h in PAIRS),
)
QUESTION_FEATURES = (
    "top", "margin", "top_dense", "top_lex", "top_lex_ctx", "missing", "unknown_names", "unknown_stages",
    "type_held", "top_region_bad", "top_year_bad", "top_span_near", "top5_span_near", "top_miss_max", "max_lex", "max_dense",
    "n_terms", "no_terms", "english", *(f"wants_{w}" for w in WANTS),
)

# Whether to quote the runner-up too: the question, the runner-up, and how far behind it is.
GATE_FEATURES = (*QUESTION_FEATURES, *(f"second_{name}" for name in CANDIDATE_FEATURES), "second_score", "gap")


class Corpus:
    """Statistics of the stored units (document frequencies, vocabulary), rebuilt when documents change."""

    def __init__(self, index: UnitIndex, reader: DocumentReader, analyzer: FrenchAnalyzer) -> None:
        self.index, self.reader, self.analyzer = index, reader, analyzer
        self._version = -1  # the unit index's version the statistics were computed for
        self.df: Counter[str] = Counter()
        self.n_units = 0
        self.words: set[str] = set()
        self.folded: list[str] = []
        self.avg_len = 1.0
        # What does not depend on the question, per candidate (its key) and per unit: read once.
        self._holds: dict[tuple[str, int, int], dict[str, float]] = {}
        self._folded_units: dict[tuple[str, int], str] = {}

    def holds(self, c: Candidate) -> dict[str, float]:
        found = self._holds.get(c.key)
        if found is None:
            found = self._holds[c.key] = _holds(c)
        return found

    def folded_text(self, c: Candidate) -> str:
        """The candidate with its context and its document's title, folded (names are looked up in it)."""
        parts = []
        for u in [*c.context, *c.units]:
            key = (u.doc_id, u.index)
            if key not in self._folded_units:
                self._folded_units[key] = fold(u.text)
            parts.append(self._folded_units[key])
        title_key = (c.doc.doc_id, -1)
        if title_key not in self._folded_units:
            self._folded_units[title_key] = fold(c.doc.title)
        parts.append(self._folded_units[title_key])
        return " ".join(parts)

    def refresh(self) -> None:
        version = self.index.version
        if version == self._version:
            return
        docs = self.index.all()
        df: Counter[str] = Counter()
        n = length = 0
        for _, units, _ in docs:
            for u in units:
                tokens = self.reader.tokens(u)
                df.update(set(tokens))
                n += 1
                length += len(tokens)
        folded = [fold(doc.text) for doc, _, _ in docs]
        words = {w for text in folded for w in re.findall(r"[^\W\d_]+", text)}
        self._holds.clear()
        self._folded_units.clear()
        # every statistic first, the version last: a thread that sees the new version sees the new statistics
        self.df, self.n_units, self.avg_len, self.folded, self.words = df, n, (length / n if n else 1.0), folded, words
        self._version = version

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n_units + 1) / (self.df.get(term, 0) + 0.5))


def _holds(c: Candidate) -> dict[str, float]:
    """What a candidate holds, whatever the question: figures, amounts, dates, names, places, a list."""
    text = c.text
    early = DEFINES.search(text)
    return {
        "number": float(bool(HAS_NUMBER.search(text))),
        "money": float(bool(HAS_MONEY.search(text))),
        "date": float(bool(HAS_DATE.search(text))),
        "precision": date_precision(text) / 0.12,
        "day": float(bool(DAY_MONTH.search(text))),
        "duration": float(bool(DURATION.search(text))),
        "until": float(bool(UNTIL.search(text))),
        "deadline": float(bool(DEADLINE.search(text))),
        "person": float(bool(PERSON_NAME.search(text))),
        "role": float(bool(ROLE.search(text))),
        "place": float(bool(NAMED_PLACE.search(text))),
        "defines": (1.0 if early.start() < 40 else 0.5) if early else 0.0,
        "inline_list": float(bool(INLINE_LIST.search(text))),
        "ordinal": float(bool(ORDINAL_WORDS.search(text))),
        "is_list": float(c.kind == "list"),
        "is_item": float(c.kind == "item"),
        "condition": float(bool(CONDITION.search(text))),
        "support": float(bool(SUPPORT.search(text))),
    }


def candidate_vectors(candidates: list[Candidate], corpus: Corpus) -> np.ndarray:
    """One embedding per candidate: its unit's, or the mean of a list's units'."""
    rows = []
    for c in candidates:
        if c.kind == "list":
            _, _, vectors = corpus.index.document(c.doc.doc_id)
            rows.append(np.mean([vectors[u.index] for u in c.units], axis=0))
        else:
            rows.append(c.vector)
    return np.asarray(rows, dtype=np.float64) if rows else np.zeros((0, 0))


def set_fitted_similarity(features: np.ndarray, fitted: np.ndarray) -> None:
    """Fill the learned similarity's columns (`dense_fit`, and its gap to the question's best) in place:
    `candidate_features` leaves them at zero, since their weights belong to the fitted model."""
    if not len(fitted):
        return
    col = CANDIDATE_FEATURES.index("dense_fit")
    features[:, col] = fitted
    features[:, col + 1] = fitted - fitted.max()


def candidate_features(q: Question, candidates: list[Candidate], corpus: Corpus, vectors: np.ndarray) -> np.ndarray:
    """One row of CANDIDATE_FEATURES per candidate (`vectors`: from `candidate_vectors`)."""
    reader = corpus.reader
    rows: list[dict[str, float]] = []
    dots = vectors @ q.vector if len(candidates) else np.zeros(0)
    for c, dense in zip(candidates, dots.tolist(), strict=True):
        _, _, unit_vectors = corpus.index.document(c.doc.doc_id)
        dense_ctx = max((float(unit_vectors[u.index] @ q.vector) for u in c.context), default=dense)
        tokens: set[str] = set()
        counts: Counter[str] = Counter()
        for u in c.units:
            tokens |= set(reader.tokens(u))
            counts.update(reader.tokens(u))
        subject = reader.subject(c.doc)
        have = tokens | subject.terms
        ctx = set(have)
        for u in c.context:
            ctx |= set(reader.tokens(u))
        lex = q.coverage(corpus, q.terms, have)
        lex_ctx = q.coverage(corpus, q.terms, ctx)
        lex_focus = q.coverage(corpus, q.focus_terms, ctx) if q.focus_terms else lex_ctx
        # The question's words that its document's subject (title) does not already give: those tell
        # the sentence that answers from the ones that only name what the document is about.
        rest = [t for t in q.terms if t not in subject.terms]
        lex_rest = q.coverage(corpus, rest, ctx) if rest else 0.0
        unit_pairs: set[tuple[str, str]] = set(subject.pairs)
        for u in [*c.context, *c.units]:
            unit_pairs |= bigrams(reader.tokens(u))
        text = c.text
        ctx_text = corpus.folded_text(c)
        holds = corpus.holds(c)
        size = sum(counts.values())
        bm25 = sum(
            corpus.idf(t) * counts[t] * 2.2 / (counts[t] + 1.2 * (0.25 + 0.75 * size / corpus.avg_len))
            for t in q.terms if t in counts
        )
        near = [q.coverage(corpus, q.terms, set(corpus.analyzer(text[max(0, a - 80) : b + 80])))
                for a, b in spans_of(q.kind, q.wants, text)[:8]]
        named = set(subject.regions) | {r for u in c.units for r in reader.regions(u)}
        stages = reader.stages(c.unit)
        ranks = reader.ordinal_agreement(q.ordinals, c.unit) if q.ordinals else set()
        if q.counts:
            said = {len(c.units) - 1} if c.kind == "list" else stated_numbers(text)
            if c.kind == "item" and c.context:
                said |= stated_numbers(c.context[0].text)
            count_ok, count_bad = bool(said & q.counts), bool(said) and not said & q.counts
        else:
            count_ok = count_bad = False
        focus_in = focus_intro = focus_figure = False
        if q.focus:
            focus_in = q.focus in tokens
            intro = c.units[0] if c.kind == "list" else c.context[0] if c.kind == "item" and c.context else None
            focus_intro = intro is not None and q.focus in reader.tokens(intro)
            focus_figure = any(reader.stem(m.group(3)) == q.focus for m in FIGURE.finditer(text))
        year_in = bool(q.years) and ((c.doc.date or "")[:4] in q.years or any(y in text for y in q.years))
        f = {
            "dense": dense, "dense_ctx": dense_ctx, "dense_fit": 0.0, "dense_fit_gap": 0.0, "lex": lex, "lex_ctx": lex_ctx, "lex_focus": lex_focus,
            "lex_own": q.coverage(corpus, q.terms, tokens), "lex_rest": lex_rest,
            "novel": len(tokens - set(q.terms)) / len(tokens) if tokens else 0.0,
            "names": sum(n in ctx_text for n in q.names) / len(q.names) if q.names else 0.0,
            "miss_max": max((corpus.idf(t) for t in q.terms if t not in ctx), default=0.0) / q.top_idf,
            "bm25": bm25, "span_near": max(near, default=0.0), "span_none": float(q.typed and not near),
            "pairs": len(q.pairs & unit_pairs) / len(q.pairs) if q.pairs else 0.0,
            "rare_names": min(2, len(q.rare & ctx)),
            "in_chunk": float(bool(c.passage.chunk_id)),
            "inv_rank": 1.0 / c.passage.rank if c.passage.rank else 0.0,
            "inv_doc_rank": 1.0 / c.doc_rank,
            "log_len": math.log(1 + len(text)),
            "too_long": max(0.0, len(text) / 350 - 1),
            "is_heading": float(c.unit.kind == "heading"),
            "is_title_like": float(c.kind != "list" and reader.is_title_like(c.unit, c.doc)),
            "is_short": float(c.kind == "sentence" and len(tokens) <= 3),
            "log_items": math.log(len(c.units)),
            "region_ok": float(bool(q.regions) and any(r in named for r in q.regions)),
            "region_bad": float(bool(q.regions) and bool(named) and not any(r in named for r in q.regions)),
            "stage_ok": float(bool(q.stages & stages)),
            "stage_bad": float(bool(q.stages) and bool(stages) and not q.stages & stages),
            "year_ok": float(year_in),
            "year_bad": float(bool(q.years) and not year_in),
            "count_ok": float(count_ok),
            "count_bad": float(count_bad),
            "focus_in": float(focus_in),
            "focus_intro": float(focus_intro),
            "focus_figure": float(focus_figure),
            "rank_ok": float(True in ranks),
            "rank_bad": float(False in ranks and True not in ranks),
        }
        f.update({f"holds_{h}": holds[h] for h in HOLDS})
        f.update({f"{w}x{h}": holds[h] * q.wants[w] for w, h in PAIRS})
        rows.append(f)
    if not rows:
        return np.zeros((0, len(CANDIDATE_FEATURES)))
    top_dense = max(r["dense"] for r in rows)
    top_lex = max(r["lex_ctx"] for r in rows)
    top_bm25 = max(r["bm25"] for r in rows) or 1.0
    top_rest = max(r["lex_rest"] for r in rows)
    dense_rank = np.argsort(np.argsort([-r["dense"] for r in rows], kind="stable"), kind="stable")
    lex_rank = np.argsort(np.argsort([-r["lex_ctx"] for r in rows], kind="stable"), kind="stable")
    for i, r in enumerate(rows):
        r["dense_gap"] = r["dense"] - top_dense
        r["lex_gap"] = r["lex_ctx"] - top_lex
        r["bm25_rel"] = r["bm25"] / top_bm25
        r["lex_rest_gap"] = r["lex_rest"] - top_rest
        r["dense_rank"] = 1.0 / (1 + dense_rank[i])
        r["lex_rank"] = 1.0 / (1 + lex_rank[i])
    return np.array([[r[name] for name in CANDIDATE_FEATURES] for r in rows], dtype=np.float64)


def question_features(q: Question, features: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """One row of QUESTION_FEATURES: how well the best candidate answers, and what the question asks."""
    order = np.argsort(-scores) if len(scores) else np.array([], dtype=int)
    col = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}
    f = dict.fromkeys(QUESTION_FEATURES, 0.0)
    if len(order):
        best = features[order[0]]
        f["top"] = float(scores[order[0]])
        f["margin"] = float(scores[order[0]] - scores[order[1]]) if len(order) > 1 else 1.0
        f["top_dense"], f["top_lex"], f["top_lex_ctx"] = best[col["dense"]], best[col["lex"]], best[col["lex_ctx"]]
        f["type_held"] = float(sum(best[col[f"{w}x{h}"]] for w, h in PAIRS) > 0)
        f["top_region_bad"] = best[col["region_bad"]]
        f["top_year_bad"] = best[col["year_bad"]]
        f["top_span_near"] = best[col["span_near"]]
        f["top5_span_near"] = float(features[order[:5], col["span_near"]].max())
        f["top_miss_max"] = best[col["miss_max"]]
        f["max_lex"] = float(features[:, col["lex_ctx"]].max())
        f["max_dense"] = float(features[:, col["dense"]].max())
    f["missing"] = q.missing
    f["unknown_names"] = float(q.unknown_names)
    f["unknown_stages"] = float(q.unknown_stages)
    f["n_terms"] = math.log(1 + len(q.terms))
    f["no_terms"] = float(not q.terms)  # no word of the question is in any document
    f["english"] = float(q.english)
    f.update({f"wants_{w}": float(q.wants[w]) for w in WANTS})
    return np.array([f[name] for name in QUESTION_FEATURES], dtype=np.float64)


def gate_features(question_row: np.ndarray, second: np.ndarray, best_score: float, second_score: float) -> np.ndarray:
    """One row of GATE_FEATURES."""
    return np.concatenate([question_row, second, [second_score, best_score - second_score]])
