"""Fit the scheme-name model (`ingest/scheme_names.json`) on hand-labelled documents.

    python -m evals.scheme_model [--out ingest/scheme_names.json] [--no-cv]   (make schemes-model)

Training data: the documents of `TRAIN_SETS` with their labelled schemes (written blind
from the documents, evals/train/README.md). Every candidate of `ingest.scheme_names` is a
positive when it is one of its document's labelled names or aliases (folded, at most a
few characters longer or shorter), a negative otherwise. A logistic regression on the
standardised features; the threshold is the one with the best F1 of names out of fold
(leave one set out), and that table is stored in the model's `info`. The documents of
`evals/unseen/` are never read here: they judge the result (`python -m evals.schemes_eval`).
Deterministic: the same data gives the same file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from evals.schemes_eval import _same_name
from ingest.scheme_names import FEATURES, MODEL_PATH, NameModel, candidates, features, find_names
from knowledge.regions import fold

ROOT = Path(__file__).resolve().parent.parent
TRAIN_SETS = {
    "train": (ROOT / "evals" / "train" / "corpus", ROOT / "evals" / "train" / "schemes.jsonl"),
    "bundled": (ROOT / "knowledge" / "corpus", ROOT / "evals" / "train" / "schemes_bundled.jsonl"),
    "corpus2": (ROOT / "evals" / "train" / "corpus2", ROOT / "evals" / "train" / "schemes_corpus2.jsonl"),
    "corpus3": (ROOT / "evals" / "train" / "corpus3", ROOT / "evals" / "train" / "schemes_corpus3.jsonl"),
    "corpus4": (ROOT / "evals" / "train" / "corpus4", ROOT / "evals" / "train" / "schemes_corpus4.jsonl"),
    "corpus5": (ROOT / "evals" / "train" / "corpus5", ROOT / "evals" / "train" / "schemes_corpus5.jsonl"),
}
C = 0.5


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[«»\"“”’']", " ", fold(text)).split())


def is_name(candidate: str, names: list[str]) -> bool:
    c = _norm(candidate)
    for name in map(_norm, names):
        if c == name or (name in c and len(c) <= len(name) + 6) or (c in name and len(c) >= 0.8 * len(name)):
            return True
    return False


def load_set(corpus: Path, labels: Path) -> list[dict[str, Any]]:
    """The set's documents (text, title, labelled names) as ingest reads them."""
    from ingest.loaders import load_document

    labelled = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = []
    for path in sorted(corpus.glob("*.txt")):
        doc = load_document(path)
        mine = [lab for lab in labelled if lab["source"] in path.name]
        docs.append({"text": doc.text, "title": doc.metadata.title, "labels": mine, "name": path.name})
    return docs


def rows_of(docs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for d in docs:
        folded = fold(d["text"])
        names = [n for lab in d["labels"] for n in (lab["name"], *lab["aliases"])]
        for c in candidates(d["text"]):
            xs.append(features(c, d["text"], d["title"], folded))
            ys.append(1 if is_name(c.text(d["text"]), names) else 0)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=int)


def fit(x: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> NameModel:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    clf.fit((x - mean) / scale, y)
    return NameModel(mean, scale, clf.coef_[0], float(clf.intercept_[0]), threshold)


def name_scores(docs: list[dict[str, Any]], model: NameModel) -> tuple[int, int, int]:
    """(names found, of them right, labelled schemes found) with the eval's matching rule."""
    found = right = recalled = 0
    for d in docs:
        names = [c.text(d["text"]) for c, _ in find_names(d["text"], d["title"], model)]
        found += len(names)
        right += sum(1 for n in names if any(_same_name(n, [lab["name"], *lab["aliases"]]) for lab in d["labels"]))
        recalled += sum(1 for lab in d["labels"] if any(_same_name(n, [lab["name"], *lab["aliases"]]) for n in names))
    return found, right, recalled


def cross_validate(sets: dict[str, list[dict[str, Any]]]) -> tuple[float, list[dict[str, Any]]]:
    """Leave one set out; the threshold with the best pooled F1 of names, and the table at it."""
    grid = [round(t, 2) for t in np.arange(0.3, 0.96, 0.05)]
    folds = {}
    for held in sets:
        train = [d for name, docs in sets.items() if name != held for d in docs]
        x, y = rows_of(train)
        folds[held] = fit(x, y)
    best, best_f1 = 0.5, -1.0
    for t in grid:
        f = r = rc = n = 0
        for held, docs in sets.items():
            m = folds[held]
            a, b, c = name_scores(docs, NameModel(m.mean, m.scale, m.weights, m.bias, t))
            f, r, rc, n = f + a, r + b, rc + c, n + sum(len(d["labels"]) for d in docs)
        p, rec = (r / f if f else 0.0), (rc / n if n else 0.0)
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        if f1 > best_f1 + 1e-9:
            best, best_f1 = t, f1
    table = []
    for held, docs in sets.items():
        m = folds[held]
        a, b, c = name_scores(docs, NameModel(m.mean, m.scale, m.weights, m.bias, best))
        n = sum(len(d["labels"]) for d in docs)
        table.append({"held_out": held, "names": a, "precision": round(b / a, 3) if a else None, "recall": round(c / n, 3) if n else None})
    return best, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scheme_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--no-cv", action="store_true", help="keep the stored threshold; skip the table")
    args = parser.parse_args(argv)
    sets = {name: load_set(*paths) for name, paths in TRAIN_SETS.items()}
    threshold, table = (0.5, []) if args.no_cv else cross_validate(sets)
    x, y = rows_of([d for docs in sets.values() for d in docs])
    model = fit(x, y, threshold)
    payload = {
        "features": list(FEATURES),
        "mean": [round(v, 6) for v in model.mean.tolist()],
        "scale": [round(v, 6) for v in model.scale.tolist()],
        "weights": [round(v, 6) for v in model.weights.tolist()],
        "bias": round(model.bias, 6),
        "threshold": threshold,
        "info": {
            "training": {name: len(docs) for name, docs in sets.items()},
            "candidates": int(len(y)),
            "positives": int(y.sum()),
            "C": C,
            "leave_one_set_out": table,
        },
    }
    args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(payload["info"], ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
