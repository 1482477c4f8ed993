"""The reader's fitted model: a ranker over candidates, an abstainer over questions, and a
gate that decides whether the runner-up candidate is worth quoting too.

The ranker adds two scores: regression trees fitted with LightGBM's LambdaMART and a listwise
linear model; the abstainer and the gate are logistic regressions. One of the ranker's features
is itself learned: a reweighting of the embedding's dimensions (`Similarity`) that compares a
question with the candidates that answer such questions better than the plain cosine does. All are fitted over the
features of `assistant.features` by `make reader` (`evals/reader.py`) and stored as one JSON file
in the package (`assistant/reader.json`). Scoring is dot products and array lookups in numpy, so
loading and using it costs milliseconds and imports neither scikit-learn nor LightGBM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.features import CANDIDATE_FEATURES, GATE_FEATURES, QUESTION_FEATURES
from knowledge.errors import ConfigError
from knowledge.trees import TreeEnsemble, check_features

__all__ = ["MODEL_PATH", "BlendedRanker", "LinearModel", "ReaderModel", "Similarity", "TreeEnsemble"]

MODEL_PATH = Path(__file__).with_name("reader.json")


@dataclass(frozen=True)
class Similarity:
    """A learned weight per dimension of the embedding: `sum_d w_d q_d v_d` instead of the cosine's
    `sum_d q_d v_d`, fitted (listwise, pulled towards all ones) so that the candidates that answer
    the training questions come first. The embedding places a question next to passages on its
    topic; the weights favour the dimensions that also separate the sentence that answers."""

    weights: np.ndarray

    def score(self, question: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """The learned similarity of a question vector to each row of `vectors`."""
        if not len(vectors):
            return np.zeros(0)
        if len(question) != len(self.weights):
            # Embeddings of another model (an `--embedder` of other dimensions): its weights mean nothing
            # there, the cosine is the feature's neutral value. `make reader` refits for that model.
            return vectors @ question
        return vectors @ (self.weights * question)

    def to_dict(self) -> dict[str, Any]:
        return {"weights": [round(float(v), 6) for v in self.weights]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Similarity:
        return cls(np.asarray(data["weights"], dtype=np.float64))


@dataclass(frozen=True)
class LinearModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        """The model's logit for each row of `x`."""
        if x.size == 0:
            return np.zeros(len(x))
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, row: np.ndarray) -> float:
        """The model's probability for one row of features."""
        return float(1.0 / (1.0 + np.exp(-self.decision(row[None, :])[0])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "coef": [round(float(v), 8) for v in self.coef],
            "intercept": round(float(self.intercept), 8),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...], where: str) -> LinearModel:
        features = tuple(data["features"])
        _check_features(features, expected, where)
        return cls(
            features,
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class BlendedRanker:
    """The candidate ranker: the trees' score plus `weight` times the linear model's logit."""

    trees: TreeEnsemble
    linear: LinearModel
    weight: float

    @property
    def features(self) -> tuple[str, ...]:
        return self.linear.features

    def decision(self, x: np.ndarray) -> np.ndarray:
        return self.trees.decision(x) + self.weight * self.linear.decision(x)

    def to_dict(self) -> dict[str, Any]:
        return {"trees": self.trees.to_dict(), "linear": self.linear.to_dict(), "weight": self.weight}

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...], where: str) -> BlendedRanker:
        return cls(
            TreeEnsemble.from_dict(data["trees"], expected, where),
            LinearModel.from_dict(data["linear"], expected, where),
            float(data["weight"]),
        )


def _check_features(features: tuple[str, ...], expected: tuple[str, ...], where: str) -> None:
    check_features(features, expected, f"{where}: the reader model", "make reader")


@dataclass(frozen=True)
class ReaderModel:
    ranker: BlendedRanker  # candidate -> score of "holds an expected fact" (compared within a question)
    similarity: Similarity  # (question, candidate) vectors -> the ranker's dense_fit feature
    abstainer: LinearModel  # question -> logit of "the best candidate answers"
    threshold: float  # answer when the abstainer's probability is at least this
    gate: LinearModel  # (question, runner-up) -> logit of "the runner-up adds an expected fact"
    gate_threshold: float  # quote the runner-up when the gate's probability is at least this
    info: dict[str, Any]  # what it was trained on, and its cross-validated figures

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ReaderModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                BlendedRanker.from_dict(data["ranker"], CANDIDATE_FEATURES, str(path)),
                Similarity.from_dict(data["similarity"]),
                LinearModel.from_dict(data["abstainer"], QUESTION_FEATURES, str(path)),
                float(data["threshold"]),
                LinearModel.from_dict(data["gate"], GATE_FEATURES, str(path)),
                float(data["gate_threshold"]),
                dict(data.get("info", {})),
            )
        except FileNotFoundError:
            raise ConfigError(f"{path}: no reader model; build it with `make reader`") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: not a reader model ({exc}); rebuild it with `make reader`") from None

    def save(self, path: Path = MODEL_PATH) -> None:
        data = {
            "ranker": self.ranker.to_dict(),
            "similarity": self.similarity.to_dict(),
            "abstainer": self.abstainer.to_dict(),
            "threshold": round(self.threshold, 6),
            "gate": self.gate.to_dict(),
            "gate_threshold": round(self.gate_threshold, 6),
            "info": self.info,
        }
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
