"""evals.gates: the CI gate's thresholds derived from measured runs, and the Makefile they are written into."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.gates import main, makefile_with, thresholds

ROOT = Path(__file__).resolve().parents[1]


def report(*, answerable: int = 50, unanswerable: int = 10, **metrics: float | None) -> dict:
    base = {"fact_recall": 0.8, "all_facts": 0.7, "citation_hit": 0.9, "abstention_accuracy": 0.5,
            "false_abstention": 0.02, "length_median": 250, "length_max": 900}
    return {"counts": {"answerable": answerable, "unanswerable": unanswerable}, "metrics": base | metrics}


def test_a_gate_is_the_worse_run_less_two_records() -> None:
    gate = thresholds([report(fact_recall=0.8), report(fact_recall=0.76, false_abstention=0.04)])
    assert gate["fact_recall"] == 0.72  # 0.76 - 2/50, rounded down
    assert gate["all_facts"] == 0.66
    assert gate["abstention_accuracy"] == 0.3  # 0.5 - 2/10: abstention counts the unanswerable records
    assert gate["false_abstention"] == 0.08  # 0.04 + 2/50, rounded up


def test_lengths_are_held_to_the_targets_or_a_tenth_above_the_worst_run() -> None:
    assert thresholds([report()])["length_median"] == 300  # 250 is within the 300 target: held to it
    assert thresholds([report()])["length_max"] == 1200
    long = thresholds([report(length_median=400, length_max=1500), report(length_median=420, length_max=1400)])
    assert (long["length_median"], long["length_max"]) == (462, 1650)


def test_a_rate_never_goes_below_zero_and_a_rate_over_no_record_holds_nothing() -> None:
    gate = thresholds([report(unanswerable=0, abstention_accuracy=None, fact_recall=0.01)])
    assert gate["abstention_accuracy"] == 0.0 and gate["fact_recall"] == 0.0


MAKEFILE = """EVAL_GATE_DEV ?= --fail-under fact_recall=0.1
# a comment that stays
EVAL_GATE_HELDOUT ?= --fail-under fact_recall=0.2
"""


def test_the_makefile_gets_each_sets_line_replaced_and_keeps_the_rest() -> None:
    text = makefile_with(MAKEFILE, {"heldout": thresholds([report()])})
    assert text.splitlines()[:2] == MAKEFILE.splitlines()[:2]
    assert text.splitlines()[2] == (
        "EVAL_GATE_HELDOUT ?= --fail-under fact_recall=0.76 --fail-under all_facts=0.66 --fail-under "
        "citation_hit=0.86 --fail-under abstention_accuracy=0.3 --fail-over false_abstention=0.06 "
        "--fail-over length_median=300 --fail-over length_max=1200"
    )


def test_a_set_without_a_line_in_the_makefile_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match="EVAL_GATE_FROZEN42"):
        makefile_with(MAKEFILE, {"frozen42": thresholds([report()])})


def write_run(folder: Path, sets: dict[str, dict]) -> Path:
    for name, rep in sets.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "report.json").write_text(json.dumps(rep), encoding="utf-8")
    return folder


def test_the_command_writes_the_makefile_from_two_runs(tmp_path: Path) -> None:
    one = write_run(tmp_path / "1", {"dev": report(), "heldout": report(fact_recall=0.9)})
    two = write_run(tmp_path / "2", {"dev": report(fact_recall=0.6), "heldout": report()})
    makefile = tmp_path / "Makefile"
    makefile.write_text(MAKEFILE, encoding="utf-8")
    assert main([str(one), str(two), "--write", str(makefile)]) == 0
    lines = makefile.read_text(encoding="utf-8").splitlines()
    assert "fact_recall=0.56 " in lines[0] and "fact_recall=0.76 " in lines[2]


def test_runs_holding_different_sets_are_refused(tmp_path: Path) -> None:
    one = write_run(tmp_path / "1", {"dev": report(), "heldout": report()})
    two = write_run(tmp_path / "2", {"dev": report()})
    with pytest.raises(SystemExit, match="heldout"):
        main([str(one), str(two)])


def test_every_set_the_gate_runs_has_a_line_in_the_makefile() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = text[text.index("eval-gate: install"):text.index("gate-lines: install")]
    named = set(re.findall(r"run evals/\S+/(\w+)\.jsonl", recipe))
    for listing in ("BUNDLED_SETS", "UNSEEN_SETS"):
        named |= set(re.search(rf"^{listing} := (.*)$", text, re.MULTILINE).group(1).split())
    lines = set(re.findall(r"^EVAL_GATE_(\w+) \?=", text, re.MULTILINE))
    assert {n.upper() for n in named} == lines
