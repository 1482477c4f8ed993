"""Regression trees fitted with LightGBM, stored as flat arrays and walked in numpy.

The reader's ranker (`assistant.ranker`) and the scheme-field models (`ingest.scheme_fields`) keep
their trees this way, so that answering and ingesting need no LightGBM: it is only a training
dependency (`make reader`, `make schemes-model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge.errors import ConfigError

__all__ = ["TreeEnsemble", "check_features"]


def check_features(features: tuple[str, ...], expected: tuple[str, ...], what: str, rebuild: str) -> None:
    """ConfigError when a stored model was fitted on other features than the code computes."""
    if tuple(features) != tuple(expected):
        missing = sorted(set(expected) - set(features))
        extra = sorted(set(features) - set(expected))
        raise ConfigError(
            f"{what} was fitted on other features (missing {missing}, extra {extra}); rebuild it with `{rebuild}`"
        )


@dataclass(frozen=True)
class TreeEnsemble:
    """Regression trees as flat arrays, summed: LightGBM's trees without LightGBM at run time.

    An internal node `i` sends a row left when `x[feature[i]] <= threshold[i]`; a child `c >= 0` is
    another internal node, `c < 0` the leaf `-c - 1`. `roots` holds each tree's first node (a
    negative one for a tree that is a single leaf). Every tree is walked at once, one level a step.
    """

    features: tuple[str, ...]
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    roots: np.ndarray

    def decision(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0 or not len(self.roots):
            return np.zeros(len(x))
        node = np.tile(self.roots, (len(x), 1))
        while (inner := node >= 0).any():
            rows, trees = np.nonzero(inner)
            at = node[rows, trees]
            node[rows, trees] = np.where(x[rows, self.feature[at]] <= self.threshold[at], self.left[at], self.right[at])
        return self.leaf[-node - 1].sum(axis=1)

    @classmethod
    def from_lightgbm(cls, dump: dict[str, Any], features: tuple[str, ...]) -> TreeEnsemble:
        """From `Booster.dump_model()` of a model of numerical splits fitted without missing values."""
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        leaf: list[float] = []
        roots: list[int] = []

        def walk(node: dict[str, Any]) -> int:
            if "leaf_value" in node:
                leaf.append(float(node["leaf_value"]))
                return -len(leaf)
            if node["decision_type"] != "<=" or node.get("missing_type") == "Zero":
                raise ValueError(f"unsupported split {node['decision_type']!r} (missing: {node.get('missing_type')})")
            i = len(feature)
            feature.append(int(node["split_feature"]))
            threshold.append(float(node["threshold"]))
            left.append(0)
            right.append(0)
            left[i] = walk(node["left_child"])
            right[i] = walk(node["right_child"])
            return i

        for tree in dump["tree_info"]:
            roots.append(walk(tree["tree_structure"]))
        return cls(
            features,
            np.asarray(feature, dtype=np.int64),
            np.asarray(threshold, dtype=np.float64),
            np.asarray(left, dtype=np.int64),
            np.asarray(right, dtype=np.int64),
            np.asarray(leaf, dtype=np.float64),
            np.asarray(roots, dtype=np.int64),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),  # exact: a rounded threshold would move rows across it
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "leaf": self.leaf.tolist(),
            "roots": self.roots.tolist(),
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], expected: tuple[str, ...], where: str, rebuild: str = "make reader"
    ) -> TreeEnsemble:
        """Checks that it was fitted on `expected` (ConfigError naming `where` and the `rebuild` command)."""
        check_features(tuple(data["features"]), expected, where, rebuild)
        ints = {k: np.asarray(data[k], dtype=np.int64) for k in ("feature", "left", "right", "roots")}
        return cls(
            expected, ints["feature"], np.asarray(data["threshold"], dtype=np.float64), ints["left"], ints["right"],
            np.asarray(data["leaf"], dtype=np.float64), ints["roots"],
        )
