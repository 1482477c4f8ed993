"""Loading files of every supported format, and refusing bad ones (ingest.loaders)."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from ingest.loaders import SUPPORTED_EXTENSIONS, load_document
from knowledge.errors import (
    EmptyDocumentError,
    IngestError,
    UnreadableDocumentError,
    UnsupportedFormatError,
)

# fpdf2's core fonts are latin-1: French accents are fine, "œ" and "’" are not used here.
PDF_PAGES = [
    "Orléans, le 3 février 2024\n"
    "Le programme Territoires d'industrie en Centre-Val de Loire : premier point d'étape.\n"
    "La réindustrialisation des territoires passe par l'indus-\ntrie verte et l'innovation.",
    "Deuxième page. Les lauréats de la seconde phase sont connus. Les territoires "
    "reçoivent un appui en ingénierie pour leurs projets.",
    "Troisième page. Le foncier industriel est mobilisé et les friches sont reconverties "
    "au service des entreprises.",
]


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def assert_one_line_naming(exc: IngestError, path: Path) -> None:
    message = str(exc)
    assert "\n" not in message
    assert path.name in message


# -- text and markdown ------------------------------------------------------------------


def test_txt(tmp_path: Path) -> None:
    raw = "Le point sur l’industrie\n\nLa région Centre-Val de Loire compte 12 territoires.\u00a0"
    path = write(tmp_path, "point.txt", raw)
    doc = load_document(path)
    assert doc.original == raw
    assert doc.text == "Le point sur l'industrie\n\nLa région Centre-Val de Loire compte 12 territoires."
    assert doc.pages == []
    meta = doc.metadata
    assert meta.format == "txt"
    assert meta.doc_id == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert meta.source == str(path.resolve())
    assert meta.title == "Le point sur l'industrie"
    assert meta.regions == ("Centre-Val de Loire",)
    assert meta.language == "fr"


def test_md(tmp_path: Path) -> None:
    raw = (
        "# **Territoires d’industrie** en Grand Est\n\n"
        "Publié le 12 mars 2024\n\n"
        "Un texte avec un [lien](https://example.org) et une image ![photo](a.png).\n\n"
        "- premier point\n- second point\n"
    )
    doc = load_document(write(tmp_path, "note.md", raw))
    assert doc.metadata.format == "md"
    assert doc.metadata.title == "Territoires d'industrie en Grand Est"
    assert doc.metadata.date == "2024-03-12"
    assert "**" not in doc.text and "#" not in doc.text and "https://" not in doc.text
    assert "Un texte avec un lien et une image ." in doc.text
    assert "- premier point\n- second point" in doc.text


def test_markdown_extension(tmp_path: Path) -> None:
    assert load_document(write(tmp_path, "n.markdown", "Bonjour le monde.")).metadata.format == "md"


def test_utf8_bom_and_utf16(tmp_path: Path) -> None:
    bom = write(tmp_path, "bom.txt", "\ufeffÉtat et Régions".encode())
    assert load_document(bom).text == "État et Régions"
    utf16 = write(tmp_path, "u16.txt", "Les Régions pilotent le programme.".encode("utf-16"))
    assert load_document(utf16).text == "Les Régions pilotent le programme."


def test_cp1252_french_text_is_accepted(tmp_path: Path) -> None:
    raw = "Le déploiement du programme « Territoires d’industrie » : 146 territoires, 1,36 Md€."
    doc = load_document(write(tmp_path, "ansi.txt", raw.encode("cp1252")))
    assert doc.text == "Le déploiement du programme « Territoires d'industrie » : 146 territoires, 1,36 Md€."


# -- HTML -------------------------------------------------------------------------------

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="fr"><head>
<meta charset="utf-8">
<title>Le point sur le programme | Préfecture de région</title>
<meta property="article:published_time" content="2024-05-21T09:30:00+02:00">
<style>.menu { color: red } body { font-family: NAVSTYLE; }</style>
<script>var tracker = "SCRIPTCODE";</script>
</head><body>
<header class="site"><a href="/">Accueil du site BANNERTEXT</a></header>
<nav><ul><li><a href="/a">Rubrique NAVLINK un</a></li><li><a href="/b">Rubrique NAVLINK deux</a></li></ul></nav>
<main><article>
<h1>Le point sur le programme Territoires d’industrie en région CVL</h1>
<p>Réindustrialiser les territoires et faire de la France la championne de l’industrie verte :
le programme Territoires d’industrie entre dans sa seconde phase en Centre-Val de Loire.</p>
<p>En Centre-Val de Loire, 12 territoires sont lauréats de cette seconde phase du programme :</p>
<ul><li>Est du Loiret, qui inclut notamment Montargis</li><li>Chartres métropole</li><li>Issoudun</li></ul>
<p>Ces territoires d’industrie rassemblent près de la moitié des communes de la région, et le
2<sup>e</sup> comité régional s’est tenu au printemps avec les élus et les industriels.</p>
</article></main>
<aside>Articles liés ASIDETEXT</aside>
<footer>Mentions légales FOOTERTEXT</footer>
<script>console.log("SCRIPTCODE2")</script>
</body></html>
"""


def test_html_main_text_only(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "page.html", ARTICLE_HTML))
    for junk in ("SCRIPTCODE", "NAVSTYLE", "NAVLINK", "BANNERTEXT", "ASIDETEXT", "FOOTERTEXT", "<", "{"):
        assert junk not in doc.text, junk
    assert "12 territoires sont lauréats de cette seconde phase du programme :" in doc.text
    # The list stays attached to the sentence introducing it, one item a line.
    assert "du programme :\n- Est du Loiret, qui inclut notamment Montargis\n- Chartres métropole\n- Issoudun" in doc.text
    assert "le 2e comité régional" in doc.text.replace("\n", " ")
    meta = doc.metadata
    assert meta.format == "html"
    assert meta.title == "Le point sur le programme Territoires d'industrie en région CVL"
    assert meta.date == "2024-05-21"
    assert meta.regions == ("Centre-Val de Loire",)
    assert doc.original.startswith("<!DOCTYPE html>")


def test_htm_short_page_and_title_tag(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Court communiqué | Ministère</title></head><body>"
        "<nav>Menu NAVLINK Accueil</nav><p>Un texte court.</p><script>SCRIPTCODE()</script></body></html>"
    )
    doc = load_document(write(tmp_path, "court.htm", html))
    assert doc.text == "Un texte court."
    assert doc.metadata.title == "Court communiqué"
    assert doc.metadata.format == "html"


def test_html_declared_latin1(tmp_path: Path) -> None:
    html = '<html><head><meta charset="iso-8859-1"></head><body><p>Région Île-de-France, déploiement.</p></body></html>'
    doc = load_document(write(tmp_path, "latin.html", html.encode("iso-8859-1")))
    assert doc.text == "Région Île-de-France, déploiement."
    assert doc.metadata.regions == ("Île-de-France",)


def test_html_without_text(tmp_path: Path) -> None:
    path = write(tmp_path, "vide.html", "<html><head><script>x()</script></head><body><nav>Menu</nav></body></html>")
    with pytest.raises(EmptyDocumentError) as info:
        load_document(path)
    assert_one_line_naming(info.value, path)


# -- PDF --------------------------------------------------------------------------------


def test_pdf_pages(tmp_path: Path) -> None:
    path = write(tmp_path, "rapport.pdf", make_pdf(PDF_PAGES))
    doc = load_document(path)
    assert doc.metadata.format == "pdf"
    assert [p.number for p in doc.pages] == [1, 2, 3]
    page_texts = [doc.text[p.start : p.end] for p in doc.pages]
    assert "Orléans, le 3 février 2024" in page_texts[0]
    assert "Deuxième page" in page_texts[1] and "Deuxième page" not in page_texts[0]
    assert "Troisième page" in page_texts[2]
    # Pages are joined by a blank line, and spans follow each other.
    for before, after in zip(doc.pages, doc.pages[1:], strict=False):
        assert doc.text[before.end : after.start] == "\n\n"
    assert doc.pages[0].start == 0 and doc.pages[-1].end == len(doc.text)
    assert doc.page_at(doc.text.index("Troisième")) == 3
    # The hyphenated line end is joined.
    assert "l'industrie verte" in doc.text
    assert doc.metadata.date == "2024-02-03"
    assert doc.metadata.regions == ("Centre-Val de Loire",)


def test_pdf_title_from_info(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "t.pdf", make_pdf(PDF_PAGES[1:], title="Rapport annuel des territoires")))
    assert doc.metadata.title == "Rapport annuel des territoires"


def test_pdf_encrypted(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_PAGES))))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    path = write(tmp_path, "secret.pdf", buffer.getvalue())
    with pytest.raises(UnreadableDocumentError) as info:
        load_document(path)
    assert "encrypted" in str(info.value) and "decrypt it first" in str(info.value)
    assert_one_line_naming(info.value, path)


def test_pdf_with_owner_password_only_is_read(tmp_path: Path) -> None:
    # An empty user password: anyone may open it, only editing is restricted.
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_PAGES))))
    writer.encrypt(user_password="", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    doc = load_document(write(tmp_path, "restricted.pdf", buffer.getvalue()))
    assert "Deuxième page" in doc.text


@pytest.mark.parametrize(
    "content",
    [
        random.Random(7).randbytes(3000),
        b"%PDF-1.7\n" + random.Random(8).randbytes(3000),
        b"Ceci n'est pas un PDF.",
    ],
    ids=["random", "pdf-header-then-garbage", "text"],
)
def test_pdf_corrupt(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "casse.pdf", content)
    with pytest.raises(UnreadableDocumentError) as info:
        load_document(path)
    assert_one_line_naming(info.value, path)


def test_pdf_image_only(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 60, style="F")
    path = write(tmp_path, "scan.pdf", bytes(pdf.output()))
    with pytest.raises(EmptyDocumentError) as info:
        load_document(path)
    assert "no extractable text (scanned image?)" in str(info.value)
    assert_one_line_naming(info.value, path)


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vide.txt", "vide.md", "vide.html", "vide.pdf"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, b"")
    with pytest.raises(EmptyDocumentError) as info:
        load_document(path)
    assert "empty" in str(info.value)
    assert_one_line_naming(info.value, path)


@pytest.mark.parametrize("name", ["blanc.txt", "blanc.md"])
def test_whitespace_only(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, " \n\t\n\u00a0\n")
    with pytest.raises(EmptyDocumentError) as info:
        load_document(path)
    assert_one_line_naming(info.value, path)


def test_markup_only_markdown(tmp_path: Path) -> None:
    path = write(tmp_path, "image.md", "![[Image1]](/img/a.jpg)\n\n**  **\n")
    with pytest.raises(EmptyDocumentError):
        load_document(path)


@pytest.mark.parametrize(
    "content",
    [
        random.Random(1).randbytes(4096),  # NUL bytes
        bytes(random.Random(2).randrange(1, 256) for _ in range(4096)),  # no NUL, still binary
        b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)) * 4,
    ],
    ids=["random", "random-without-nul", "png-like"],
)
def test_binary_junk_txt(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "junk.txt", content)
    with pytest.raises(UnreadableDocumentError) as info:
        load_document(path)
    assert_one_line_naming(info.value, path)


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "rapport.docx", b"PK\x03\x04 not really a docx")
    with pytest.raises(UnsupportedFormatError) as info:
        load_document(path)
    assert "'.docx'" in str(info.value)
    for ext in SUPPORTED_EXTENSIONS:
        assert ext in str(info.value)
    assert_one_line_naming(info.value, path)


def test_no_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "LISEZMOI", "du texte")
    with pytest.raises(UnsupportedFormatError):
        load_document(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.txt"
    with pytest.raises(IngestError) as info:
        load_document(path)
    assert "no such file" in str(info.value)
    assert_one_line_naming(info.value, path)
