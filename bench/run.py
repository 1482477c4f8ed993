"""Benchmarks: ingest time, warm answer latency per stage, cold `tia ask` start-up.

Run: `make bench` (or `.venv/bin/python bench/run.py`). Prints a markdown table to
paste into bench/README.md, with the machine it ran on.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Combien de territoires d'industrie compte le Grand Est ?",
    "Which CVL territories joined phase 2?",
    "Quels sont les quatre axes de la phase 2 ?",
    "How much will the Banque des Territoires invest each year?",
    "Combien de projets ont été recensés ?",
    "What is the capital of Australia?",
    "Quelles aides pour un industriel à Issoudun ?",
    "When was the second phase launched?",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    from assistant.service import Assistant
    from knowledge.settings import Settings

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t = time.perf_counter()
        assistant = Assistant(Settings(data_dir=data))
        report = assistant.ingest_bundled()
        rows.append(("ingest bundled corpus (5 docs, cold model)", f"{time.perf_counter() - t:.2f} s ({report.summary()})"))
        t = time.perf_counter()
        assistant.ingest_bundled()
        rows.append(("re-ingest unchanged corpus", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
        assistant.warm_up()
        stages: dict[str, list[float]] = {}
        for _ in range(5):
            for q in QUESTIONS:
                # Measure real work: forget memoised query vectors from the previous round.
                assistant.kb.embedder.__dict__.pop("_query_cache", None)
                answer = assistant.answer(q)
                for stage, ms in answer.timings.items():
                    stages.setdefault(stage, []).append(ms)
        for stage in ("query", "retrieve", "answer", "total"):
            v = stages.get(stage, [0.0])
            rows.append((f"warm answer: {stage} (p50 / p95 / max, {len(v)} runs)",
                         f"{statistics.median(v):.1f} / {pct(v, 0.95):.1f} / {max(v):.1f} ms"))
        env = dict(os.environ, TIA_DATA_DIR=str(data))
        times = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", QUESTIONS[0]],
                           env=env, capture_output=True, check=True, cwd=ROOT)
            times.append(time.perf_counter() - t)
        rows.append(("cold `tia ask` (new process, median of 3)", f"{statistics.median(times):.2f} s"))
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(json.dumps(dict(rows), ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()
