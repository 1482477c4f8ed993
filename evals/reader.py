"""Fitting the extractive reader (`make reader`): labelled candidates from the datasets,
leave-one-set-out cross-validation, and the model file the assistant loads.

A candidate is labelled positive when it comes from an expected source and holds as many
of the record's expected facts as the best candidate of that record does (at least one).
The ranker over `assistant.features.CANDIDATE_FEATURES` adds LambdaMART trees (LightGBM) and a
listwise linear model (a softmax over each question's candidates), each record weighing the same;
one of its features, the learned similarity (`fit_similarity`), is fitted first and its columns are
filled out of fold by set (in the leave-one-set-out table, the left-out set did help fit the other
sets' columns, never its own: a small optimistic bias the held-out sets do not have);
the abstainer is a logistic regression over `QUESTION_FEATURES`, fitted on out-of-fold ranker
scores, labelled by whether the record is answerable. Its threshold is the highest that keeps
out-of-fold false abstention at most `MAX_FALSE_ABSTENTION`; the gate (quote the runner-up too)
is fitted the same way, its threshold giving the most out-of-fold fact recall within a median
quoted length. Everything is deterministic: same datasets, same corpus, same file.

    python -m evals.reader            # fit on TRAIN_SETS, cross-validate, write assistant/reader.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.extractive import QUOTE_LEN, ExtractiveAnswerer, Reading, list_lines
from assistant.features import (
    CANDIDATE_FEATURES,
    GATE_FEATURES,
    QUESTION_FEATURES,
    gate_features,
    question_features,
    set_fitted_similarity,
)
from assistant.ranker import MODEL_PATH, BlendedRanker, LinearModel, ReaderModel, Similarity, TreeEnsemble
from evals.dataset import Record, load_dataset
from evals.metrics import compute_metrics, fact_found, source_matches

HERE = Path(__file__).parent
# The sets the reader learns from, each with the corpus it asks about (None: the bundled corpus).
# heldout.jsonl, frozen*.jsonl and everything under evals/unseen/ to evals/unseen4/ never are.
TRAIN_SETS: dict[str, tuple[Path, Path | None]] = {
    **{n: (HERE / "datasets" / f"{n}.jsonl", None) for n in ("dev", "dev2", "dev3", "blind4", "blind5", "blind6", "blind7")},
    "oos": (HERE / "train" / "oos.jsonl", None),
    **{n: (HERE / "train" / f"{n}.jsonl", HERE / "train" / "corpus") for n in ("synth_a", "synth_b")},
    "synth_c": (HERE / "train" / "synth_c.jsonl", HERE / "train" / "corpus2"),
    "synth_d": (HERE / "train" / "synth_d.jsonl", HERE / "train" / "corpus3"),
    "synth_e": (HERE / "train" / "synth_e.jsonl", HERE / "train" / "corpus4"),
    "synth_f": (HERE / "train" / "synth_f.jsonl", HERE / "train" / "corpus5"),
    "synth_g": (HERE / "train" / "synth_g.jsonl", HERE / "train" / "corpus6"),
    "synth_h": (HERE / "train" / "synth_h.jsonl", HERE / "train" / "corpus7"),
    "synth_i": (HERE / "train" / "synth_i.jsonl", HERE / "train" / "corpus8"),
    "synth_j": (HERE / "train" / "synth_j.jsonl", HERE / "train" / "corpus9"),
    "synth_k": (HERE / "train" / "synth_k.jsonl", HERE / "train" / "corpus10"),
    # industrialists' questions (a town, a need, what support), on the bundled corpus and two synthetic ones
    "ind_bundled": (HERE / "train" / "ind_bundled.jsonl", None),
    "ind_corpus9": (HERE / "train" / "ind_corpus9.jsonl", HERE / "train" / "corpus9"),
    "ind_corpus10": (HERE / "train" / "ind_corpus10.jsonl", HERE / "train" / "corpus10"),
}
MAX_FALSE_ABSTENTION = 0.04
GATE_THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))
GATE_C = 0.3
RANKER_L2 = 0.003  # chosen by leave-one-set-out top-1 recall among 0.0001-0.01 (flat there)
# LambdaMART's settings (the better of two tried) and the linear model's weight in the blend (among
# 0.25-4), chosen by leave-one-set-out top-1 fact share over the 14 training sets (evals/README.md,
# "The reader"). Deterministic: fixed seed, column-wise histograms, two threads.
TREES = {"objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 50,
         "lambdarank_truncation_level": 10, "feature_fraction": 0.7, "seed": 0, "deterministic": True,
         "force_col_wise": True, "num_threads": 2, "verbose": -1}
TREE_ROUNDS = 200
LINEAR_WEIGHT = 0.5
SIMILARITY_L2 = 1e-3  # pulls the similarity's weights towards the cosine's (all ones); the one value tried
MAX_MEDIAN_QUOTE = 250  # characters quoted, median over answers: room for the frame within 300


@dataclass
class Example:
    record: Record
    set_name: str
    reading: Reading
    labels: np.ndarray  # 1 for the candidates that answer best
    found: np.ndarray  # per candidate, which fact groups it holds (n_candidates x n_groups)


def _standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and spread (1 for a constant column): the linear models see standardised features."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def _fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, names: tuple[str, ...], c: float) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardiser(x)
    model = LogisticRegression(C=c, max_iter=5000, solver="lbfgs")
    model.fit((x - mean) / scale, y, sample_weight=w * len(w) / w.sum())  # weights of mean 1: C as usual
    return LinearModel(names, mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def _label_text(reading: Reading, i: int) -> str:
    """What an answer quoting the candidate would show: a list item with its intro, a list as shortened."""
    c = reading.candidates[i]
    if c.kind == "list":
        return "\n".join([c.units[0].text, *list_lines(c.units[1:])])
    return "\n".join([c.lead.text, c.text]) if c.lead is not None else c.text


def build_examples(services: dict[str, Any], sets: dict[str, list[Record]]) -> list[Example]:
    """Labelled readings of every record, each asked of the service holding its set's corpus."""
    out = []
    for name, records in sets.items():
        print(f"reading {name} ({len(records)} records)", file=sys.stderr)
        service = services[name]
        answerer = service.extractive
        for record in records:
            history: list[dict[str, str]] = []
            for turn in record.turns[:-1]:
                history += [{"role": "user", "content": turn}, {"role": "assistant", "content": ""}]
            request, _, _ = service._prepare(record.turns[-1], history, None, None)
            reading = answerer.read(request)
            n = len(reading.candidates)
            groups = record.expected_facts if record.answerable else ()
            found = np.zeros((n, len(groups)), dtype=bool)
            ok = np.ones(n, dtype=bool)
            for i, c in enumerate(reading.candidates):
                text = _label_text(reading, i)
                found[i] = [fact_found(g, text) for g in groups]
                if record.expected_sources:
                    ok[i] = source_matches(record.expected_sources, c.doc.source, c.doc.doc_id)
            hits = found.sum(axis=1) * ok if groups else np.zeros(n)
            best = hits.max() if n else 0
            labels = ((hits == best) & (hits > 0)).astype(float) if best > 0 else np.zeros(n)
            out.append(Example(record, name, reading, labels, found))
    return out


def _informative(examples: list[Example]) -> list[Example]:
    """The questions a ranking can learn from: some candidates answer, not all."""
    return [e for e in examples if 0 < e.labels.sum() < len(e.labels)]


class _QuestionSoftmax:
    """The listwise loss the ranker and the similarity share: for each question, a softmax over its
    candidates' scores, whose target spreads evenly over the candidates that answer."""

    def __init__(self, kept: list[Example]) -> None:
        sizes = [len(e.labels) for e in kept]
        self.target = np.concatenate([e.labels / e.labels.sum() for e in kept])
        self.starts = np.cumsum([0, *sizes[:-1]])
        self.group = np.repeat(np.arange(len(kept)), sizes)
        self.n = len(kept)

    def loss(self, scores: np.ndarray) -> tuple[float, np.ndarray]:
        """The mean cross-entropy over questions, and its gradient with respect to each score."""
        s = scores - np.maximum.reduceat(scores, self.starts)[self.group]
        e = np.exp(s)
        p = e / np.add.reduceat(e, self.starts)[self.group]
        return -float(self.target @ np.log(p + 1e-12)) / self.n, (p - self.target) / self.n


def fit_ranker(examples: list[Example], l2: float = RANKER_L2) -> LinearModel:
    """A listwise ranker (a conditional logit): for each question, a softmax over its candidates'
    scores, fitted so that the candidates that answer get the probability; L2 on the standardised
    weights. It learns to put one answering candidate first, which is what the reader uses: a
    pointwise classifier over all candidates put it first for 0.59 of the facts in leave-one-set-out,
    against 0.63 for this, on the same features and sets. (A "no answer" option in the softmax, as
    SQuAD 2.0 readers have, made its scores comparable across questions but cost 0.03 of that.)"""
    from scipy.optimize import minimize

    kept = _informative(examples)
    x = np.vstack([e.reading.features for e in kept])
    mean, scale = _standardiser(x)
    x = (x - mean) / scale
    softmax = _QuestionSoftmax(kept)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = softmax.loss(x @ w)
        return value + l2 * float(w @ w), x.T @ grad + 2 * l2 * w

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x
    return LinearModel(CANDIDATE_FEATURES, mean, scale, w, 0.0)


def fit_similarity(examples: list[Example], l2: float = SIMILARITY_L2) -> Similarity:
    """The learned similarity (`assistant.ranker.Similarity`): for each question, a softmax over its
    candidates' `a * sum_d w_d q_d v_d`, fitted so that the answering candidates get the probability,
    with L2 pulling w towards ones (the plain cosine). Alone, it puts an answering candidate first for
    0.461 of the facts out of fold by set, against 0.381 for the cosine (16 training sets)."""
    from scipy.optimize import minimize

    kept = _informative(examples)
    products = np.vstack([e.reading.vectors * e.reading.question.vector[None, :] for e in kept])
    softmax = _QuestionSoftmax(kept)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, w = theta[0], theta[1:]
        sim = products @ w
        value, grad = softmax.loss(a * sim)
        grad_w = a * (products.T @ grad) + 2 * l2 * (w - 1)
        return value + l2 * float((w - 1) @ (w - 1)), np.concatenate([[float(grad @ sim)], grad_w])

    start = np.concatenate([[30.0], np.ones(products.shape[1])])  # a: cosines differ by hundredths
    theta = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    return Similarity(theta[1:])


def fill_similarity_out_of_fold(examples: list[Example]) -> None:
    """The similarity columns of each set's candidates, from a similarity fitted on the other sets:
    the ranker learns how far to trust it on questions it was not fitted on (stacking)."""
    for name in sorted({e.set_name for e in examples}):
        similarity = fit_similarity([e for e in examples if e.set_name != name])
        for e in examples:
            if e.set_name == name:
                set_fitted_similarity(e.reading.features, similarity.score(e.reading.question.vector, e.reading.vectors))


def fit_trees(examples: list[Example]) -> TreeEnsemble:
    """LambdaMART (LightGBM) over the same candidates and labels: trees catch what a sum of weights
    cannot (a feature that counts only when another holds). A training-time dependency only."""
    import lightgbm

    kept = _informative(examples)
    data = lightgbm.Dataset(
        np.vstack([e.reading.features for e in kept]),
        np.concatenate([(e.labels > 0).astype(int) for e in kept]),
        group=[len(e.labels) for e in kept],
    )
    booster = lightgbm.train(dict(TREES), data, num_boost_round=TREE_ROUNDS)
    return TreeEnsemble.from_lightgbm(booster.dump_model(), CANDIDATE_FEATURES)


def fit_blended(examples: list[Example]) -> BlendedRanker:
    return BlendedRanker(fit_trees(examples), fit_ranker(examples), LINEAR_WEIGHT)


def _question_row(e: Example, ranker: BlendedRanker) -> np.ndarray:
    scores = ranker.decision(e.reading.features)
    return question_features(e.reading.question, e.reading.features, scores)


Rankers = dict[frozenset[str], BlendedRanker]  # fitted rankers by the sets they learned from


def _ranker(examples: list[Example], fitted: Rankers) -> BlendedRanker:
    """The ranker fitted on these examples' sets, fitted once: the nested folds of cross-validation
    share most of theirs (fold A's "all but A and B" is fold B's "all but B and A")."""
    key = frozenset(e.set_name for e in examples)
    if key not in fitted:
        fitted[key] = fit_blended(examples)
    return fitted[key]


def out_of_fold(examples: list[Example], fitted: Rankers) -> dict[str, BlendedRanker]:
    """One ranker per set, fitted on the other sets."""
    names = sorted({e.set_name for e in examples})
    return {n: _ranker([e for e in examples if e.set_name != n], fitted) for n in names}


def _gate_rows(examples: list[Example], folds: dict[str, BlendedRanker], rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each answerable record with a runner-up: the gate's features, whether the runner-up adds an
    expected fact, the recall of the best alone and what the runner-up adds, the quotes' lengths, the set."""
    xs, ys, base, gain, len1, len2, groups = [], [], [], [], [], [], []
    for e, qrow in zip(examples, rows, strict=True):
        if not e.record.answerable or not e.found.shape[1]:
            continue
        scores = folds[e.set_name].decision(e.reading.features)
        reading = Reading(e.reading.question, e.reading.candidates, e.reading.features, scores, qrow, e.reading.vectors)
        order = reading.order()
        second = ExtractiveAnswerer.runner_up(reading, order) if order else None
        first = order[0] if order else None
        if second is None or e.reading.candidates[first].kind == "list" == e.reading.candidates[second].kind:
            continue
        alone, both = e.found[first].mean(), e.found[[first, second]].any(axis=0).mean()
        xs.append(gate_features(qrow, e.reading.features[second], scores[first], scores[second]))
        ys.append(float(both > alone))
        base.append(alone)
        gain.append(both - alone)
        len1.append(_shown_length(e.reading, first))
        len2.append(_shown_length(e.reading, second))
        groups.append(e.set_name)
    return (*(np.array(v, dtype=np.float64) for v in (xs, ys, base, gain, len1, len2)), np.array(groups))


def _shown_length(reading: Reading, i: int) -> int:
    """About how many characters quoting the candidate adds to an answer (long sentences are trimmed)."""
    c = reading.candidates[i]
    if c.kind == "sentence":
        return min(QUOTE_LEN, len(c.text))
    return len(_label_text(reading, i))


def _balanced(y: np.ndarray) -> np.ndarray:
    return np.where(y > 0, 1.0 / max(1, y.sum()), 1.0 / max(1, (1 - y).sum()))


def _oof_probabilities(x: np.ndarray, y: np.ndarray, groups: np.ndarray, names: tuple[str, ...], c: float) -> np.ndarray:
    p = np.zeros(len(y))
    for name in np.unique(groups):
        train = groups != name
        model = _fit_logistic(x[train], y[train], _balanced(y[train]), names, c)
        p[~train] = [model.probability(row) for row in x[~train]]
    return p


def fit(examples: list[Example], fitted: Rankers) -> ReaderModel:
    folds = out_of_fold(examples, fitted)
    groups = np.array([e.set_name for e in examples])
    rows = np.array([_question_row(e, folds[e.set_name]) for e in examples])
    y = np.array([float(e.record.answerable) for e in examples])
    # The abstainer's threshold: the highest that keeps out-of-fold false abstention within bounds.
    oof = _oof_probabilities(rows, y, groups, QUESTION_FEATURES, 1.0)
    answerable = y > 0
    threshold = 0.0
    for t in np.unique(np.round(oof, 4)):
        if (oof[answerable] < t).mean() <= MAX_FALSE_ABSTENTION:
            threshold = float(t)
    abstainer = _fit_logistic(rows, y, _balanced(y), QUESTION_FEATURES, 1.0)
    # The gate's threshold: the most fact recall whose median quoted length stays within bounds.
    gx, gy, base, gain, len1, len2, gate_groups = _gate_rows(examples, folds, rows)
    gate_oof = _oof_probabilities(gx, gy, gate_groups, GATE_FEATURES, GATE_C)
    gate_threshold, best = 1.0, float(base.mean())
    for t in GATE_THRESHOLDS:
        add = gate_oof >= t
        recall = float((base + gain * add).mean())
        if np.median(len1 + len2 * add) <= MAX_MEDIAN_QUOTE and recall > best + 1e-9:
            gate_threshold, best = t, recall
    gate = _fit_logistic(gx, gy, _balanced(gy), GATE_FEATURES, GATE_C)
    add = gate_oof >= gate_threshold
    info = {
        "trained_on": sorted(set(groups.tolist())),
        "records": len(examples),
        "candidates": int(sum(len(e.labels) for e in examples)),
        "positives": int(sum(e.labels.sum() for e in examples)),
        "oof_false_abstention": round(float((oof[answerable] < threshold).mean()), 4),
        "oof_abstention_accuracy": round(float((oof[~answerable] < threshold).mean()), 4) if (~answerable).any() else None,
        "oof_best_candidate_recall": round(float(base.mean()), 4),
        "oof_with_runner_up_recall": round(float((base + gain * add).mean()), 4),
        "oof_runner_up_share": round(float(add.mean()), 4),
    }
    similarity = fit_similarity(examples)
    return ReaderModel(_ranker(examples, fitted), similarity, abstainer, threshold, gate, gate_threshold, info)


def cross_validate(
    examples: list[Example], services: dict[str, Any], sets: dict[str, list[Record]], fitted: Rankers
) -> dict[str, dict[str, Any]]:
    """Leave-one-set-out: fit on every set but one, answer the one left out end to end."""
    from evals.runner import run_records

    table = {}
    for name in sorted(sets):
        print(f"cross-validating: fitting without {name}, then answering it", file=sys.stderr)
        service = services[name]
        service.extractive.model = fit([e for e in examples if e.set_name != name], fitted)
        runs = run_records(service, sets[name])
        table[name] = compute_metrics([(r.record, r.answer) for r in runs])
        service.extractive.model = None
    return table


def _services(tmp: Path, corpora: set[Path | None]) -> dict[Path | None, Any]:
    """One assistant per corpus, each over a fresh knowledge base in `tmp`."""
    from assistant.service import Assistant
    from knowledge.settings import load_settings

    out = {}
    for i, corpus in enumerate(sorted(corpora, key=str)):
        service = Assistant(load_settings(data_dir=tmp / f"data{i}"))
        report = service.ingest_bundled() if corpus is None else service.ingest([corpus])
        if not report.ok:
            raise SystemExit(f"could not ingest every file of {corpus}: {report.counts}")
        service.warm_up()
        out[corpus] = service
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.reader", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="*", default=list(TRAIN_SETS), help=f"among {', '.join(TRAIN_SETS)}")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--no-cv", action="store_true", help="skip the leave-one-set-out table")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sets) - set(TRAIN_SETS))
    if unknown:
        parser.error(f"unknown sets {unknown}; the training sets are {', '.join(TRAIN_SETS)}")
    chosen = {n: TRAIN_SETS[n] for n in args.sets}
    sets = {n: load_dataset(path) for n, (path, _) in chosen.items()}
    with tempfile.TemporaryDirectory() as tmp:
        by_corpus = _services(Path(tmp), {corpus for _, corpus in chosen.values()})
        services = {n: by_corpus[corpus] for n, (_, corpus) in chosen.items()}
        examples = build_examples(services, sets)
        fill_similarity_out_of_fold(examples)
        print(f"{len(examples)} records, {sum(len(e.labels) for e in examples)} candidates", file=sys.stderr)
        fitted: Rankers = {}
        model = fit(examples, fitted)
        cv = {} if args.no_cv else cross_validate(examples, services, sets, fitted)
    keys = ("fact_recall", "all_facts", "citation_hit", "abstention_accuracy", "false_abstention", "length_median")
    model.info["cv"] = {n: {k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items() if k in keys} for n, m in cv.items()}
    model.save(args.out)
    for name, metrics in model.info["cv"].items():
        print(name, " ".join(f"{k}={metrics.get(k)}" for k in keys))
    print(f"wrote {args.out} (abstain below {model.threshold:.3f}, runner-up from {model.gate_threshold})")
    print({k: v for k, v in model.info.items() if k.startswith("oof")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
