"""Fixtures for the UI tests: one real tia server (uvicorn on 127.0.0.1, a free port)
over a copy of the ingested bundled corpus, shared by the whole session, and the
`tia` CLI run as a subprocess for comparisons.

Loaded with `pytest_plugins = ["ui_helpers"]` in the UI test modules, so the
session-scoped server is started once even when both modules run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str  # ends with "/"
    data_dir: Path
    assistant: Any


def run_tia(args: list[str], data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`tia ARGS` as a user runs it (a new process, TIA_DATA_DIR pointing at `data_dir`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    env["TIA_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        input=stdin,
        timeout=300,
    )


def cli_answer(question: str, data_dir: Path) -> dict[str, Any]:
    out = run_tia(["ask", "--json", question], data_dir)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def same_answer(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Same text, same abstention, and the same citations (number, document, exact span)."""
    assert got["text"] == expected["text"]
    assert got["abstained"] == expected["abstained"]

    def spans(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(c["n"], c["doc_id"], c["start"], c["end"], c["quote"]) for c in answer["citations"]]

    assert spans(got) == spans(expected)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory, corpus_data_dir: Path, e5: Any) -> Iterator[LiveServer]:
    """A real tia server (API + Gradio page) over its own copy of the ingested corpus."""
    import httpx
    import uvicorn

    from assistant.service import Assistant
    from knowledge.settings import Settings
    from ui.server import create_app

    data_dir = tmp_path_factory.mktemp("ui-server") / "data"
    shutil.copytree(corpus_data_dir, data_dir)
    assistant = Assistant(Settings(data_dir=data_dir), embedder=e5)
    assistant.warm_up()
    port = free_port()
    config = uvicorn.Config(create_app(assistant), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="tia-ui-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "api/status", timeout=2).status_code == 200 and httpx.get(url, timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert thread.is_alive() and time.monotonic() < deadline, "the tia server did not start"
        time.sleep(0.2)
    yield LiveServer(url=url, data_dir=data_dir, assistant=assistant)
    server.should_exit = True
    thread.join(timeout=15)
