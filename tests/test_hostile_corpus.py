"""A hostile corpus (issue 11, "Bad input"): every file is refused with a message naming it, or
read in a documented way, within the loader's limits, and nothing already stored changes.

The corpus is generated here, once per module, in a temporary folder: broken, encrypted and
image-only PDFs, PDF bombs, files too big, odd encodings, deeply nested or scripted HTML, names
holding control characters, symbolic link loops. Each case is loaded alone (no model needed),
then the whole folder goes through the real `tia ingest`, into a data dir that already holds a
document.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from ingest import loaders
from ingest.chunking import LIST_ALLOWANCE, chunk_document
from ingest.loaders import (
    MAX_PDF_BYTES,
    MAX_PDF_CONTENT_BYTES,
    MAX_PDF_PAGES,
    MAX_PDF_STREAM_BYTES,
    MAX_TEXT_BYTES,
    load_document,
    shown_path,
)
from knowledge.errors import (
    EmptyDocumentError,
    IngestError,
    UnreadableDocumentError,
    UnsupportedFormatError,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "knowledge" / "corpus"
PREVIOUS = CORPUS / "000_1b396a36e8a233e6.txt"  # ingested before the hostile folder

SENTENCE = "Le programme Territoires d'industrie soutient les usines de Vierzon et de Bourges. "

# -- making the files -------------------------------------------------------------------


def fpdf_bytes(pages: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def raw_pdf(content: bytes, pages: int = 1) -> bytes:
    """A minimal PDF written by hand: `pages` pages all showing one Flate content stream."""
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (5 + i) for i in range(pages)) + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    objects += [page] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


SHOW_TEXT = b"BT /F1 12 Tf 72 720 Td (Bonjour Vierzon) Tj ET\n"


def encrypted(data: bytes, *, user: str, algorithm: str = "RC4-128") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password="proprietaire", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_only_pdf() -> bytes:
    from PIL import Image

    pdf = FPDF()
    pdf.add_page()
    pdf.image(Image.new("RGB", (300, 200), (180, 40, 40)), x=20, y=20, w=120)  # a "scan": pixels, no text
    return bytes(pdf.output())


def garbled_xref(data: bytes) -> bytes:
    """Every offset of the cross-reference table replaced by 9s."""
    start = data.rindex(b"\nxref\n") + len(b"\nxref\n")
    end = data.index(b"trailer", start)
    table = data[start:end].split(b"\n", 1)  # "0 8" then the entries
    entries = bytes(b if b in b" \nfn" else ord("9") for b in table[1])
    return data[:start] + table[0] + b"\n" + entries + data[end:]


def repeated(text: str, size: int, encoding: str = "utf-8") -> bytes:
    unit = text.encode(encoding)
    return (unit * (size // len(unit) + 1))[:size]


LATIN1 = "Élévation du coût à Orléans : les élèves de l'école ont réalisé ce défi en août, à Noël."
CP1252 = "L’usine de Vierzon reçoit 3 M€ : une œuvre « cœur » de la réindustrialisation – enfin…"
UTF16 = "Les Régions pilotent l’action : 12 M€ pour Châteauroux et l’Île-de-France."

SCRIPTED_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Page piégée | Site</title>
<script>var SCRIPTHEAD = 1;</script><SCRIPT type="text/javascript">SCRIPTUPPER()</SCRIPT>
<style>body { STYLECSS: 1 }</style></head>
<body onload="ONLOADJS()">
<p onclick="ONCLICKJS()" onmouseover='ONMOUSEJS()'>Le fonds soutient l’atelier de Vierzon : 3 M€ investis en 2024.</p>
<script>document.write("<p>SCRIPTWRITE</p>")</script>
<a href="javascript:HREFJS()" onclick="ONCLICK2JS()">Le dossier de presse complet</a>
<img src="x.png" onerror="ONERRORJS()" alt="photo">
<noscript>NOSCRIPTTEXT</noscript><template><p>TEMPLATETEXT</p></template>
<iframe srcdoc="&lt;script&gt;SRCDOCJS()&lt;/script&gt;"></iframe>
<svg><script>SVGSCRIPT()</script></svg>
<!-- <script>COMMENTJS()</script> -->
<p>La région Centre-Val de Loire compte douze territoires lauréats de la seconde phase.</p>
<script>UNCLOSEDSCRIPT()
"""
SCRIPT_MARKERS = ("SCRIPT", "STYLECSS", "JS()", "ONLOAD", "ONCLICK", "ONMOUSE", "NOSCRIPTTEXT", "TEMPLATETEXT")

NESTED_HTML = (
    "<html><head><title>Imbrication | Site</title></head><body><h1>Une page très imbriquée sur Bourges</h1>"
    + "<div>" * 5000
    + "<p>Texte profond : l’usine de Bourges recrute 40 techniciens.</p>"
    + "</div>" * 5000
    + "<p>Après les div : la page finit à Vierzon.</p><script>NESTEDSCRIPT()</script></body></html>"
)


def symlink(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    return make


def content(data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data() if callable(data) else data)

    return make


def sparse(size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "wb") as fh:  # a hole: no disk used, no byte written
            fh.truncate(size)

    return make


# -- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile file: `name` inside the corpus folder, how to make it, and what loading it gives.

    `error`: the exception refused files raise (`reason` in its message); None for a file that is
    read, whose text holds `present` and none of `absent` (`original` in the decoded original)."""

    id: str
    name: str
    make: Callable[[Path], None]
    error: type[IngestError] | None = None
    reason: str = ""
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    original: tuple[str, ...] = field(default=())
    limit: str = ""  # the loader constant it exercises, for the report

    @property
    def refused(self) -> bool:
        return self.error is not None


GOOD_PDF = ["Bourges, le 4 mars 2024. Le rapport sur l'atelier de Bourges.", "Page deux : 42 robots livrés."]

CASES = [
    # PDFs
    Case("pdf-truncated", "truncated.pdf", content(lambda: fpdf_bytes(GOOD_PDF)[:700]),
         UnreadableDocumentError, "PDF is corrupt or truncated"),
    Case("pdf-not-a-pdf", "photo.pdf", content(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
         UnreadableDocumentError, "file is not a PDF (no %PDF header)"),
    Case("pdf-xref-garbage", "xref-garbage.pdf",
         content(lambda: garbled_xref(fpdf_bytes(["Orléans, le 3 février 2024. Le xref est faux à Orléans."]))),
         present=("Le xref est faux à Orléans",)),  # pypdf rebuilds the table by scanning the file
    Case("pdf-user-password", "locked.pdf", content(lambda: encrypted(fpdf_bytes(["Secret de Vierzon."]), user="secret")),
         UnreadableDocumentError, "PDF is encrypted (password-protected); decrypt it first"),
    Case("pdf-owner-password-rc4", "owner-only.pdf",
         content(lambda: encrypted(fpdf_bytes(["Un rapport public sur Dreux."]), user="")),
         present=("Un rapport public sur Dreux.",)),
    Case("pdf-owner-password-aes", "owner-only-aes.pdf",
         content(lambda: encrypted(fpdf_bytes(["Un rapport public sur Issoudun."]), user="", algorithm="AES-256")),
         present=("Un rapport public sur Issoudun.",)),
    Case("pdf-image-only", "scan.pdf", content(image_only_pdf),
         EmptyDocumentError, "PDF has no extractable text (scanned image?); run OCR on it first"),
    Case("pdf-20000-pages", "pages-bomb.pdf", content(lambda: raw_pdf(SHOW_TEXT, 20_000)),
         UnreadableDocumentError, f"PDF has 20000 pages, over the limit of {MAX_PDF_PAGES}", limit="MAX_PDF_PAGES"),
    Case("pdf-flate-bomb", "flate-bomb.pdf", content(lambda: raw_pdf(SHOW_TEXT + b" " * 64_000_000)),
         UnreadableDocumentError, "(a decompression bomb?)", limit="MAX_PDF_STREAM_BYTES"),
    Case("pdf-shared-content-bomb", "content-bomb.pdf",
         content(lambda: raw_pdf(SHOW_TEXT + b" " * (MAX_PDF_STREAM_BYTES - 1024), 5)),
         UnreadableDocumentError, "PDF page content decompresses to more than 64.0 MiB by page 5",
         limit="MAX_PDF_CONTENT_BYTES"),
    Case("pdf-1GiB", "huge.pdf", sparse(2**30),
         UnreadableDocumentError, "file is too large (1024.0 MiB); tia reads PDF files up to 100.0 MiB", limit="MAX_PDF_BYTES"),
    # text
    Case("zero-bytes", "empty.txt", content(b""), EmptyDocumentError, "file is empty"),
    Case("binary-named-txt", "binary.txt", content(random.Random(11).randbytes(8192)),
         UnreadableDocumentError, "file holds NUL bytes: it is binary, not text"),
    Case("latin-1", "latin1.txt", content(LATIN1.encode("latin-1")), present=(LATIN1,), original=(LATIN1,)),
    Case("windows-1252", "cp1252.txt", content(CP1252.encode("cp1252")),
         present=("L'usine de Vierzon reçoit 3 M€", "une œuvre « cœur »", "– enfin…"), original=(CP1252,)),
    Case("utf-16-le-bom", "utf16-le.txt", content(UTF16.encode("utf-16")),  # the platform's order, with a BOM
         present=("12 M€ pour Châteauroux et l'Île-de-France",), original=(UTF16,)),
    Case("utf-16-be-bom", "utf16-be.txt", content(b"\xfe\xff" + UTF16.encode("utf-16-be")), original=(UTF16,)),
    Case("utf-16-no-bom", "utf16-nobom.txt", content(UTF16.encode("utf-16-le")), original=(UTF16,)),
    Case("50MB-text", "huge.txt", content(lambda: repeated(SENTENCE + "\n", 50_000_000)),
         UnreadableDocumentError, "file is too large (47.7 MiB); tia reads text files up to 8.0 MiB: split it",
         limit="MAX_TEXT_BYTES"),
    Case("10MB-single-line", "one-line.txt", content(lambda: repeated(SENTENCE, 10_000_000)),
         UnreadableDocumentError, "file is too large (9.5 MiB); tia reads text files up to 8.0 MiB", limit="MAX_TEXT_BYTES"),
    Case("script-in-markdown", "script.md",
         content(b"# Note sur Vierzon\n\nTexte utile sur l'atelier.\n\n<script>MDSCRIPT()</script>\n\n"
                 b"<div onclick=\"MDONCLICK()\">Bouton</div>\n<style>MDSTYLE { }</style>\n"),
         present=("Texte utile sur l'atelier.",), absent=("MDSCRIPT", "MDONCLICK", "MDSTYLE")),
    # HTML
    Case("html-5000-nested-divs", "nested.html", content(NESTED_HTML.encode()),
         present=("Texte profond : l'usine de Bourges recrute 40 techniciens.", "Après les div : la page finit à Vierzon."),
         absent=("NESTEDSCRIPT", "<")),
    Case("html-scripts-and-handlers", "scripted.html", content(SCRIPTED_HTML.encode()),
         present=("Le fonds soutient l'atelier de Vierzon : 3 M€ investis en 2024.", "douze territoires lauréats"),
         absent=SCRIPT_MARKERS),
    Case("html-declares-utf16-is-utf8", "charset-lie.html",
         content('<html><head><meta charset="utf-16"></head><body><p>Région Île-de-France : déploiement.</p></body></html>'.encode()),
         present=("Région Île-de-France : déploiement.",)),
    Case("html-declares-latin1-is-cp1252", "charset-latin1.html",
         content('<html><head><meta charset="iso-8859-1"></head><body><p>L’aide : 5 M€ à Dreux.</p></body></html>'.encode("cp1252")),
         present=("L'aide : 5 M€ à Dreux.",)),
    # names
    Case("name-escape-sequence", "esc\x1b[31mape.txt", content(b"Un texte sur Vierzon."),
         UnreadableDocumentError, "file name holds a control character (\\x1b); rename the file"),
    Case("name-line-break", "line\nbreak.txt", content(b"Un texte sur Bourges."),
         UnreadableDocumentError, "file name holds a control character (\\n); rename the file"),
    Case("name-not-utf8", os.fsdecode(b"caf\xe9.txt"), content(b"Un texte sur Dreux."),
         UnreadableDocumentError, "file name is not valid UTF-8; rename the file"),
    Case("name-bidi-override", "rapport\u202etxt.md", content(b"Un texte sur Chartres."),
         UnreadableDocumentError, "file name holds a control character (\\u202e)"),
    # links
    Case("symlink-loop-a", "loop-a.txt", symlink("loop-b.txt"), IngestError, "symbolic link loop: the link leads back to itself"),
    Case("symlink-loop-b", "loop-b.txt", symlink("loop-a.txt"), IngestError, "symbolic link loop: the link leads back to itself"),
    Case("symlink-folder-loop", "sub/up", symlink(".."), IngestError, "symbolic link loop: it points to"),
    Case("symlink-broken", "dangling.md", symlink("missing.md"), IngestError, "broken symbolic link: its target 'missing.md' does not exist"),
    # unsupported: refused by the loader, `skipped:` in a folder
    Case("unsupported-docx", "rapport.docx", content(b"PK\x03\x04 not read by tia"), UnsupportedFormatError, "unsupported file type '.docx'"),
    Case("unsupported-xlsx", "budget.xlsx", content(b"PK\x03\x04"), UnsupportedFormatError, "unsupported file type '.xlsx'"),
]  # fmt: skip
assert len(CASES) >= 20 and len({c.id for c in CASES}) == len(CASES) and len({c.name for c in CASES}) == len(CASES)

GOOD = {
    "good.md": "# Atelier 2030 à Vierzon\n\nLe fonds Atelier 2030 finance 40 % des machines des PME de Vierzon.\n",
    "good.pdf": None,  # fpdf_bytes(GOOD_PDF)
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile folder: every case, plus two good documents."""
    folder = tmp_path_factory.mktemp("hostile") / "drop"
    folder.mkdir()
    for case in CASES:
        case.make(folder / case.name)
    (folder / "good.md").write_text(GOOD["good.md"], encoding="utf-8")
    (folder / "good.pdf").write_bytes(fpdf_bytes(GOOD_PDF))
    return folder


# -- each file alone through the loader -------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_hostile_file(hostile: Path, case: Case) -> None:
    path = hostile / case.name
    if case.refused:
        with pytest.raises(case.error) as info:
            load_document(path)
        message = str(info.value)
        assert type(info.value) is case.error, message
        assert case.reason in message
        # One printable line that names the file (escaped when its name holds control characters).
        assert message.startswith(shown_path(path) + ": ")
        assert message.isprintable(), repr(message)
        return
    doc = load_document(path)
    for fragment in case.present:
        assert fragment in doc.text, (fragment, doc.text)
    for fragment in case.absent:
        assert fragment not in doc.text, (fragment, doc.text)
    for fragment in case.original:
        assert fragment in doc.original, (fragment, doc.original)
    assert "\ufffd" not in doc.text and "\x00" not in doc.text
    assert chunk_document(doc)


def test_limits_are_what_the_cases_exercise() -> None:
    # The documented limits (see ingest.loaders); a case that goes past each one is in CASES.
    assert (MAX_TEXT_BYTES, MAX_PDF_BYTES) == (8 * 2**20, 100 * 2**20)
    assert (MAX_PDF_PAGES, MAX_PDF_STREAM_BYTES, MAX_PDF_CONTENT_BYTES) == (2000, 16 * 2**20, 64 * 2**20)
    assert loaders.MAX_TEXT_CHARS == MAX_TEXT_BYTES
    exercised = {c.limit for c in CASES if c.limit}
    assert exercised == {"MAX_TEXT_BYTES", "MAX_PDF_BYTES", "MAX_PDF_PAGES", "MAX_PDF_STREAM_BYTES", "MAX_PDF_CONTENT_BYTES"}


@pytest.mark.parametrize("name", ["huge.txt", "one-line.txt", "huge.pdf"])
def test_a_file_too_big_is_refused_before_a_byte_is_read(hostile: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(loaders, "open", spy, raising=False)
    with pytest.raises(UnreadableDocumentError, match="file is too large"):
        load_document(hostile / name)
    assert opened == []
    load_document(hostile / "good.md")
    assert opened == [str((hostile / "good.md").resolve())]  # the spy does see reads


def test_a_file_bigger_than_its_size_said_is_read_no_further(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A file that grows between stat() and read() (or a size that lies): at most the limit + 1
    # bytes are read, then it is refused.
    path = tmp_path / "grows.txt"
    path.write_text(SENTENCE, encoding="utf-8")
    monkeypatch.setattr(loaders, "MAX_TEXT_BYTES", 40)
    real_stat = Path.stat

    def stat(self: Path, **kwargs: object) -> os.stat_result:
        st = real_stat(self, **kwargs)
        return os.stat_result((st.st_mode, *st[1:6], 10, *st[7:])) if self.name == "grows.txt" else st

    reads: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, file: object, *args: object) -> None:
            self.fh = real_open(file, *args)  # type: ignore[call-overload]

        def __enter__(self) -> Spy:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            return self.fh.read(n)

    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setattr(loaders, "open", Spy, raising=False)
    with pytest.raises(UnreadableDocumentError, match=r"file is too large \(over 40 bytes\)"):
        load_document(path)
    assert reads == [41]


def test_whatever_a_parser_raises_becomes_an_error_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # lxml stops at 256 levels, so no real page reaches Python's recursion limit; should a parser
    # still blow up on some file, that file fails, by name, and the batch goes on.
    def deep(path: Path, data: bytes) -> loaders.Extracted:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(loaders.LOADERS, "html", deep)
    path = tmp_path / "deep.html"
    path.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(UnreadableDocumentError) as info:
        load_document(path)
    assert str(info.value) == f"{path}: file cannot be read (RecursionError: maximum recursion depth exceeded); is it corrupt?"


def test_a_path_with_dot_dot_is_stored_resolved(hostile: Path) -> None:
    doc = load_document(hostile / "sub" / ".." / "good.md")
    assert doc.metadata.source == str((hostile / "good.md").resolve())
    assert ".." not in doc.metadata.source


# A "billion laughs" value: under 1 KB of YAML aliases, 9**8 "lol"s (hundreds of MB) once printed.
_LAUGHS = "[&a [lol, lol, lol, lol, lol, lol, lol, lol, lol], " + ", ".join(
    f"&{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefg", "bcdefgh")
) + "]"


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        (f"title: {_LAUGHS}\n", "title must be a text"),
        (f"date: {_LAUGHS}\n", "date must be a date like 2024-03-15, not a list"),
        (f"regions: {_LAUGHS}\n", "regions must be a list of region names"),
        ("title: " + "x" * 70_000 + "\n", "sidecar is over 64 KiB"),
    ],
    ids=["title", "date", "regions", "too-big"],
)
def test_a_hostile_sidecar_is_refused_by_name(tmp_path: Path, sidecar: str, message: str) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Note sur Vierzon\n\nLe territoire de Vierzon compte 12 entreprises.", encoding="utf-8")
    side = tmp_path / "note.meta.yaml"
    side.write_text(sidecar, encoding="utf-8")
    assert side.stat().st_size < 1024 or "too-big" in message or "64 KiB" in message
    with pytest.raises(IngestError) as info:
        load_document(path)
    assert str(side) in str(info.value) and message in str(info.value)


# A single line of 1 MB (under MAX_TEXT_BYTES) in the shapes that made normalisation quadratic:
# one 1 MB word (hyphenation), a run of spaces (heading and line-edge patterns), unclosed bold
# markers and unclosed comments. They load and chunk in linear time (about a second each, where
# the old patterns took hours); chunks stay within their size.
PATHOLOGICAL_LINES = {
    "one-word": "a" * 1_000_000,
    "space-run": "a" + " " * 1_000_000 + "b",
    "unclosed-bold": "**a " * 250_000,
    "unclosed-comments": "<!-- a " * 140_000,
    "sentence-no-newline": (SENTENCE * 12_000)[:1_000_000],
}


@pytest.mark.parametrize("line", PATHOLOGICAL_LINES.values(), ids=PATHOLOGICAL_LINES.keys())
def test_one_long_line_under_the_limit_is_read_in_linear_time(tmp_path: Path, line: str) -> None:
    path = tmp_path / "line.txt"
    path.write_text("Le texte sur Vierzon. " + line + " Fin du texte.", encoding="utf-8")
    doc = load_document(path)
    assert doc.text.endswith("Fin du texte.")
    chunks = chunk_document(doc)
    assert chunks and max(len(c.page_content) for c in chunks) <= LIST_ALLOWANCE * 900  # chunk_size


# -- the whole folder through `tia ingest` ------------------------------------------------

TIA = [sys.executable, "-m", "assistant"]

SNAPSHOT = """
import json, sys
from pathlib import Path
from assistant.service import Assistant
from knowledge.settings import Settings
a = Assistant(Settings(data_dir=Path(sys.argv[1])))
chunks = sorted([c.id, c.text, c.metadata.get("source")] for c in a.kb.store.all_chunks())
docs = sorted([d.doc_id, d.source, d.chunks, d.text] for d in a.documents())
print(json.dumps({"chunks": chunks, "docs": docs}))
"""


def tia(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")} | {"TIA_DATA_DIR": str(data_dir)}
    return subprocess.run(TIA + args, check=False, capture_output=True, text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=600)


def snapshot(data_dir: Path) -> dict[str, list[list[object]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    out = subprocess.run([sys.executable, "-c", SNAPSHOT, str(data_dir)], check=False, capture_output=True, text=True,
                         encoding="utf-8", env=env, cwd=ROOT, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_tia_ingest_of_the_hostile_folder(hostile: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = tia(["ingest", str(PREVIOUS), "--quiet"], data)
    assert first.returncode == 0 and "1 added, 0 unchanged, 0 replaced, 0 failed" in first.stdout, first.stderr
    before = snapshot(data)
    assert len(before["docs"]) == 1 and before["chunks"]

    # A file given through a path with "..": stored under its real path.
    outside = tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    (outside / "dotdot.md").write_text("# Note de Dreux\n\nLe territoire de Dreux ouvre un atelier.\n", encoding="utf-8")
    out = tia(["ingest", str(hostile), str(outside / "inner" / ".." / "dotdot.md")], data)
    output = out.stdout + out.stderr

    refused = [c for c in CASES if c.refused and c.error is not UnsupportedFormatError]
    read = [c for c in CASES if not c.refused]
    added = len(read) + len(GOOD) + 1  # + dotdot.md
    assert out.returncode == 1, output  # the existing convention: exit 1 when a file failed
    assert f"{added} added, 0 unchanged, 0 replaced, {len(refused)} failed, 2 skipped (unsupported type)" in out.stdout
    assert "Traceback" not in output
    assert all(line.isprintable() for line in output.splitlines()), repr(output)
    assert "\x1b" not in output  # a name's escape sequence is shown escaped, never sent to the terminal
    failed_lines = [line for line in out.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed_lines) == len(refused), failed_lines
    for case in refused:
        mine = [line for line in failed_lines if line.startswith(f"failed: {shown_path(hostile / case.name)}: ")]
        assert len(mine) == 1 and case.reason in mine[0], (case.id, mine or failed_lines)
    for name in ("rapport.docx", "budget.xlsx"):
        assert f"skipped: {hostile / name} (unsupported type" in out.stderr
    for name in [c.name for c in read] + list(GOOD):
        assert f"added: {hostile / name} [" in out.stdout, name

    after = snapshot(data)
    sources = {doc[1] for doc in after["docs"]}
    assert str((outside / "dotdot.md").resolve()) in sources and not any(".." in s for s in sources)
    assert {str((hostile / n).resolve()) for n in GOOD} <= sources
    assert len(after["docs"]) == 1 + added
    # What was stored before is exactly as it was: same document, same chunk ids and texts.
    previous = str(PREVIOUS.resolve())
    assert [d for d in after["docs"] if d[1] == previous] == before["docs"]
    assert [c for c in after["chunks"] if c[2] == previous] == before["chunks"]
