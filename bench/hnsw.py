"""HNSW settings against exact search, on the vectors of a store kept by `bench/scale.py --keep`.

    .venv/bin/python bench/hnsw.py /work/bench-runs/k100 --configs 100:100:16 200:200:16 200:400:32

For each `ef_construction:ef_search:max_neighbors` it builds a new collection in a temporary
embedded Chroma with the kept store's vectors (batches of 5000), then queries it with the real e5
vectors of the dev-set questions and with 200 stored vectors plus Gaussian noise (sigma 0.02 a
dimension, "perturbed": queries inside the distractor mass), and reports recall@10 and @30 against
exact search (numpy, cosine), the build time and the median query time. It prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_vectors(kept: Path) -> tuple[np.ndarray, np.ndarray]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(kept / "data" / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection("tia")
    ids, vectors = [], []
    total = collection.count()
    for offset in range(0, total, 5000):
        got = collection.get(include=["embeddings"], limit=5000, offset=offset)
        ids += got["ids"]
        vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
    mat = np.vstack(vectors)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    return np.array(ids), mat


def queries(mat: np.ndarray) -> dict[str, np.ndarray]:
    from evals.dataset import load_dataset
    from knowledge.embeddings import E5SmallEmbeddings

    e5 = E5SmallEmbeddings()
    records = [r for r in load_dataset(ROOT / "evals" / "datasets" / "dev.jsonl") if len(r.turns) == 1]
    dev = np.asarray([e5.embed_query(r.turns[0]) for r in records], dtype=np.float32)
    dev /= np.linalg.norm(dev, axis=1, keepdims=True)
    rng = np.random.default_rng(7)
    pert = mat[rng.choice(len(mat), size=min(200, len(mat)), replace=False)]
    pert = pert + rng.normal(0, 0.02, size=pert.shape).astype(np.float32)
    pert /= np.linalg.norm(pert, axis=1, keepdims=True)
    return {"dev queries": dev, "perturbed": pert}


def measure(ids: np.ndarray, mat: np.ndarray, qs: dict[str, np.ndarray], ef_c: int, ef_s: int, m: int) -> str:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    with tempfile.TemporaryDirectory() as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.create_collection(
            "hnsw-bench", configuration={"hnsw": {"space": "cosine", "ef_construction": ef_c, "ef_search": ef_s, "max_neighbors": m}},
            embedding_function=None,
        )
        t = time.perf_counter()
        for s in range(0, len(ids), 5000):
            collection.add(ids=ids[s : s + 5000].tolist(), embeddings=mat[s : s + 5000])
        build = time.perf_counter() - t
        parts = []
        for name, q in qs.items():
            exact = np.argsort(-(q @ mat.T), axis=1)
            for k in (10, 30):
                recalls, times = [], []
                for row, ex in zip(q, exact[:, :k], strict=True):
                    t = time.perf_counter()
                    got = collection.query(query_embeddings=[row], n_results=k, include=[])["ids"][0]
                    times.append((time.perf_counter() - t) * 1000)
                    recalls.append(len(set(got) & set(ids[ex])) / k)
                parts.append(f"{name} recall@{k} {np.mean(recalls):.3f} ({statistics.median(times):.1f} ms)")
        return f"| {ef_c} / {ef_s} / {m} | {build:.0f} s | " + "; ".join(parts) + " |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kept", type=Path)
    parser.add_argument("--configs", nargs="+", default=["100:100:16", "200:200:16", "400:400:32"])
    args = parser.parse_args()
    ids, mat = load_vectors(args.kept)
    qs = queries(mat)
    print(f"Date: {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores; {len(ids)} vectors from "
          f"{args.kept}; command: `bench/hnsw.py {' '.join(sys.argv[1:])}`\n")
    print("| ef_construction / ef_search / max_neighbors | build | recall against exact search (median query time) |")
    print("|---|---|---|")
    for config in args.configs:
        ef_c, ef_s, m = (int(v) for v in config.split(":"))
        print(measure(ids, mat, qs, ef_c, ef_s, m), flush=True)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
