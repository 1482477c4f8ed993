"""HNSW recall of tia's Chroma collection against exact (brute-force numpy cosine) search.

Called by `bench/scale.py --recall` on the collection it built. Queries: the real e5 vectors
of the dev-set questions (as tia's QueryBuilder rewrites them), and 200 stored chunk vectors
with Gaussian noise (sigma 0.02 a dimension, labelled "perturbed"), so that queries also
fall inside the distractor mass. recall@k = |HNSW top k ∩ exact top k| / k, averaged.
It then raises `ef_search` on the collection (`collection.modify(configuration=...)`) and
measures again; `ef_construction` / `max_neighbors` can only be set when a collection is
created (knowledge/store.py), so only their current values are reported.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np


def _recall(collection: Any, ids: np.ndarray, mat: np.ndarray, queries: np.ndarray, k: int) -> tuple[float, float]:
    exact = np.argsort(-(queries @ mat.T), axis=1)[:, :k]
    times, recalls = [], []
    for q, ex in zip(queries, exact, strict=True):
        t = time.perf_counter()
        got = collection.query(query_embeddings=[q.tolist()], n_results=k, include=[])["ids"][0]
        times.append((time.perf_counter() - t) * 1000)
        recalls.append(len(set(got) & set(ids[ex])) / k)
    return float(np.mean(recalls)), statistics.median(times)


def measure(assistant: Any, records: list[Any]) -> list[tuple[str, str]]:
    kb = assistant.kb
    collection = kb.store._collection
    pages = [collection.get(include=["embeddings"], limit=5000, offset=o) for o in range(0, collection.count(), 5000)]
    ids = np.array([i for p in pages for i in p["ids"]])
    mat = np.vstack([np.asarray(p["embeddings"], dtype=np.float32) for p in pages])
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    dev = np.stack([kb.embedder.real._embed_query(assistant.queries.build(r.question).text) for r in records])
    rng = np.random.default_rng(7)
    pert = mat[rng.choice(len(mat), size=min(200, len(mat)), replace=False)]
    pert = pert + rng.normal(0, 0.02, size=pert.shape).astype(np.float32)
    pert /= np.linalg.norm(pert, axis=1, keepdims=True)
    try:
        config = collection.configuration_json.get("hnsw") or {}
    except Exception:  # noqa: BLE001
        config = {}
    rows = [("HNSW configuration of tia's collection (Chroma defaults)",
             ", ".join(f"{k}={config.get(k)}" for k in ("space", "ef_construction", "ef_search", "max_neighbors")))]
    t = time.perf_counter()
    exact_ms = 0.0
    _ = np.argsort(-(dev @ mat.T), axis=1)[:, :30]
    exact_ms = (time.perf_counter() - t) * 1000 / len(dev)
    for ef in (None, 200, 500):
        if ef is not None:
            try:
                collection.modify(configuration={"hnsw": {"ef_search": ef}})
            except Exception as exc:  # noqa: BLE001
                rows.append((f"set ef_search={ef}", f"failed: {exc}"))
                break
        parts = []
        for name, q in (("dev queries", dev), ("perturbed chunks", pert)):
            for k in (10, 30):
                r, ms = _recall(collection, ids, mat, q, k)
                parts.append(f"{name} recall@{k} {r:.3f} ({ms:.1f} ms/query)")
        rows.append((f"HNSW vs exact over {len(mat)} vectors, ef_search={ef or config.get('ef_search')}", "; ".join(parts)))
    rows.append(("exact numpy search (argsort of one matrix product), per dev query", f"{exact_ms:.1f} ms"))
    return rows
