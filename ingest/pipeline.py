"""Paths -> documents -> chunks -> store, incrementally, with a per-file report.

Bookkeeping is LangChain's indexing API (`index()` with a SQL record manager,
`cleanup="incremental"`, keyed by source path): an unchanged file writes nothing,
a changed file's new chunks are added before its old ones are deleted, and the
same chunk is never stored twice. A bad file is reported and skipped; what is
already stored stays as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from langchain_core.documents import Document
from langchain_core.indexing import index as lc_index

from ingest.chunking import chunk_document
from ingest.document import LoadedDocument
from ingest.loaders import SUPPORTED_EXTENSIONS, load_document, shown_path
from knowledge.base import KnowledgeBase
from knowledge.docstore import StoredDocument
from knowledge.errors import ConfigError, IngestError, NotFoundError, TiaError

__all__ = ["FileResult", "IngestReport", "Ingestor", "expand_paths", "parse_file"]

Status = Literal["added", "unchanged", "replaced", "failed"]


@dataclass(frozen=True)
class FileResult:
    path: str
    status: Status
    chunks: int = 0
    error: str | None = None
    doc_id: str | None = None


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files of a folder tia cannot read (".docx"), by path

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(f.status for f in self.files)
        return {s: c.get(s, 0) for s in ("added", "unchanged", "replaced", "failed")}

    @property
    def ok(self) -> bool:
        return self.counts["failed"] == 0

    def summary(self) -> str:
        text = ", ".join(f"{n} {s}" for s, n in self.counts.items())
        return text + (f", {len(self.skipped)} skipped (unsupported type)" if self.skipped else "")


def expand_paths(paths: Iterable[str | Path], skipped: list[Path] | None = None) -> list[Path]:
    """Files named directly, and the supported files under directories (sidecars, READMEs and hidden
    files left out). Files of a directory that tia cannot read go to `skipped`, so that they are reported.
    Linked folders are not followed (no loop can make this endless); a symbolic link that is not a
    file (a loop, a broken link, a link to a folder) is returned, for `load_document` to refuse by name."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    any(part.startswith(".") for part in child.relative_to(path).parts)
                    or child.name.endswith(".meta.yaml")
                    or child.name.lower() == "readme.md"
                ):
                    continue
                if not child.is_file():
                    # rglob does not descend into a linked folder; a link that is a loop, is
                    # broken or leads to a folder is listed, so that loading reports it by name.
                    if child.is_symlink():
                        out.append(child)
                    continue
                if child.suffix.lower() in SUPPORTED_EXTENSIONS:
                    out.append(child)
                elif skipped is not None:
                    skipped.append(child)
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for p in out:
        try:
            key = p.resolve()
        except (OSError, RuntimeError):  # a symbolic link loop (RuntimeError before Python 3.13)
            key = p.absolute()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


Parsed = tuple[LoadedDocument, list[Document]] | IngestError  # a file read and chunked, or why not


def chunk_digest(chunks: Sequence[Document], where: str) -> str:
    """What a document's chunks are (texts and metadata, in order) and where they are stored, as one SHA-256."""
    data = json.dumps([where, [[c.page_content, c.metadata] for c in chunks]], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def parse_file(path: Path) -> Parsed:
    """Read and chunk one file, or the error saying why not (returned: it may cross processes)."""
    try:
        doc = load_document(path)  # raises IngestError for missing, unsupported or bad files
        return doc, chunk_document(doc)
    except IngestError as exc:
        return exc


@contextmanager
def _parsed(files: Sequence[Path], workers: int) -> Iterator[Iterator[Parsed]]:
    """The files read and chunked, in order: here, or ahead of use in `workers` processes."""
    if workers == 1 or len(files) < 2:
        yield (parse_file(p) for p in files)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    # spawned, not forked: this process may hold the model's and Chroma's threads and locks
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:

        def in_order() -> Iterator[Parsed]:
            # A few files ahead of the one being stored, not all of them: parsed documents wait in memory.
            queue = iter(files)
            pending = deque(pool.submit(parse_file, p) for _, p in zip(range(2 * workers), queue, strict=False))
            while pending:
                done = pending.popleft().result()
                if (following := next(queue, None)) is not None:
                    pending.append(pool.submit(parse_file, following))
                yield done

        yield in_order()


class Ingestor:
    """Ingests files into a `KnowledgeBase`.

    >>> report = Ingestor(kb).ingest(["knowledge/corpus"])
    >>> report.counts
    {'added': 5, 'unchanged': 0, 'replaced': 0, 'failed': 0}
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def ingest(self, paths: Sequence[str | Path], *, progress: bool = False, workers: int = 1) -> IngestReport:
        """`workers` > 1 reads and chunks the files in that many processes (parsing PDFs is
        CPU work); embedding and storing stay in this process, one file after the other, in order."""
        if workers < 1:
            raise ConfigError(f"--workers: expected 1 or more, got {workers}")
        unreadable: list[Path] = []
        files = expand_paths(paths, unreadable)
        report = IngestReport(skipped=[shown_path(p) for p in unreadable])  # printable, one line each
        bar = None
        if progress and files:
            from tqdm import tqdm

            bar = tqdm(total=len(files), unit="file", desc="Ingesting", file=sys.stderr, leave=False)
        changed = False
        with self.kb.write_lock, _parsed(files, workers) as parsed:
            stored = {d.doc_id: d for d in self.kb.documents.all()}  # read once: not once a file
            by_source = {d.source: d for d in stored.values()}
            for path, read in zip(files, parsed, strict=True):
                if bar is not None:
                    bar.set_postfix_str(path.name[:40])
                result = self._ingest_one(path, stored, by_source, read)
                changed |= result.status in ("added", "replaced")
                report.files.append(result)
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
            if changed or self.kb.lexical().fingerprint != self.kb.fingerprint():
                self.kb.changed()
        return report

    def _ingest_one(
        self, path: Path, stored: dict[str, StoredDocument], by_source: dict[str, StoredDocument], read: Parsed
    ) -> FileResult:
        """One file, read and chunked (or the error that stopped it); `stored` (doc id ->
        document) and `by_source` (source path -> document) are kept up to date with what it writes."""
        name = str(path)
        try:
            if isinstance(read, IngestError):
                raise read
            doc, chunks = read
            meta = doc.metadata
            previous = by_source.get(meta.source)
            duplicate = stored.get(meta.doc_id)
            duplicate = duplicate if duplicate is not None and duplicate.source != meta.source else None
            if duplicate is not None:
                return FileResult(name, "unchanged", 0, f"same content as {duplicate.source}; not stored twice", meta.doc_id)
            stored_doc = dataclasses.replace(doc.to_stored(chunks=len(chunks)), chunk_digest=chunk_digest(chunks, self.kb.record_namespace))
            if previous == stored_doc:
                # Same bytes, metadata, text and chunks as stored: nothing to write. (The index's
                # timestamps are only read by a "full" cleanup, which tia never runs.)
                return FileResult(name, "unchanged", previous.chunks, None, meta.doc_id)
            result = lc_index(
                chunks,
                self.kb.record_manager,
                self.kb.store.vectorstore,
                cleanup="incremental",
                source_id_key="source",
                key_encoder="sha256",
            )
            # Written even when the chunks did not change: a store from before chunk_digest gets it.
            self.kb.documents.put(stored_doc)
            stored[stored_doc.doc_id] = by_source[stored_doc.source] = stored_doc
            if result["num_added"] == 0 and result["num_deleted"] == 0 and previous is not None:
                return FileResult(name, "unchanged", len(chunks), None, meta.doc_id)
            if previous is not None and previous.doc_id != meta.doc_id:
                self.kb.documents.delete(previous.doc_id)
                stored.pop(previous.doc_id, None)
                return FileResult(name, "replaced", len(chunks), None, meta.doc_id)
            return FileResult(name, "added" if previous is None else "replaced", len(chunks), None, meta.doc_id)
        except IngestError as exc:
            return FileResult(name, "failed", 0, str(exc))
        except TiaError as exc:
            return FileResult(name, "failed", 0, f"{name}: {exc}")

    def remove(self, source: str) -> StoredDocument:
        """Delete a document (by source path, file name or doc id) and all its chunks."""
        with self.kb.write_lock:
            doc = self.find(source)
            keys = self.kb.record_manager.list_keys(group_ids=[doc.source])
            if keys:
                self.kb.store.vectorstore.delete(ids=keys)
                self.kb.record_manager.delete_keys(keys)
            self.kb.documents.delete(doc.doc_id)
            self.kb.changed()
            return doc

    def find(self, source: str) -> StoredDocument:
        docs = self.kb.documents.all()
        resolved = str(Path(source).expanduser().resolve()) if source else ""
        for test in (
            lambda d: d.source == source or d.source == resolved or d.doc_id == source,
            lambda d: d.name == source,
        ):
            found = [d for d in docs if test(d)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise NotFoundError(
                    f"{source!r} matches several documents: "
                    + ", ".join(d.source for d in found)
                    + "; give the full path or the doc id"
                )
        raise NotFoundError(f"no ingested document matches {source!r} (see `tia sources`)")
