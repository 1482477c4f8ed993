"""The quality gate's thresholds, from measured runs: ``python -m evals.gates RUN_DIR [RUN_DIR ...]``.

Each RUN_DIR holds one ``<set>/report.json`` per gated set, as ``make eval-gate NO_GATE=1
EVAL_OUT=RUN_DIR`` writes them (every set on knowledge bases built anew; ``make gate-lines``
does two such runs and this). A set's gate is its worst figure over the runs (HNSW indexes
differ between builds, which moves a set by a record or two) less a margin of two records:

- rates over answerable records (fact recall, all facts, citations) fail under
  ``worst - 2 / answerable``, abstention accuracy under ``worst - 2 / unanswerable``, both
  rounded down to two decimals and never below 0;
- false abstention fails over ``worst + 2 / answerable``, rounded up;
- lengths fail over 1.1 x the worst, and never under 300 (median) / 1,200 (max) characters,
  the targets of issue 9, so a set already within them is held to them.

``--write Makefile`` replaces the ``EVAL_GATE_<SET> ?=`` lines in place (a set without one
is an error: add the set to the Makefile's lists first); without it the lines are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.metrics import lower_is_better

__all__ = ["MARGIN_RECORDS", "gate_options", "makefile_with", "thresholds"]

MARGIN_RECORDS = 2
LENGTH_FACTOR = 1.1
LENGTH_FLOORS = {"length_median": 300, "length_max": 1200}
_PER_ANSWERABLE = ("fact_recall", "all_facts", "citation_hit")
# The gated metrics, in the Makefile's order; whether each fails under or over is `lower_is_better`'s.
GATED = (*_PER_ANSWERABLE, "abstention_accuracy", "false_abstention", *LENGTH_FLOORS)


def _floor2(x: float) -> float:
    return max(0.0, math.floor(round(x * 100, 6)) / 100)


def _ceil2(x: float) -> float:
    return math.ceil(round(x * 100, 6)) / 100


def thresholds(reports: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The gate of one set from its reports (one per run): metric -> limit."""
    if not reports:
        raise ValueError("no report to derive a gate from")

    def worst_of(name: str) -> float:  # a rate over no record is None: nothing to hold
        values = [r["metrics"][name] for r in reports if r["metrics"].get(name) is not None] or [0.0]
        return max(values) if lower_is_better(name) else min(values)

    worst = {name: worst_of(name) for name in GATED}
    counts = reports[0]["counts"]
    answerable, unanswerable = max(1, counts["answerable"]), max(1, counts["unanswerable"])
    out = {name: _floor2(worst[name] - MARGIN_RECORDS / answerable) for name in _PER_ANSWERABLE}
    out["abstention_accuracy"] = _floor2(worst["abstention_accuracy"] - MARGIN_RECORDS / unanswerable)
    out["false_abstention"] = _ceil2(worst["false_abstention"] + MARGIN_RECORDS / answerable)
    for name, floor in LENGTH_FLOORS.items():
        out[name] = max(floor, math.ceil(round(LENGTH_FACTOR * worst[name], 6)))
    return out


def gate_options(limits: Mapping[str, float]) -> str:
    """The `tia eval` options of one gate, in the Makefile's order."""
    def option(name: str) -> str:
        value = int(limits[name]) if name in LENGTH_FLOORS else float(limits[name])
        return f"--fail-{'over' if lower_is_better(name) else 'under'} {name}={value}"

    return " ".join(option(name) for name in GATED)


def variable(name: str) -> str:
    return "EVAL_GATE_" + name.upper()


def makefile_with(text: str, gates: Mapping[str, Mapping[str, float]]) -> str:
    """The Makefile's text with each set's ``EVAL_GATE_<SET> ?=`` line replaced."""
    missing = []
    for name, limits in gates.items():
        pattern = re.compile(rf"^{variable(name)} \?=.*$", re.MULTILINE)
        if not pattern.search(text):
            missing.append(variable(name))
            continue
        text = pattern.sub(lambda _: f"{variable(name)} ?= {gate_options(limits)}", text)
    if missing:
        raise SystemExit(f"the Makefile has no line for {', '.join(missing)}; add the sets to its lists first")
    return text


def load_runs(run_dirs: Sequence[Path]) -> dict[str, list[dict[str, Any]]]:
    """set name -> its reports, one per run directory; every run must hold the same sets."""
    runs = []
    for d in run_dirs:
        found = {p.parent.name: p for p in sorted(d.glob("*/report.json"))}
        if not found:
            raise SystemExit(f"{d}: no <set>/report.json here (run `make eval-gate NO_GATE=1 EVAL_OUT={d}` first)")
        runs.append(found)
    names = set(runs[0])
    for d, found in zip(run_dirs[1:], runs[1:], strict=True):
        if set(found) != names:
            raise SystemExit(f"{d} holds other sets than {run_dirs[0]}: {sorted(set(found) ^ names)}")
    return {n: [json.loads(found[n].read_text(encoding="utf-8")) for found in runs] for n in sorted(names)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.gates", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument("--write", type=Path, metavar="MAKEFILE", help="replace the EVAL_GATE_* lines of this file")
    args = parser.parse_args(argv)
    gates = {name: thresholds(reports) for name, reports in load_runs(args.runs).items()}
    if args.write:
        args.write.write_text(makefile_with(args.write.read_text(encoding="utf-8"), gates), encoding="utf-8")
        print(f"wrote {len(gates)} gates into {args.write}", file=sys.stderr)
    else:
        for name, limits in gates.items():
            print(f"{variable(name)} ?= {gate_options(limits)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
