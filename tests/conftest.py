"""Shared fixtures. Expensive things (the embedding model, an ingested corpus, a
`chroma run` server) are built once per session; isolation is automatic: every test
gets its own TIA_DATA_DIR and no TIA_* variable leaks in from the environment."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "knowledge" / "corpus"

# Nothing in the tests may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("TIA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TIA_DATA_DIR", str(tmp_path / "tia-data"))


@pytest.fixture(scope="session")
def e5():
    """The real bundled multilingual-e5-small, loaded once."""
    from knowledge.embeddings import E5SmallEmbeddings

    emb = E5SmallEmbeddings()
    emb.embed_query("warm up")
    return emb


@pytest.fixture(scope="session")
def corpus_data_dir(tmp_path_factory: pytest.TempPathFactory, e5) -> Path:
    """A data dir with the bundled corpus ingested once (copy it before writing to it)."""
    from assistant.service import Assistant
    from knowledge.settings import Settings

    data_dir = tmp_path_factory.mktemp("corpus-data")
    assistant = Assistant(Settings(data_dir=data_dir), embedder=e5)
    report = assistant.ingest_bundled()
    assert report.ok and report.counts["added"] == 5, report.files
    assistant.warm_up()
    return data_dir


@pytest.fixture(scope="session")
def corpus_assistant(corpus_data_dir: Path, e5):
    """A read-only Assistant over the ingested bundled corpus (do not ingest or remove with it)."""
    from assistant.service import Assistant
    from knowledge.settings import Settings

    assistant = Assistant(Settings(data_dir=corpus_data_dir), embedder=e5)
    assistant.warm_up()
    return assistant


@pytest.fixture
def fresh_assistant(tmp_path: Path, e5):
    """An Assistant over an empty data dir of its own."""
    from assistant.service import Assistant
    from knowledge.settings import Settings

    return Assistant(Settings(data_dir=tmp_path / "data"), embedder=e5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server on 127.0.0.1, for the whole session; yields its URL."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the `chroma` command (from chromadb) is not installed"
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = open(path / "server.log", "w")  # noqa: SIM115 - closed below
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise RuntimeError("chroma run did not start:\n" + (path / "server.log").read_text()[-2000:])
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
