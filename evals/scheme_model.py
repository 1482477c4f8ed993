"""Fit the scheme-name model (`ingest/scheme_names.json`) and the scheme-field models
(`ingest/scheme_fields.json`) on hand-labelled documents.

    python -m evals.scheme_model [--out ingest/scheme_names.json] [--fields-out ingest/scheme_fields.json] [--no-cv]
    (make schemes-model)

Training data: the documents of `TRAIN_SETS` with their labelled schemes (written blind
from the documents, evals/train/README.md). Every candidate of `ingest.scheme_names` is a
positive when it is one of its document's labelled names or aliases (folded, at most a
few characters longer or shorter), a negative otherwise. A logistic regression on the
standardised features; the threshold is the one with the best F1 of names out of fold
(leave one set out), and that table is stored in the model's `info`. The documents of
`evals/unseen/` are never read here: they judge the result (`python -m evals.schemes_eval`).

The field models (`ingest.scheme_fields`) learn from the schemes the extractor finds in the same
documents that match a labelled one: each amount of the document is a positive for a scheme when it
is one of that scheme's labelled amounts, each sentence, item or table cell when it holds one of its
labelled eligibility spans. Boosted trees (LightGBM, settings in `FIELD_TREES`); each threshold is
the one with the best F1, out of fold, of the labelled spans found and the units shown that are right.
They read the schemes that the name model at `ingest/scheme_names.json` finds (the one just written
when `--out` is left as it is).

Deterministic: the same data gives the same files.
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
from ingest.scheme_fields import FIELDS_PATH
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


# -- the field models: what a scheme gives and who may apply ----------------------------------------

_PREFIX = re.compile(r"^(?:jusqu'a|plus de|pres de|environ|up to)\s+")


def _amount_key(text: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"\s+par an$", "", _PREFIX.sub("", fold(text).strip())))


def _stored(d: dict[str, Any]) -> Any:
    from knowledge.docstore import StoredDocument

    return StoredDocument(
        doc_id=d["name"], source=d["name"], title=d["title"], date=None, format="txt", language="fr", text=d["text"]
    )


def field_data(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per document: its segments, the anchors of the schemes the extractor finds, and for each anchor
    the labelled scheme it matches (None when it matches none: such anchors teach nothing)."""
    from ingest.schemes import scheme_anchors

    out = []
    for d in docs:
        segments, anchors = scheme_anchors(_stored(d))
        matched = [
            next((lab for lab in d["labels"] if _same_name(a.name, [lab["name"], *lab["aliases"]])), None) for a in anchors
        ]
        out.append({"doc": d, "segments": segments, "anchors": anchors, "labels": matched})
    return out


def field_rows(data: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Training rows of both field models: the candidates of anchors that match a labelled scheme. An amount
    is a positive when it is one of the scheme's labelled amounts; a sentence, item or cell when it holds one
    of its labelled eligibility spans (or lies inside one)."""
    from ingest.scheme_fields import amount_rows, who_rows

    rows: dict[str, tuple[list[list[float]], list[int]]] = {"amount": ([], []), "who": ([], [])}
    for item in data:
        text, segments, anchors, labels = item["doc"]["text"], item["segments"], item["anchors"], item["labels"]
        if not any(labels):
            continue
        for k, c, x in amount_rows(text, segments, anchors, item["doc"]["title"]):
            if labels[k] is not None:
                keys = {_amount_key(a) for a in labels[k]["amounts"]}
                rows["amount"][0].append(x)
                rows["amount"][1].append(int(_amount_key(c.text) in keys))
        for k, c, x in who_rows(text, segments, anchors, item["doc"]["title"]):
            if labels[k] is not None:
                unit = fold(c.text)
                spans = [fold(e) for e in labels[k]["eligibility"]]
                rows["who"][0].append(x)
                rows["who"][1].append(int(any(e and (e in unit or unit in e) for e in spans)))
    return {k: (np.asarray(x, dtype=float), np.asarray(y, dtype=int)) for k, (x, y) in rows.items()}


def _field_scores(data: list[dict[str, Any]], models: Any) -> dict[str, list[int]]:
    """For amounts and eligibility: [labelled spans, of them found, fields shown, of them with a right span
    (the eval's precision), units shown, of them right]."""
    from evals.schemes_eval import _found
    from ingest.scheme_fields import read_fields

    out = {"amount": [0] * 6, "who": [0] * 6}
    for item in data:
        fields = read_fields(item["doc"]["text"], item["segments"], item["anchors"], item["doc"]["title"], models)
        for lab, read in zip(item["labels"], fields, strict=True):
            if lab is None:
                continue
            for key, spans, units in (("amount", lab["amounts"], read.amounts), ("who", lab["eligibility"], read.who)):
                shown = "; ".join(units)
                t = out[key]
                t[0] += len(spans)
                t[1] += sum(1 for e in spans if _found(e, shown))
                t[2] += int(bool(shown))
                t[3] += int(bool(shown) and any(_found(e, shown) for e in spans))
                t[4] += len(units)
                t[5] += sum(1 for u in units if any(_found(e, u) for e in spans))
    return out


def _f1(t: list[int]) -> float:
    """Of the recall of the labelled spans and the precision of the units shown (stricter than the eval's)."""
    r, p = (t[1] / t[0] if t[0] else 0.0), (t[5] / t[4] if t[4] else 0.0)
    return 2 * p * r / (p + r) if p + r else 0.0


FIELD_TREES = {
    "objective": "binary", "num_leaves": 7, "learning_rate": 0.05, "min_data_in_leaf": 10, "feature_fraction": 0.8,
    "seed": 0, "deterministic": True, "force_row_wise": True, "num_threads": 1, "verbose": -1,
}
FIELD_ROUNDS = 200


def _fit_trees(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Any:
    import lightgbm

    from knowledge.trees import TreeEnsemble

    booster = lightgbm.train(dict(FIELD_TREES), lightgbm.Dataset(x, y, free_raw_data=False), num_boost_round=FIELD_ROUNDS)
    return TreeEnsemble.from_lightgbm(booster.dump_model(), names)


def fit_fields(data: list[dict[str, Any]], thresholds: dict[str, float] | None = None) -> Any:
    from ingest.scheme_fields import AMOUNT_FEATURES, WHO_FEATURES, FieldModel, FieldModels

    rows = field_rows(data)
    t = thresholds or {"amount": 0.5, "who": 0.5}
    return FieldModels(
        FieldModel(_fit_trees(*rows["amount"], AMOUNT_FEATURES), t["amount"]),
        FieldModel(_fit_trees(*rows["who"], WHO_FEATURES), t["who"]),
    )


def cross_validate_fields(sets: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Leave one set out; for each field the threshold with the best pooled F1 (recall of the labelled
    spans, precision of the units shown), and the table at those thresholds."""
    from ingest.scheme_fields import FieldModels

    data = {name: field_data(docs) for name, docs in sets.items()}
    folds = {held: fit_fields([x for n, d in data.items() if n != held for x in d]) for held in data}
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.05)]
    best: dict[str, float] = {}
    for key in ("amount", "who"):
        scored = []
        for t in grid:
            total = [0] * 6
            for held, m in folds.items():
                models = (
                    FieldModels(m.amount.with_threshold(t), m.who) if key == "amount"
                    else FieldModels(m.amount, m.who.with_threshold(t))
                )
                total = [a + b for a, b in zip(total, _field_scores(data[held], models)[key], strict=True)]
            scored.append((round(_f1(total), 6), -t, t))
        best[key] = max(scored)[2]
    table = []
    for held, m in folds.items():
        s = _field_scores(data[held], FieldModels(m.amount.with_threshold(best["amount"]), m.who.with_threshold(best["who"])))
        table.append({
            "held_out": held,
            **{f"{k}_{what}": (round(s[k][i] / s[k][j], 3) if s[k][j] else None)
               for k in ("amount", "who") for what, i, j in (("recall", 1, 0), ("precision", 3, 2), ("unit_precision", 5, 4))},
        })
    return best, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scheme_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--fields-out", type=Path, default=FIELDS_PATH)
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
    # The field models read the schemes that the shipped name model finds (the one just written, by default).
    from ingest import scheme_names

    scheme_names._model.cache_clear()
    thresholds, field_table = ({"amount": 0.5, "who": 0.5}, []) if args.no_cv else cross_validate_fields(sets)
    data = [x for docs in sets.values() for x in field_data(docs)]
    rows = field_rows(data)
    fields = fit_fields(data, thresholds)
    field_payload = {
        **fields.to_dict(),
        "info": {
            "training": {name: len(docs) for name, docs in sets.items()},
            "candidates": {k: int(len(y)) for k, (_, y) in rows.items()},
            "positives": {k: int(y.sum()) for k, (_, y) in rows.items()},
            "trees": {**FIELD_TREES, "rounds": FIELD_ROUNDS},
            "leave_one_set_out": field_table,
        },
    }
    args.fields_out.write_text(json.dumps(field_payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"thresholds": thresholds, **field_payload["info"]}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
