"""Embeddings for the scale benchmarks: real e5-small vectors cached on disk, or a labelled approximation.

`BenchEmbedder` is a `TiaEmbeddings` with the e5-small model id (so tia's store accepts it)
that wraps the real `E5SmallEmbeddings`:

- mode "real": every passage is embedded by e5-small, once: the vector is stored in
  bench/.cache/e5-small.sqlite (key: sha1 of "p:" + text) and looked up on later runs.
- mode "approx": a passage in the cache gets its real vector; one that is not gets an
  APPROXIMATE vector: the TF-IDF-weighted mean of the real vectors of its 3 nearest cached
  passages (TF-IDF cosine over words), plus Gaussian noise (sigma 0.0128 a dimension,
  about cos 0.97 to the mean), normalised. The vector lies in e5's space and is close to
  those of passages with the same words, so it is a plausible distractor, but it is not
  what e5 would compute: rows that use it say so.

Queries are always embedded by the real model (never cached on disk), so query latencies
are real. `seconds` and `texts` count the time spent in real passage embedding.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

from knowledge.embeddings import E5SmallEmbeddings, TiaEmbeddings

CACHE = Path(__file__).resolve().parent / ".cache" / "e5-small.sqlite"
SIGMA = 0.0128


def _key(text: str) -> str:
    return hashlib.sha1(("p:" + text).encode("utf-8")).hexdigest()


class VectorCache:
    def __init__(self, path: Path = CACHE) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, text TEXT, vec BLOB)")
        self.lock = threading.Lock()

    def get_many(self, texts: list[str]) -> dict[str, np.ndarray]:
        keys = list({_key(t) for t in texts})
        out: dict[str, np.ndarray] = {}
        with self.lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                q = f"SELECT k, vec FROM v WHERE k IN ({','.join('?' * len(part))})"
                for k, blob in self.db.execute(q, part):
                    out[k] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, texts: list[str], vectors: np.ndarray) -> None:
        with self.lock:
            self.db.executemany(
                "INSERT OR REPLACE INTO v VALUES (?, ?, ?)",
                [(_key(t), t, np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors, strict=True)],
            )
            self.db.commit()

    def pool(self) -> tuple[list[str], np.ndarray]:
        with self.lock:
            rows = self.db.execute("SELECT text, vec FROM v").fetchall()
        texts = [r[0] for r in rows]
        mat = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]) if rows else np.zeros((0, 384), np.float32)
        return texts, mat

    def __len__(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT COUNT(*) FROM v").fetchone()[0])


class BenchEmbedder(TiaEmbeddings):
    model_id = E5SmallEmbeddings.model_id
    dimension = E5SmallEmbeddings.dimension
    device = "cpu"

    def __init__(self, mode: str = "real", cache: VectorCache | None = None, seed: int = 0) -> None:
        assert mode in ("real", "approx", "nocache")
        self.mode = mode
        self.real = E5SmallEmbeddings(device="cpu")
        self.cache = cache if cache is not None else VectorCache()
        self.seconds = 0.0  # real passage embedding time
        self.texts = 0  # passages embedded by the model
        self.cached = 0  # passages found in the cache
        self.approximated = 0  # passages given an approximate vector
        self._rng = np.random.default_rng(seed)
        self._pool: tuple[object, object, np.ndarray] | None = None
        self._lock = threading.Lock()

    # -- real ------------------------------------------------------------------------------
    def _real(self, texts: list[str]) -> np.ndarray:
        t = time.perf_counter()
        vectors = np.asarray(self.real.embed_documents(texts), dtype=np.float32)
        self.seconds += time.perf_counter() - t
        self.texts += len(texts)
        return vectors

    # -- approximate -----------------------------------------------------------------------
    def _load_pool(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts, mat = self.cache.pool()
        if not texts:
            raise SystemExit(
                f"{self.cache.path}: no real vectors to approximate from; run "
                "`bench/scale.py --chunks 1000 --embed fresh` first (about 20 min on 2 cores: it fills the cache)"
            )
        vec = TfidfVectorizer(sublinear_tf=True, min_df=1)
        tfidf = vec.fit_transform(texts)
        self._pool = (vec, tfidf.T.tocsr(), mat)

    def _approx(self, texts: list[str]) -> np.ndarray:
        if self._pool is None:
            self._load_pool()
        vec, tfidf_t, mat = self._pool  # type: ignore[misc]
        out = np.empty((len(texts), mat.shape[1]), dtype=np.float32)
        for s in range(0, len(texts), 512):
            part = texts[s : s + 512]
            sims = (vec.transform(part) @ tfidf_t).toarray()  # (batch, pool)
            top = np.argpartition(-sims, 3, axis=1)[:, :3]
            w = np.take_along_axis(sims, top, axis=1) + 1e-6
            mean = (mat[top] * w[:, :, None]).sum(axis=1) / w.sum(axis=1, keepdims=True)
            mean += self._rng.normal(0.0, SIGMA, size=mean.shape).astype(np.float32)
            mean /= np.linalg.norm(mean, axis=1, keepdims=True)
            out[s : s + len(part)] = mean
        self.approximated += len(texts)
        return out

    # -- the Embeddings interface ------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        if self.mode == "nocache":  # real for every passage, and stored for later runs
            vectors = self._real(texts)
            with self._lock:
                self.cache.put_many(texts, vectors)
            return vectors.tolist()
        with self._lock:
            found = self.cache.get_many(texts)
            missing = list(dict.fromkeys(t for t in texts if _key(t) not in found))
            self.cached += len(texts) - len(missing)
            if missing:
                vectors = self._real(missing) if self.mode == "real" else self._approx(missing)
                if self.mode == "real":
                    self.cache.put_many(missing, vectors)
                found.update({_key(t): v for t, v in zip(missing, vectors, strict=True)})
            return np.stack([found[_key(t)] for t in texts]).tolist()

    def _embed_query(self, text: str) -> np.ndarray:
        return self.real._embed_query(text)
