"""One knowledge base, several processes: the single-writer lock, schema versions, and
two tia processes sharing one `chroma run` server (issues 10 and 11).

Everything is real: the processes are `tia` commands started by the test, the server is
`chroma run`, the model is the bundled e5.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from assistant.service import Assistant
from knowledge.base import KnowledgeBase
from knowledge.errors import SchemaError, StoreLockedError
from knowledge.settings import Settings
from knowledge.store import SCHEMA_VERSION
from knowledge.writelock import WriteLock
from tests.conftest import ROOT, free_port

NOTE = (
    "Note sur la pépinière d'entreprises de Mauléon\n\n"
    "La pépinière d'entreprises de Mauléon accueille 14 jeunes entreprises industrielles depuis 2024. "
    "Elle est financée à hauteur de 2,3 millions d'euros par la communauté d'agglomération du Bocage.\n"
)
QUESTION = "Combien de jeunes entreprises accueille la pépinière d'entreprises de Mauléon ?"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    env["TIA_DATA_DIR"] = str(data_dir)
    return env | extra


def _tia(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )


# -- one writer at a time -------------------------------------------------------------------
def test_one_lock_per_data_directory_in_a_process_reentrant(tmp_path: Path) -> None:
    a = KnowledgeBase(Settings(data_dir=tmp_path / "d"))
    b = KnowledgeBase(Settings(data_dir=tmp_path / "d"))
    assert a.write_lock is b.write_lock  # two views of one directory don't lock each other out
    with a.write_lock, b.write_lock:
        assert a.write_lock.holder()["pid"] == os.getpid()
    assert a.write_lock.holder() is None  # released: the holder file goes with it


@pytest.mark.slow
def test_a_second_writer_is_refused_with_the_holder_named_and_nothing_changes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    first = _tia(["ingest", str(ROOT / "knowledge" / "corpus" / "000_1b396a36e8a233e6.txt")], _env(data))
    assert first.returncode == 0, first.stderr
    before = sorted(KnowledgeBase(Settings(data_dir=data)).store.ids())

    # Another process holds the lock (as a long ingest would) ...
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from knowledge.writelock import WriteLock
            lock = WriteLock({str(data / "write.lock")!r})
            lock.acquire()
            print("held", flush=True)
            time.sleep(600)
        """)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = _tia(["ingest", str(note)], _env(data))
        assert refused.returncode != 0
        message = refused.stderr
        assert "being written by process" in message and str(holder.pid) in message, message
        assert "one writer at a time" in message and "write.lock" in message
        assert "Traceback" not in message
        assert sorted(KnowledgeBase(Settings(data_dir=data)).store.ids()) == before
        # ... and a writer in this process is refused too, after its wait
        with pytest.raises(StoreLockedError, match=str(holder.pid)):
            WriteLock(data / "write.lock", wait_s=0.2).acquire(wait_s=0.2)
    finally:
        holder.send_signal(signal.SIGKILL)  # a writer that dies, even by SIGKILL, releases the lock
        holder.wait(timeout=30)
    again = _tia(["ingest", str(note)], _env(data))
    assert again.returncode == 0, again.stderr
    assert "1 added" in again.stdout + again.stderr


# -- schema versions ---------------------------------------------------------------------------
def _collection(data: Path) -> chromadb.Collection:
    client = chromadb.PersistentClient(path=str(data / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_collection("tia", embedding_function=None)


@pytest.mark.slow
def test_a_store_of_the_older_schema_is_migrated_in_place(tmp_path: Path, e5) -> None:
    data = tmp_path / "data"
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    assert Assistant(Settings(data_dir=data), embedder=e5).ingest([note]).ok
    collection = _collection(data)
    ids = sorted(collection.get(include=[])["ids"])
    # What tia wrote before the change counter existed (schema 1).
    old = {k: v for k, v in collection.metadata.items() if k != "tia_generation"} | {"tia_schema": 1}
    collection.modify(metadata=old)
    del collection

    reopened = Assistant(Settings(data_dir=data), embedder=e5)
    answer = reopened.answer(QUESTION)
    assert "14" in answer.text and answer.citations
    metadata = _collection(data).metadata
    assert metadata["tia_schema"] == SCHEMA_VERSION == 2 and metadata["tia_generation"] == 0
    assert {k: metadata[k] for k in old if k != "tia_schema"} == {k: v for k, v in old.items() if k != "tia_schema"}
    assert sorted(reopened.kb.store.ids()) == ids  # the data is untouched


@pytest.mark.slow
@pytest.mark.parametrize(
    ("schema", "expected"),
    [(99, "written by a newer tia \\(schema 99"), (None, "no storage schema tia can migrate")],
    ids=["newer", "unversioned"],
)
def test_a_store_tia_cannot_read_is_refused_with_what_to_do(tmp_path: Path, e5, schema, expected) -> None:
    data = tmp_path / "data"
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    assert Assistant(Settings(data_dir=data), embedder=e5).ingest([note]).ok
    collection = _collection(data)
    metadata = {k: v for k, v in collection.metadata.items() if k != "tia_schema"}
    if schema is not None:
        metadata["tia_schema"] = schema
    collection.modify(metadata=metadata)
    ids = sorted(collection.get(include=[])["ids"])
    del collection

    with pytest.raises(SchemaError, match=expected):
        Assistant(Settings(data_dir=data), embedder=e5).answer(QUESTION)
    cli = _tia(["ask", QUESTION], _env(data))
    assert cli.returncode != 0 and "TIA_DATA_DIR" in cli.stderr and "Traceback" not in cli.stderr, cli.stderr
    after = _collection(data)
    assert sorted(after.get(include=[])["ids"]) == ids and after.metadata == metadata  # refused, not touched


# -- two tia processes, one chroma server ----------------------------------------------------
@pytest.mark.slow
@pytest.mark.server
def test_two_tia_processes_share_one_chroma_server(tmp_path: Path, chroma_server: str) -> None:
    """`tia serve` keeps answering while another `tia` process ingests and removes documents in
    the same store: its next answer sees them, without a restart."""
    import httpx

    data = tmp_path / "data"
    env = _env(data, TIA_CHROMA_URL=chroma_server, TIA_COLLECTION=f"shared{os.getpid()}")
    assert _tia(["ingest", "--bundled"], env).returncode == 0
    note = tmp_path / "pepiniere.txt"
    note.write_text(NOTE, encoding="utf-8")

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ask() -> dict:
        reply = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def sources(reply: dict) -> set[str]:
        return {Path(c["source"]).name for c in reply["citations"]}

    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"{url}/api/status", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "tia serve did not start"
                time.sleep(0.5)
        assert "pepiniere.txt" not in sources(ask())

        added = _tia(["ingest", str(note)], env)  # another process writes the shared store
        assert added.returncode == 0 and "1 added" in added.stdout + added.stderr, added.stderr
        reply = ask()
        assert sources(reply) == {"pepiniere.txt"} and "14" in reply["text"], reply
        names = {Path(d["source"]).name for d in httpx.get(f"{url}/api/documents", timeout=30).json()}
        assert "pepiniere.txt" in names

        removed = _tia(["remove", "pepiniere.txt"], env)
        assert removed.returncode == 0, removed.stderr
        assert "pepiniere.txt" not in sources(ask())
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
