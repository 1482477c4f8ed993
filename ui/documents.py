"""What the Documents tab does: list, upload (copied into `<data_dir>/uploads/`), remove.

Uploaded files are copied under their original name (made safe by `safe_name`)
before ingest, so their source path stays stable (the browser upload's temporary
file vanishes) and uploading a new version of a file replaces the old one.

Uploads are refused when their type is not in `UPLOAD_TYPES` or they are larger
than the limit (`DEFAULT_UPLOAD_LIMIT_MB`; the Gradio upload route refuses them
first, with `max_file_size`); a copy never lands outside the uploads folder.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.errors import NotFoundError, StoreError
from ui.i18n import t
from ui.render import document_rows, escape_markdown, report_html

__all__ = ["DocumentHandlers", "UPLOAD_TYPES", "DEFAULT_UPLOAD_LIMIT_MB", "MAX_NAME_BYTES", "safe_name"]

UPLOAD_TYPES: tuple[str, ...] = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
DEFAULT_UPLOAD_LIMIT_MB = 20
MAX_NAME_BYTES = 120  # UTF-8 bytes of a stored name (file systems allow 255)
_RESERVED = re.compile(r'[<>:"|?*]')  # not allowed in Windows names, awkward everywhere
_SPACES = re.compile(r"\s+")
_COPY_CHUNK = 1024 * 1024


def safe_name(raw: str) -> str:
    """The name an upload is stored under: its last path component (``/`` and ``\\``
    both separate), NFC, without control or format characters (NUL, newlines,
    right-to-left overrides: each becomes a space), ``<>:"|?*`` replaced by ``_``,
    spaces collapsed, no leading dots or spaces, no trailing dots or spaces, at most
    `MAX_NAME_BYTES` bytes (the extension kept). An empty stem becomes "document".

    >>> safe_name("../../etc/passwd.txt"), safe_name("..\\\\x.txt"), safe_name(".txt"), safe_name("...")
    ('passwd.txt', 'x.txt', 'document.txt', 'document')
    """
    text = unicodedata.normalize("NFC", str(raw))
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _SPACES.sub(" ", _RESERVED.sub("_", text)).strip(" ").rstrip(" .")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    stem = stem.strip(" .")
    ext = ext.strip(" ")
    suffix = f".{ext}" if ext else ""
    if len(suffix.encode()) > MAX_NAME_BYTES // 2:  # not an extension: part of the name
        stem, suffix = text, ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .")
    return (stem or "document") + suffix


def _copy_at_most(source: Path, target: Path, limit: int) -> bool:
    """Copy `source` to `target` through a temporary file beside it, then rename it
    over `target` (which replaces a link there, never writes through it). False, and
    `target` untouched, when `source` is longer than `limit` bytes."""
    part = target.with_name(f".{target.name}.part")
    written = 0
    try:
        with source.open("rb") as src, part.open("wb") as dst:
            while chunk := src.read(_COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    return False
                dst.write(chunk)
        os.replace(part, target)
        return True
    finally:
        part.unlink(missing_ok=True)


class DocumentHandlers:
    """The Documents tab's handlers over one `Assistant`."""

    def __init__(self, assistant: Any, limit_mb: int = DEFAULT_UPLOAD_LIMIT_MB) -> None:
        self.assistant = assistant
        self.limit_mb = limit_mb

    @property
    def uploads_dir(self) -> Path:
        return Path(self.assistant.settings.data_dir) / "uploads"

    # -- listing ------------------------------------------------------------------
    def rows(self) -> list[list[Any]]:
        return document_rows(self.assistant.documents())

    def choices(self) -> list[tuple[str, str]]:
        """(label, doc_id) for the document pickers."""
        return [(f"{d.title} ({d.name})" if d.title != d.name else d.name, d.doc_id) for d in self.assistant.documents()]

    # -- upload ---------------------------------------------------------------------
    def add(self, paths: Sequence[str] | None, lang: str) -> str:
        """Copy the uploaded files into the uploads folder, ingest them, and return the
        per-file report (added / unchanged / replaced / failed with the reason) as HTML."""
        if not paths:
            return report_html([("—", "failed", t(lang, "no_files"))], lang)
        lines: list[tuple[str, str, str]] = []
        saved: dict[str, str] = {}  # copied path -> shown name
        limit = self.limit_mb * 1024 * 1024
        for raw in paths:
            name = safe_name(raw)
            if Path(name).suffix.lower() not in UPLOAD_TYPES:
                lines.append((name, "failed", t(lang, "upload_bad_type", name=name)))
                continue
            source = Path(raw)
            try:
                size = source.stat().st_size
                if source.is_symlink() or not source.is_file():  # a folder, a pipe, a device, a link
                    lines.append((name, "failed", t(lang, "upload_not_a_file", name=name)))
                    continue
                if size > limit:
                    self._too_big(lines, name, size, lang)
                    continue
                target = self._target(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                if not _copy_at_most(source, target, limit):  # it grew since stat()
                    self._too_big(lines, name, limit + 1, lang)
                    continue
            except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
                reason = getattr(exc, "strerror", None) or str(exc)
                lines.append((name, "failed", f"{name}: {reason}"))
                continue
            saved[str(target)] = name
        if saved:
            report = self.assistant.ingest(list(saved))
            stored = {d.source for d in self.assistant.documents()}
            for result in report.files:
                name = saved.get(result.path, Path(result.path).name)
                if result.status == "failed" and str(Path(result.path).resolve()) not in stored:
                    Path(result.path).unlink(missing_ok=True)  # not a document: don't keep it
                lines.append((name, result.status, result.error or ""))
        return report_html(lines, lang)

    def _target(self, name: str) -> Path:
        """`<uploads>/name`, checked to stay inside the uploads folder."""
        folder = self.uploads_dir.resolve()
        target = folder / name
        if name in ("", ".", "..") or name.startswith(".") or "/" in name or os.sep in name or target.parent != folder:
            raise ValueError(f"{name}: not a plain file name")
        return target

    def _too_big(self, lines: list[tuple[str, str, str]], name: str, size: int, lang: str) -> None:
        mb = round(size / 1024 / 1024, 1)
        lines.append((name, "failed", t(lang, "upload_too_big", name=name, size=mb, limit=self.limit_mb)))

    def add_bundled(self, lang: str) -> str:
        report = self.assistant.ingest_bundled()
        return report_html([(Path(f.path).name, f.status, f.error or "") for f in report.files], lang)

    # -- removal --------------------------------------------------------------------
    def title_of(self, doc_id: str | None) -> str | None:
        """The document's title as Markdown-safe text (it goes into a Markdown notice)."""
        if not doc_id:
            return None
        try:
            return escape_markdown(self.assistant.document(doc_id).title)
        except NotFoundError:
            return None

    def remove(self, doc_id: str | None, lang: str) -> str:
        """Remove a document (and its uploaded copy, if it was uploaded here); returns a notice."""
        if not doc_id:
            return t(lang, "choose_doc")
        doc = self.assistant.remove(doc_id)
        source = Path(doc.source)
        try:
            if source.parent.resolve() == self.uploads_dir.resolve():
                source.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"removed {doc.title}, but cannot delete {source}: {exc}") from exc
        return t(lang, "removed", title=escape_markdown(doc.title))
