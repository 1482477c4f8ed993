"""Fixtures for the UI tests: one real tia server (uvicorn on 127.0.0.1, a free port)
over a copy of the ingested bundled corpus, shared by the whole session, and the
`tia` CLI run as a subprocess for comparisons. Also what the load test and its
benchmark (bench/load.py) share: the conversations and one user's connection.

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


CALL_TIMEOUT = 120.0  # seconds, for every call of a user (connect, answer, gradio job): a hang fails


@contextmanager
def serve_in_thread(app: Any, ready: Sequence[str] = ("api/status",), name: str = "tia-test-server") -> Iterator[str]:
    """uvicorn serving `app` on 127.0.0.1 (a free port) in a thread, until each `ready` path
    answers (below 500; 401 counts: the server is up); yields the base URL (ends with /)."""
    import httpx
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    waiting = list(ready)
    while waiting:
        try:
            if httpx.get(url + waiting[0], timeout=5).status_code < 500:
                waiting.pop(0)
                continue
        except httpx.HTTPError:
            pass
        assert thread.is_alive() and time.monotonic() < deadline, "the tia server did not start"
        time.sleep(0.2)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def served_copy(corpus_data_dir: Path, data_dir: Path, e5: Any, name: str) -> Iterator[LiveServer]:
    """A real tia server (API + Gradio page) over its own copy of the ingested corpus."""
    from assistant.service import Assistant
    from knowledge.settings import Settings
    from ui.server import create_app

    shutil.copytree(corpus_data_dir, data_dir)
    assistant = Assistant(Settings(data_dir=data_dir), embedder=e5)
    assistant.warm_up()
    with serve_in_thread(create_app(assistant), ready=("api/status", ""), name=name) as url:
        yield LiveServer(url=url, data_dir=data_dir, assistant=assistant)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory, corpus_data_dir: Path, e5: Any) -> Iterator[LiveServer]:
    """A real tia server (API + Gradio page) over its own copy of the ingested corpus."""
    with served_copy(corpus_data_dir, tmp_path_factory.mktemp("ui-server") / "data", e5, "tia-ui-server") as live:
        yield live


# -- the load test's workload (tests/test_load.py, bench/load.py) ------------------------------
# Three turns each; the later turns are follow-ups that only make sense with the history
# ("Et en Centre-Val de Loire ?"). Each conversation is held twice at the same time: once
# through /ask, once through /api/ask. Chosen so that the document tests/test_load.py ingests changes no
# answer's text or citations (checked by the test, sequentially, after the ingest): any new
# document moves the reader's scores (its term statistics cover every stored sentence) and can
# move the retrieved passages, and "Et par qui ?" after the launch question did change its
# answer (Business France, then the Premier ministre), so it is not asked.
CONVERSATIONS: tuple[tuple[str, str, str], ...] = (
    ("Combien de territoires d'industrie compte le Grand Est ?", "Et en Centre-Val de Loire ?", "Lesquels sont lauréats de la phase 2 ?"),
    ("Quand le programme Territoires d'industrie a-t-il été lancé ?", "Et combien de territoires compte-t-il ?", "Qui le pilote ?"),
    ("Parle-moi de l'aide aux territoires les plus fragiles.", "Combien sont concernés ?", "Et quelle ministre l'a annoncée ?"),
    ("Combien de projets avaient été recensés dans les territoires en septembre 2019 ?", "Et combien bénéficient déjà d'un engagement de l'État ?", "Pour quel montant ?"),
    ("Which CVL laureate includes Châteauroux?", "What did that territory set up during phase 1?", "And in phase 2?"),
    ("How much money had already been committed to the programme by September 2019?", "And how much of that came from the Banque des Territoires?", "How much will it invest each year?"),
    ("Quels sont les quatre axes de la phase 2 ?", "Et quand a-t-elle été lancée ?", "Qui l'a annoncée ?"),
    ("Qui représentait Régions de France à la première assemblée générale ?", "Et quelle commission co-préside-t-elle ?", "Où s'est tenue la deuxième assemblée générale ?"),
    ("Quelle région a signé un contrat pour chacun de ses territoires en septembre 2019 ?", "Et en Bretagne ?", "Combien de projets y ont été recensés ?"),
    ("Je dirige une usine à Issoudun : quelles aides pour un projet de décarbonation ?", "Et combien pour le Centre-Val de Loire ?", "What is the capital of Australia?"),
)  # fmt: skip
ROUTES = ("gradio", "api")


class Asker:
    """One user's connection: a gradio_client `Client` (its own session) or an httpx client."""

    def __init__(self, route: str, url: str) -> None:
        self.route = route
        if route == "gradio":
            from gradio_client import Client

            self._client: Any = Client(
                url, verbose=False, download_files=False, analytics_enabled=False, httpx_kwargs={"timeout": CALL_TIMEOUT}
            )
        else:
            import httpx

            self._client = httpx.Client(base_url=url, timeout=CALL_TIMEOUT)

    def ask(self, question: str, history: list[dict[str, str]]) -> dict[str, Any]:
        if self.route == "gradio":
            job = self._client.submit(question, history, api_name="/ask")
            return dict(job.result(timeout=CALL_TIMEOUT))
        response = self._client.post("api/ask", json={"question": question, "history": history})
        if response.status_code != 200:
            raise RuntimeError(f"/api/ask answered {response.status_code}: {response.text[:500]}")
        return dict(response.json())

    def close(self) -> None:
        self._client.close()
