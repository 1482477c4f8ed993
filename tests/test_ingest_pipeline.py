"""The ingest pipeline with the real model and store: bad files are reported by name,
the good ones are ingested, and nothing already stored is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus"


def make_pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def encrypt_pdf(src: Path, dst: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(str(src)).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def test_bad_files_fail_by_name_and_the_rest_is_ingested(fresh_assistant, tmp_path: Path) -> None:
    a = fresh_assistant
    a.ingest([CORPUS / "000_1b396a36e8a233e6.txt"])
    stored = a.kb.store.count()
    good_pdf = make_pdf(tmp_path / "good.pdf", ["Page one about Vierzon factories.", "Page two: 42 robots in Bourges."])
    bad = {
        "empty.txt": tmp_path / "empty.txt",
        "corrupt.pdf": tmp_path / "corrupt.pdf",
        "locked.pdf": encrypt_pdf(good_pdf, tmp_path / "locked.pdf"),
        "binary.txt": tmp_path / "binary.txt",
        "image.pdf": tmp_path / "image.pdf",
        "data.xlsx": tmp_path / "data.xlsx",
    }
    bad["empty.txt"].write_text("  \n")
    bad["corrupt.pdf"].write_bytes(b"%PDF-1.4\n garbage \x00\x01\x02 not a pdf")
    bad["binary.txt"].write_bytes(bytes(range(256)) * 8)
    bad["data.xlsx"].write_bytes(b"PK\x03\x04")
    from fpdf import FPDF

    img = FPDF()
    img.add_page()
    img.rect(20, 20, 100, 60, style="F")
    img.output(str(bad["image.pdf"]))

    report = a.ingest([good_pdf, *bad.values()])
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["good.pdf"].status == "added"
    for name in bad:
        result = by_name[name]
        assert result.status == "failed", (name, result)
        assert name in result.error and "\n" not in result.error
    assert "encrypt" in by_name["locked.pdf"].error.lower()
    assert "xlsx" in by_name["data.xlsx"].error
    assert report.counts == {"added": 1, "unchanged": 0, "replaced": 0, "failed": 6}
    assert not report.ok
    # What was stored before is intact, and the good PDF is searchable with its pages.
    assert a.kb.store.count() > stored
    answer = a.answer("How many robots are in Bourges?")
    assert not answer.abstained
    assert answer.citations[0].source.endswith("good.pdf") and answer.citations[0].page == 2
    assert "42 robots" in answer.citations[0].quote


def test_same_content_under_two_names_is_stored_once(fresh_assistant, tmp_path: Path) -> None:
    a = fresh_assistant
    src = CORPUS / "001_27738308ae8cf9a0.txt"
    copy = tmp_path / "copy.txt"
    copy.write_bytes(src.read_bytes())
    report = a.ingest([src, copy])
    assert [f.status for f in report.files] == ["added", "unchanged"]
    assert "same content" in (report.files[1].error or "")
    assert len(a.documents()) == 1


def test_files_of_a_folder_that_tia_cannot_read_are_reported_as_skipped(fresh_assistant, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    (folder / "sub").mkdir(parents=True)
    (folder / "note.txt").write_text("Le fonds Atelier 2030 finance 40 % des machines des PME de l'Orne.", encoding="utf-8")
    (folder / "rapport.docx").write_bytes(b"PK\x03\x04 not read by tia")
    (folder / "sub" / "budget.xlsx").write_bytes(b"PK\x03\x04")
    (folder / "sans-extension").write_text("x", encoding="utf-8")
    (folder / ".cache.docx").write_bytes(b"hidden")  # hidden: neither read nor reported
    (folder / "note.meta.yaml").write_text("title: Atelier 2030\n", encoding="utf-8")  # a sidecar, not a document
    report = fresh_assistant.ingest([folder])
    assert report.counts == {"added": 1, "unchanged": 0, "replaced": 0, "failed": 0} and report.ok
    assert sorted(Path(p).name for p in report.skipped) == ["budget.xlsx", "rapport.docx", "sans-extension"]
    assert report.summary().endswith(", 3 skipped (unsupported type)")


def test_tia_ingest_names_each_skipped_file(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "rapport.docx").write_bytes(b"PK\x03\x04")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")} | {"TIA_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(folder)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr  # nothing failed: a skipped file is reported, not an error
    assert f"skipped: {folder / 'rapport.docx'} (unsupported type .docx; tia reads" in out.stderr
    assert "0 added, 0 unchanged, 0 replaced, 0 failed, 1 skipped (unsupported type)" in out.stdout


@pytest.mark.slow
def test_tia_ingest_with_workers_stores_what_one_process_stores(tmp_path: Path) -> None:
    """`--workers 2` reads and chunks in two spawned processes; the store, the report and the
    errors are the same as with one."""
    import os
    import shutil
    import subprocess
    import sys

    from knowledge.base import KnowledgeBase
    from knowledge.settings import Settings

    folder = tmp_path / "drop"
    shutil.copytree(CORPUS, folder)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<")  # truncated: fails by name in a worker too
    results = {}
    for workers in ("1", "2"):
        data = tmp_path / f"data{workers}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")} | {"TIA_DATA_DIR": str(data)}
        out = subprocess.run(
            [sys.executable, "-m", "assistant", "ingest", "--workers", workers, str(folder)],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        assert out.returncode == 1, out.stderr  # the broken file failed
        assert "5 added, 0 unchanged, 0 replaced, 1 failed" in out.stdout
        assert f"failed: {folder / 'broken.pdf'}: PDF is corrupt or truncated" in out.stderr, out.stderr
        kb = KnowledgeBase(Settings(data_dir=data))
        results[workers] = sorted((c.id, c.text) for c in kb.store.all_chunks())
    assert results["1"] == results["2"] and len(results["1"]) > 5
