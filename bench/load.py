"""Load benchmark: 20 concurrent users against a freshly started `tia serve`.

Run: `.venv/bin/python bench/load.py [--rounds 3] [--concurrency 4]`. It ingests the bundled
corpus into a temporary data directory (`tia ingest --bundled`), starts `tia serve` on
127.0.0.1 (a free port), asks every conversation once alone (the single-user answers and
latencies), then runs `--rounds` rounds of the load: the 10 three-turn conversations of
tests/test_load.py, each held at the same time through the Gradio endpoint `/ask`
(gradio_client) and through `POST /api/ask` (httpx), 20 users in all. It prints a markdown
table for bench/README.md: latency per route and per turn kind (p50 / p95 / max), the
errors, the answers that differ from the single-user ones, and the throughput.

A latency is one call, from sending the question to having the answer; a gradio_client
user connects (fetches the page's config) before its first question, not counted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# The workload of tests/test_load.py, shared with it: the conversations, one user's connection.
sys.path.insert(0, str(ROOT / "tests"))
from ui_helpers import CALL_TIMEOUT, CONVERSATIONS, Asker, free_port  # noqa: E402

ROUTES = {"gradio": "Gradio `/ask`", "api": "`POST /api/ask`"}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def essentials(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "timings"}


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[tuple[str, str], list[float]] = {}  # (route, "first" | "follow-up") -> ms
        self.connect: list[float] = []
        self.errors: list[str] = []
        self.different: list[str] = []
        self.answers = 0

    def add(self, route: str, turn: int, ms: float) -> None:
        with self.lock:
            self.latency.setdefault((route, "first" if turn == 0 else "follow-up"), []).append(ms)
            self.answers += 1


def converse(url: str, route: str, index: int, expected: list[dict[str, Any]], results: Results, start: threading.Barrier) -> None:
    try:
        start.wait(timeout=CALL_TIMEOUT)
        t = time.perf_counter()
        asker = Asker(route, url)
        with results.lock:
            results.connect.append((time.perf_counter() - t) * 1000)
    except Exception as exc:  # noqa: BLE001 - counted, the others go on
        with results.lock:
            results.errors.append(f"{route} #{index} connect: {type(exc).__name__}: {exc}")
        return
    try:
        history: list[dict[str, str]] = []
        for turn, question in enumerate(CONVERSATIONS[index]):
            t = time.perf_counter()
            try:
                answer = asker.ask(question, history)
            except Exception as exc:  # noqa: BLE001
                with results.lock:
                    results.errors.append(f"{route} #{index} turn {turn}: {type(exc).__name__}: {exc}")
                return
            results.add(route, turn, (time.perf_counter() - t) * 1000)
            if essentials(answer) != essentials(expected[turn]):
                with results.lock:
                    results.different.append(f"{route} #{index} turn {turn}")
            history = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": answer["text"]}]
    finally:
        asker.close()


def single_user(url: str) -> tuple[list[list[dict[str, Any]]], dict[str, list[float]]]:
    """Every conversation alone, one after the other, through /api/ask."""
    asker = Asker("api", url)
    answers: list[list[dict[str, Any]]] = []
    latency: dict[str, list[float]] = {"first": [], "follow-up": []}
    try:
        for conversation in CONVERSATIONS:
            history: list[dict[str, str]] = []
            answers.append([])
            for turn, question in enumerate(conversation):
                t = time.perf_counter()
                answer = asker.ask(question, history)
                latency["first" if turn == 0 else "follow-up"].append((time.perf_counter() - t) * 1000)
                answers[-1].append(answer)
                history = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": answer["text"]}]
    finally:
        asker.close()
    return answers, latency


def start_server(data: Path, port: int, concurrency: int, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")} | {"TIA_DATA_DIR": str(data)}
    t = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port), "--concurrency", str(concurrency)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).status_code == 200:
                return proc, time.perf_counter() - t
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("tia serve did not start:\n" + log.read_text(errors="replace")[-2000:])
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 20-user load (default 3)")
    parser.add_argument("--concurrency", type=int, default=4, help="`tia serve --concurrency` (default 4, its default)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    tmp = Path(tempfile.mkdtemp(prefix="tia-load-"))
    data = tmp / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")} | {"TIA_DATA_DIR": str(data)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant", "ingest", "--bundled"], env=env, cwd=ROOT, check=True, capture_output=True)
    ingest_s = time.perf_counter() - t
    port = free_port()
    proc, startup_s = start_server(data, port, args.concurrency, tmp / "serve.log")
    url = f"http://127.0.0.1:{port}/"
    try:
        expected, alone = single_user(url)
        results = Results()
        wall = 0.0
        users = [(route, i) for i in range(len(CONVERSATIONS)) for route in ROUTES]
        for _ in range(args.rounds):
            start = threading.Barrier(len(users))
            t = time.perf_counter()
            with ThreadPoolExecutor(max_workers=len(users)) as pool:
                futures = [pool.submit(converse, url, route, i, expected[i], results, start) for route, i in users]
                for future in futures:
                    future.result(timeout=CALL_TIMEOUT * 4)
            wall += time.perf_counter() - t
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)

    import gradio
    import gradio_client

    asked = args.rounds * len(users) * 3
    python = Path(sys.executable)
    python_shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python.name
    print(f"Run on {datetime.date.today().isoformat()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, gradio {gradio.__version__}, gradio_client {gradio_client.__version__}; "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"Command: `{python_shown} bench/load.py --rounds {args.rounds} --concurrency {args.concurrency}` "
          f"({len(users)} users: {len(CONVERSATIONS)} conversations x {len(ROUTES)} routes, 3 turns each, "
          f"{args.rounds} rounds; `tia ingest --bundled` {ingest_s:.1f} s, `tia serve` ready in {startup_s:.1f} s)\n")
    print("| route | turns | answers | p50 | p95 | max |\n|---|---|---|---|---|---|")

    def row(route: str, kind: str, values: list[float]) -> None:
        if values:
            print(f"| {route} | {kind} | {len(values)} | {statistics.median(values):.0f} ms | {pct(values, 0.95):.0f} ms | {max(values):.0f} ms |")

    for key, name in ROUTES.items():
        for kind in ("first", "follow-up"):
            row(name, kind, results.latency.get((key, kind), []))
        row(name, "all", results.latency.get((key, "first"), []) + results.latency.get((key, "follow-up"), []))
    for kind in ("first", "follow-up"):
        row("`POST /api/ask`, one user alone", kind, alone[kind])
    row("gradio_client connect (not in the above)", "—", results.connect)
    print(f"\nErrors: {len(results.errors)} of {asked} questions. Answers different from the single-user ones: "
          f"{len(results.different)}. Throughput: {results.answers / wall:.1f} answers/s "
          f"({results.answers} answers in {wall:.1f} s of load, gradio_client connects included).")
    for line in results.errors[:20] + results.different[:20]:
        print(f"- {line}")


if __name__ == "__main__":
    main()
