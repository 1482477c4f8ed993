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
