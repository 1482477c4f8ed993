"""What the Documents tab does: list, upload (copied into `<data_dir>/uploads/`), remove.

Uploaded files are copied under their original name before ingest, so their source
path stays stable (the browser upload's temporary file vanishes) and uploading a new
version of a file replaces the old one.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.errors import NotFoundError, StoreError
from ui.i18n import t
from ui.render import document_rows, report_html

__all__ = ["DocumentHandlers", "UPLOAD_TYPES", "DEFAULT_UPLOAD_LIMIT_MB"]

UPLOAD_TYPES: tuple[str, ...] = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
DEFAULT_UPLOAD_LIMIT_MB = 20


def _safe_name(raw: str) -> str:
    """The file name alone (no directory part, no leading dots)."""
    name = Path(str(raw).replace("\\", "/")).name.lstrip(".").strip()
    return name or "document"


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
        for raw in paths:
            source = Path(raw)
            name = _safe_name(source.name)
            if source.suffix.lower() not in UPLOAD_TYPES:
                lines.append((name, "failed", t(lang, "upload_bad_type", name=name)))
                continue
            size = source.stat().st_size if source.exists() else 0
            if size > self.limit_mb * 1024 * 1024:
                mb = round(size / 1024 / 1024, 1)
                lines.append((name, "failed", t(lang, "upload_too_big", name=name, size=mb, limit=self.limit_mb)))
                continue
            target = self.uploads_dir / name
            try:
                self.uploads_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            except OSError as exc:
                lines.append((name, "failed", f"{name}: {exc.strerror or exc}"))
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

    def add_bundled(self, lang: str) -> str:
        report = self.assistant.ingest_bundled()
        return report_html([(Path(f.path).name, f.status, f.error or "") for f in report.files], lang)

    # -- removal --------------------------------------------------------------------
    def title_of(self, doc_id: str | None) -> str | None:
        if not doc_id:
            return None
        try:
            return self.assistant.document(doc_id).title
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
        return t(lang, "removed", title=doc.title)
