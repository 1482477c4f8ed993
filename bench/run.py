"""Benchmarks: ingest time, warm answer latency per stage, cold `tia ask` start-up against a
bare LangChain query script, `tia serve` to its first answer.

Run: `make bench` (or `.venv/bin/python bench/run.py`). Prints a markdown table to
paste into bench/README.md, with the machine it ran on. `--data DIR` runs only the cold-start
rows (with each process's peak RSS) against an existing data directory, e.g. one kept by
`bench/scale.py --keep DIR` (`--data DIR/data`).

The bare script is what a user would otherwise write: langchain-chroma over the same store
with the same e5 embedder, one `similarity_search`, printing the hits (it answers nothing).
It and `tia ask` are started alternately, three times each, so that both see the same load.
"""

from __future__ import annotations

import json
import os
import platform
import socket
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


BARE_LANGCHAIN = """
import sys, chromadb
from chromadb.config import Settings
from langchain_chroma import Chroma
from knowledge.embeddings import E5SmallEmbeddings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
store = Chroma(client=client, collection_name="tia", embedding_function=E5SmallEmbeddings())
for doc in store.similarity_search(sys.argv[2], k=8):
    print(doc.metadata.get("source"), doc.page_content[:80])
"""


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    return _timed_rss(cmd, env)[0]


def _timed_rss(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds a command took, and its peak RSS in MiB."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024


def _serve_to_first_answer(env: dict[str, str]) -> float:
    return _serve_to_first_answer_rss(env)[0]


def _serve_to_first_answer_rss(env: dict[str, str]) -> tuple[float, float | None]:
    """Seconds from starting `tia serve` to its first answer through /api/ask, and its peak RSS then (MiB)."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": QUESTIONS[0]}, timeout=120)
                if reply.status_code == 200:
                    seconds = time.perf_counter() - t
                    try:
                        hwm = next(line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                                   if line.startswith("VmHWM:"))
                        return seconds, int(hwm.split()[1]) / 1024
                    except (OSError, StopIteration):
                        return seconds, None
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.perf_counter() - t > 300:
                raise RuntimeError("tia serve did not answer")
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def cold_rows(data: Path) -> list[tuple[str, str]]:
    """Cold `tia ask`, the bare LangChain script and `tia serve` against an existing data directory."""
    env = dict(os.environ, TIA_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    tia, bare = [], []
    for _ in range(3):
        tia.append(_timed_rss([sys.executable, "-m", "assistant", "ask", "--json", QUESTIONS[0]], env))
        bare.append(_timed_rss([sys.executable, "-c", BARE_LANGCHAIN, str(data / "chroma"), QUESTIONS[0]], env))
    t_tia, t_bare = statistics.median(t for t, _ in tia), statistics.median(t for t, _ in bare)
    serve, serve_mb = _serve_to_first_answer_rss(env)
    return [
        ("cold `tia ask` (new process, median of 3; peak RSS)", f"{t_tia:.2f} s; {max(m for _, m in tia):.0f} MiB"),
        ("cold bare LangChain query script (median of 3; peak RSS)",
         f"{t_bare:.2f} s; {max(m for _, m in bare):.0f} MiB; `tia ask` takes {t_tia / t_bare:.2f}x as long"),
        ("`tia serve` start to its first answer (/api/ask); its peak RSS then",
         f"{serve:.2f} s; {serve_mb:.0f} MiB" if serve_mb else f"{serve:.2f} s"),
    ]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--data":
        data = Path(sys.argv[2]).resolve()
        rows = cold_rows(data)
        print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; data {data}; "
              f"load avg at end {os.getloadavg()[0]:.1f}\n")
        print("| measure | result |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        return
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
        for stage in ("sync", "query", "retrieve", "answer", "total"):
            v = stages.get(stage, [0.0])
            rows.append((f"warm answer: {stage} (p50 / p95 / max, {len(v)} runs)",
                         f"{statistics.median(v):.1f} / {pct(v, 0.95):.1f} / {max(v):.1f} ms"))
        env = dict(os.environ, TIA_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
        tia, bare = [], []
        for _ in range(3):
            tia.append(_timed([sys.executable, "-m", "assistant", "ask", "--json", QUESTIONS[0]], env))
            bare.append(_timed([sys.executable, "-c", BARE_LANGCHAIN, str(data / "chroma"), QUESTIONS[0]], env))
        ratio = statistics.median(tia) / statistics.median(bare)
        rows.append(("cold `tia ask` (new process, median of 3)", f"{statistics.median(tia):.2f} s"))
        rows.append(("cold bare LangChain query script (same store and embedder, median of 3)",
                     f"{statistics.median(bare):.2f} s; `tia ask` takes {ratio:.2f}x as long"))
        rows.append(("`tia serve` start to its first answer (/api/ask)", f"{_serve_to_first_answer(env):.2f} s"))
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(json.dumps(dict(rows), ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()
