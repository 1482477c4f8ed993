"""The reader's fitted model: a ranker over candidates, an abstainer over questions, and a
gate that decides whether the runner-up candidate is worth quoting too.

All three are logistic regressions over standardised features (`assistant.features`), fitted by
`make reader` (`evals/reader.py`) and stored as one small JSON file in the package
(`assistant/reader.json`). Scoring is a dot product, so loading and using it costs
milliseconds and no scikit-learn import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.features import CANDIDATE_FEATURES, GATE_FEATURES, QUESTION_FEATURES
from knowledge.errors import ConfigError

__all__ = ["MODEL_PATH", "LinearModel", "ReaderModel"]

MODEL_PATH = Path(__file__).with_name("reader.json")


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
        if features != expected:
            missing = sorted(set(expected) - set(features))
            extra = sorted(set(features) - set(expected))
            raise ConfigError(
                f"{where}: the reader model was fitted on other features (missing {missing}, extra {extra});"
                " rebuild it with `make reader`"
            )
        return cls(
            features,
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class ReaderModel:
    ranker: LinearModel  # candidate -> logit of "holds an expected fact"
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
                LinearModel.from_dict(data["ranker"], CANDIDATE_FEATURES, str(path)),
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
            "abstainer": self.abstainer.to_dict(),
            "threshold": round(self.threshold, 6),
            "gate": self.gate.to_dict(),
            "gate_threshold": round(self.gate_threshold, 6),
            "info": self.info,
        }
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
