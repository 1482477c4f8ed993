"""Scale benchmark: ingest, per-corpus caches, warm answers and retrieval quality at N chunks.

Run (one size per process, so that peak RSS is that size's):

    .venv/bin/python bench/scale.py --chunks 1000 --embed fresh --raw 150   # real e5 for everything
    .venv/bin/python bench/scale.py --chunks 0 --embed cached                # the bundled corpus alone
    .venv/bin/python bench/scale.py --chunks 10000 --embed approx --ensemble --recall

It generates the synthetic corpus (bench/corpus.py, seed 10, the bundled documents inside),
ingests it into a temporary TIA_DATA_DIR with `Assistant.ingest` (the steps of
`Assistant.ingest` are called one by one so that each is timed: `Ingestor.ingest`
= chunk + embed + Chroma + LangChain index records + BM25 rebuild; `UnitIndex.refresh`
= split and embed every sentence unit; the scheme catalogue's rebuild), re-ingests it unchanged,
times the per-corpus caches, asks every dev-set record (evals/datasets/dev.jsonl, through
evals.runner.ask_record, as `tia eval` does) with a warm model and forgotten query vectors,
and scores hit@5 (evals.metrics: an expected source among the first 5 passages).

`--embed`: `fresh` embeds every passage with e5-small (and stores the vectors in
bench/.cache/e5-small.sqlite); `cached` takes cached vectors, embedding the missing ones for
real; `approx` takes cached vectors and gives the others an APPROXIMATE vector (see
bench/vectors.py): every row then says how many passages were approximated.
`--ensemble`: LangChain's EnsembleRetriever(BM25, Chroma retriever) side by side with tia's
HybridRetriever (bench/ensemble.py). `--recall`: HNSW against exact search.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEV = ROOT / "evals" / "datasets" / "dev.jsonl"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def traced(fn):  # noqa: ANN001, ANN201
    """(result, seconds, peak MiB allocated by Python during the call)."""
    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, dt, peak / 2**20


def timed(fn):  # noqa: ANN001, ANN201
    gc.collect()
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def bulk_load(kb, corpus_dir: Path):  # noqa: ANN001, ANN201
    """What `Ingestor.ingest` stores, without LangChain's record manager and one Chroma add per file."""
    from ingest.chunking import chunk_document
    from ingest.loaders import load_document
    from ingest.pipeline import FileResult, IngestReport, expand_paths

    report = IngestReport()
    chunks = []
    for path in expand_paths([corpus_dir]):
        doc = load_document(path)
        cs = chunk_document(doc)
        kb.documents.put(doc.to_stored(chunks=len(cs)))
        chunks += cs
        report.files.append(FileResult(str(path), "added", len(cs), None, doc.metadata.doc_id))
    collection = kb.store._collection
    for s in range(0, len(chunks), 5000):
        part = chunks[s : s + 5000]
        vectors = kb.embedder.embed_documents([c.page_content for c in part])
        collection.add(ids=[c.id for c in part], embeddings=vectors, documents=[c.page_content for c in part],
                       metadatas=[c.metadata for c in part])
    with kb.write_lock:
        kb.changed()
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--embed", choices=("fresh", "cached", "approx"), default="cached")
    parser.add_argument("--raw", type=int, default=0, help="measure raw embed_documents on this many chunks first")
    parser.add_argument("--ensemble", action="store_true")
    parser.add_argument("--recall", action="store_true")
    parser.add_argument("--profile", choices=("", "ingest", "query"), default="")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the dev set")
    parser.add_argument("--workers", type=int, default=1, help="`Ingestor.ingest(workers=N)`: files parsed in N processes")
    parser.add_argument("--bulk", action="store_true",
                        help="load the store directly (docstore + one Chroma add per 5000 chunks + BM25), not through Ingestor")
    parser.add_argument("--no-answers", action="store_true", help="skip UnitIndex, the catalogue and the answer loop")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the run (generated corpus/ and data/) in this new directory, for --reuse")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="a directory kept by --keep: skip generation and ingest, measure re-ingest, caches and answers")
    parser.add_argument("--server", action="store_true",
                        help="store in a `chroma run` server (TIA_CHROMA_URL) started by the benchmark; with --reuse it "
                             "serves the kept store's Chroma directory")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from assistant.service import Assistant
    from evals.dataset import load_dataset
    from ingest.schemes import scheme_catalogue as catalogue
    from knowledge.settings import Settings

    import corpus as gen
    from vectors import BenchEmbedder

    command = "bench/scale.py " + " ".join(sys.argv[1:])
    label = {"fresh": "real e5 vectors", "cached": "real e5 vectors (cached)", "approx": "APPROX vectors"}[args.embed]
    rows: list[tuple[str, str]] = []
    out: dict[str, object] = {"command": command, "chunks_target": args.chunks, "embed": args.embed}
    if args.keep and args.keep.exists():
        parser.error(f"--keep {args.keep}: already exists")
    if args.reuse and not (args.reuse / "data").is_dir():
        parser.error(f"--reuse {args.reuse}: no data/ directory (kept by --keep)")
    tmp = args.reuse or Path(tempfile.mkdtemp(prefix="tia-scale-", dir=args.keep.parent if args.keep else None))
    stack = contextlib.ExitStack()
    try:
        corpus_dir = tmp / "corpus"
        if args.reuse:
            info = json.loads((tmp / "corpus.json").read_text())
            rows.append(("corpus", f"{info['chunks']} chunks, {info['synth_docs']} synthetic + {info['bundled_docs']} "
                                   f"bundled docs (reused from {args.reuse})"))
        else:
            info, dt = timed(lambda: gen.generate(corpus_dir, args.chunks))
            (tmp / "corpus.json").write_text(json.dumps(info))
            rows.append(("corpus", f"{info['chunks']} chunks, {info['synth_docs']} synthetic + {info['bundled_docs']} bundled docs (generated in {dt:.1f} s)"))
        n_chunks = info["chunks"]
        out["corpus"] = info
        server = None
        if args.server:
            from chroma_server import chroma_server

            chroma_path = tmp / "data" / "chroma" if args.reuse else tmp / "chroma-server"
            server = stack.enter_context(chroma_server(chroma_path, tmp / "chroma-server.log"))
            rows.append(("store", f"`chroma run --path {chroma_path.relative_to(tmp)}` on 127.0.0.1 (TIA_CHROMA_URL)"))
        else:
            rows.append(("store", "embedded Chroma (PersistentClient)"))

        embedder = BenchEmbedder({"fresh": "nocache", "cached": "real", "approx": "approx"}[args.embed])
        embedder.real.embed_query("warm up")  # the model loads here, not in the ingest timings
        if args.raw:
            from ingest.chunking import chunk_document
            from ingest.loaders import load_document

            texts: list[str] = []
            for p in sorted((corpus_dir / "synth").glob("*.txt")):
                texts += [c.page_content for c in chunk_document(load_document(p))]
                if len(texts) >= args.raw:
                    break
            texts = texts[: args.raw]
            raw = embedder.real  # the plain E5SmallEmbeddings: what `embed_documents` costs alone
            _, dt = timed(lambda: raw.embed_documents(texts))
            rate = len(texts) / dt
            out["raw_rate"] = rate
            rows.append((f"raw `embed_documents` (e5-small, {len(texts)} generated chunks, "
                         f"{statistics.mean(map(len, texts)):.0f} chars avg, one call)", f"{rate:.2f} chunks/s ({dt:.1f} s)"))

        data = tmp / "data"
        assistant = Assistant(Settings(data_dir=data, chroma_url=server.url if server else None), embedder=embedder)
        kb = assistant.kb
        lex_time = [0.0]
        original_refresh = kb.refresh_lexical

        def refresh_lexical() -> None:
            t = time.perf_counter()
            original_refresh()
            lex_time[0] += time.perf_counter() - t

        kb.refresh_lexical = refresh_lexical  # type: ignore[method-assign]

        profiler = None
        if args.profile == "ingest":
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        e0 = embedder.seconds
        t0 = time.perf_counter()
        if args.reuse:
            report = None
        elif args.bulk:
            report = bulk_load(kb, corpus_dir)
        else:
            report = assistant.ingestor.ingest([corpus_dir], workers=args.workers)
        t1 = time.perf_counter()
        e1 = embedder.seconds
        if not args.no_answers:
            assistant.units.refresh()  # with --reuse: loaded from the kept .npy cache
        t2 = time.perf_counter()
        e2 = embedder.seconds
        if not args.no_answers and not args.reuse:
            catalogue(kb).rebuild()
        t3 = time.perf_counter()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(ROOT / "bench" / ".cache" / f"ingest-{n_chunks}.prof"))
        total = t3 - t0
        stored = kb.store.count()
        n_units = sum(len(u) for _, u, _ in assistant.units.all())
        approx_note = f"; {embedder.approximated} passages APPROXIMATED, {embedder.cached} from cache" if args.embed != "fresh" else ""
        if report is None:
            rows.append((f"ingest {stored} chunks", f"reused; units loaded from their cache in {t2 - t1:.1f} s"))
        else:
            workers = f", --workers {args.workers}" if args.workers > 1 else ""
            rows.append((f"ingest {stored} chunks, {label}{workers} ({report.summary()})",
                         f"{total:.1f} s = {stored / total:.2f} chunks/s end to end{approx_note}"))
            rows.append(("  Ingestor.ingest (chunk, embed chunks, Chroma, index records, BM25)",
                         f"{t1 - t0:.1f} s, of which embedding {e1 - e0:.1f} s and BM25 rebuild {lex_time[0]:.1f} s"))
            rows.append((f"  UnitIndex.refresh ({n_units} sentence units)", f"{t2 - t1:.1f} s, of which embedding {e2 - e1:.1f} s"))
            rows.append(("  SchemeCatalogue.rebuild", f"{t3 - t2:.1f} s"))
            out.update(ingest_s=total, ingest_index_s=t1 - t0, ingest_embed_chunks_s=e1 - e0, ingest_bm25_s=lex_time[0],
                       units_s=t2 - t1, units_embed_s=e2 - e1, schemes_s=t3 - t2)
        out.update(stored=stored, units=n_units)
        if args.raw and args.embed == "fresh":
            ratio = (stored / total) / out["raw_rate"]  # type: ignore[operator]
            rows.append(("ingest chunks/s ÷ raw embed_documents chunks/s (target ≥ 0.90)", f"{ratio:.2f}"))
            ratio2 = (stored / (t1 - t0)) / out["raw_rate"]  # type: ignore[operator]
            rows.append(("  same, Ingestor.ingest alone (no units, no catalogue)", f"{ratio2:.2f}"))
            out.update(ratio=ratio, ratio_index=ratio2)

        if args.no_answers:
            rows.append(("UnitIndex, SchemeCatalogue, re-ingest, reader caches, answers", "NOT RUN (--no-answers)"))
        else:
            answers_part(args, assistant, kb, corpus_dir, rows, out, n_chunks, embedder)
        records = list(load_dataset(DEV))
        if args.ensemble:
            import ensemble

            for name, value in ensemble.compare(assistant, records):
                rows.append((name, value))
        if args.recall:
            import recall

            for name, value in recall.measure(assistant, records):
                rows.append((name, value))
        rows.append(("peak RSS of the process", f"{rss_mb():.0f} MiB"))
        out["rss_mb"] = rss_mb()
        if server is not None:
            server_mb = server.peak_rss_mb()
            rows.append(("peak RSS of the `chroma run` server", f"{server_mb:.0f} MiB" if server_mb else "unknown"))
            out["server_rss_mb"] = server_mb
    finally:
        stack.close()
        if args.keep and not args.reuse:
            tmp.rename(args.keep)
        elif not args.reuse:
            shutil.rmtree(tmp, ignore_errors=True)
    emit(args, command, rows, out)


def answers_part(args, assistant, kb, corpus_dir, rows, out, n_chunks, embedder) -> None:  # noqa: ANN001
    from evals.dataset import load_dataset
    from evals.metrics import score_record
    from evals.runner import ask_record

    if True:
        _, dt = timed(lambda: assistant.ingest([corpus_dir]))
        rows.append(("re-ingest unchanged corpus (`Assistant.ingest`)", f"{dt:.2f} s"))
        out["reingest_s"] = dt

        # -- the per-corpus caches -------------------------------------------------------------
        from assistant.features import Corpus
        from assistant.reading import DocumentReader
        from assistant.units import UnitIndex
        from knowledge.lexical import FrenchAnalyzer, LexicalIndex

        chunks, dt_read = timed(kb.store.all_chunks)
        fp = kb.fingerprint()
        _, dt_bm = timed(lambda: LexicalIndex.build(chunks, fp))
        _, _, mem_bm = traced(lambda: LexicalIndex.build(chunks, fp))
        rows.append(("BM25 index build (LexicalIndex.build)",
                     f"{dt_bm:.2f} s (+ {dt_read:.2f} s reading chunks from Chroma); peak {mem_bm:.0f} MiB traced"))
        fresh_units = UnitIndex(kb)
        _, dt_u = timed(fresh_units.refresh)
        _, _, mem_u = traced(UnitIndex(kb).refresh)
        emb_mb = sum(e.nbytes for _, _, e in fresh_units.all()) / 2**20
        rows.append(("UnitIndex.refresh from its .npy cache (units + embeddings)",
                     f"{dt_u:.2f} s; peak {mem_u:.0f} MiB traced, of which embeddings {emb_mb:.0f} MiB"))
        analyzer = FrenchAnalyzer()
        corpus_stats = Corpus(fresh_units, DocumentReader(fresh_units, analyzer), analyzer)
        _, dt_c = timed(corpus_stats.refresh)
        c2 = Corpus(fresh_units, DocumentReader(fresh_units, analyzer), analyzer)
        _, _, mem_c = traced(c2.refresh)
        rows.append(("reader Corpus statistics (features.Corpus.refresh)", f"{dt_c:.2f} s; peak {mem_c:.0f} MiB traced"))
        _, dt_doc = timed(kb.documents.all)
        rows.append(("DocumentStore.all() (UnitIndex.refresh calls it when the store changed)", f"{dt_doc * 1000:.1f} ms"))
        out.update(bm25_build_s=dt_bm, bm25_read_s=dt_read, bm25_mb=mem_bm, units_load_s=dt_u, units_mb=mem_u,
                   units_emb_mb=emb_mb, corpus_s=dt_c, corpus_mb=mem_c, docs_all_ms=dt_doc * 1000)
        del chunks, fresh_units, corpus_stats, c2
        gc.collect()

        # -- warm answers ----------------------------------------------------------------------
        records = list(load_dataset(DEV))
        assistant.warm_up()
        assistant.answer("Combien de territoires d'industrie compte le Grand Est ?")
        stages: dict[str, list[float]] = {}
        slow: list[tuple[float, float, str]] = []
        plain_answer = assistant.answer

        def answer(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            embedder.__dict__.pop("_query_cache", None)  # real query embedding each time
            got = plain_answer(*a, **kw)
            for stage, ms in got.timings.items():
                stages.setdefault(stage, []).append(ms)
            slow.append((got.timings.get("retrieve", 0.0), got.timings.get("answer", 0.0), str(a[0])[:70]))
            return got

        assistant.answer = answer  # type: ignore[method-assign]
        if args.profile == "query":
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        hits = []
        for _ in range(args.rounds):
            hits = []
            for record in records:
                run = ask_record(assistant, record)
                if record.answerable and record.expected_sources:
                    rank = score_record(record, run.answer).first_relevant_rank
                    hits.append(rank is not None and rank <= 5)
        if args.profile == "query":
            profiler.disable()
            profiler.dump_stats(str(ROOT / "bench" / ".cache" / f"query-{n_chunks}.prof"))
        assistant.answer = plain_answer  # type: ignore[method-assign]
        for r_ms, a_ms, q in sorted(slow, reverse=True)[:5]:
            print(f"slowest retrieve: {r_ms:.0f} ms (answer {a_ms:.0f} ms): {q}", file=sys.stderr)
        n_ans = len(stages.get("total", []))
        for stage in ("sync", "query", "retrieve", "answer", "total"):
            v = stages.get(stage, [0.0])
            rows.append((f"warm answer: {stage} (p50 / p95 / max, {n_ans} answers)",
                         f"{statistics.median(v):.1f} / {pct(v, 0.95):.1f} / {max(v):.1f} ms"))
            out[f"{stage}_p50"], out[f"{stage}_p95"] = statistics.median(v), pct(v, 0.95)
        hit5 = sum(hits) / len(hits)
        rows.append((f"dev hit@5 ({len(hits)} answerable records with expected sources)", f"{hit5:.3f}"))
        out["hit5"] = hit5


def emit(args, command, rows, out) -> None:  # noqa: ANN001
    print(f"Date: {datetime.date.today()}, machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load avg at end {os.getloadavg()[0]:.1f}; command: `{command}`\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
