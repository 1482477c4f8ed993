"""Benchmarks: ingest time, warm answer latency per stage, cold `tia ask` start-up against a
bare LangChain query script, `tia serve` to its first answer.

Run: `make bench` (or `.venv/bin/python bench/run.py`). Prints a markdown table to
paste into bench/README.md, with the machine it ran on.

The bare script is what a user would otherwise write: langchain-chroma over the same store
with the same e5 embedder, one `similarity_search`, printing the hits (it answers nothing).
It and `tia ask` are started alternately, three times each, so that both see the same load.
"""

from __future__ import annotations

import json
import os
import socket
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
    t = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - t


def _serve_to_first_answer(env: dict[str, str]) -> float:
    """Seconds from starting `tia serve` to its first answer through /api/ask."""
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
                reply = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": QUESTIONS[0]}, timeout=60)
                if reply.status_code == 200:
                    return time.perf_counter() - t
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
