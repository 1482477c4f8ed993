"""File on disk -> `LoadedDocument`: one loader per format behind one entry point.

>>> doc = load_document("knowledge/corpus/003_3af200a01a20ee1d.txt")
>>> doc.metadata.format, doc.metadata.date
('txt', '2019-09-24')

A loader turns a file's bytes into `Extracted` (the decoded original, the text
to index, page by page for a PDF, and any title/date the format itself gives);
`load_document` then normalises, assembles page spans and builds the metadata.
Every failure is an `IngestError` subclass whose message is one line naming the
file: `UnsupportedFormatError`, `EmptyDocumentError`, `UnreadableDocumentError`.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.document import Format, LoadedDocument, PageSpan
from ingest.metadata import build_metadata, parse_date
from ingest.normalize import normalize_text
from knowledge.errors import (
    EmptyDocumentError,
    IngestError,
    UnreadableDocumentError,
    UnsupportedFormatError,
)

__all__ = [
    "FORMATS",
    "SUPPORTED_EXTENSIONS",
    "Extracted",
    "Loader",
    "decode_text",
    "format_of",
    "load_document",
    "load_html",
    "load_pdf",
    "load_text",
]

FORMATS: dict[str, Format] = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
SUPPORTED_EXTENSIONS = frozenset(FORMATS)
PAGE_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Extracted:
    """What a format loader gets out of a file.

    `original`: the decoded file (a PDF's raw page texts joined by a blank line);
    `parts`: the text to normalise and index, one string per page for a PDF,
    a single string otherwise; `title`/`date`: hints the format itself gives.
    """

    original: str
    parts: list[str]
    paged: bool = False
    title: str | None = None
    date: str | None = None


Loader = Callable[[Path, bytes], Extracted]


def format_of(path: Path) -> Format:
    """The format for `path`'s extension, or `UnsupportedFormatError`."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedFormatError(
            path,
            f"unsupported file type {path.suffix or '(no extension)'!r}; "
            f"tia reads {', '.join(sorted(SUPPORTED_EXTENSIONS))}",
        )
    return fmt


# -- decoding ---------------------------------------------------------------------------

# Characters a Windows-1252 French text may hold beyond ASCII letters: anything else
# (control characters, ¤ ¦ ¨ ¬ ¯ ± µ ¶ ...) suggests the bytes are not cp1252 text.
_CP1252_PUNCT = set("€‚„…†•–—‘’“”«»°·§©®™×œŒæÆ²³¹ºª¼½¾\u00a0")
_ALLOWED_CONTROLS = set("\t\n\r\f")


def _controls(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)


def _plausible_cp1252(text: str) -> bool:
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return True
    odd = sum(1 for ch in non_ascii if not (ch.isalpha() or ch in _CP1252_PUNCT))
    letters = sum(1 for ch in text if ch.isalpha())
    # Real French text: a few percent of accented letters among many ASCII letters.
    return odd <= max(1, len(non_ascii) // 20) and len(non_ascii) <= 0.3 * max(letters, 1)


def decode_text(data: bytes, path: Path) -> str:
    """Bytes of a text file -> str: UTF-8 (BOM or not), UTF-16 with a BOM, or plausible cp1252.

    Binary content (NUL bytes, control characters, bytes that are neither UTF-8
    nor believable Windows-1252 text) is refused with `UnreadableDocumentError`.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnreadableDocumentError(path, "file has a UTF-16 byte-order mark but is not UTF-16") from exc
    elif b"\x00" in data:
        raise UnreadableDocumentError(path, "file holds NUL bytes: it is binary, not text")
    else:
        text = _utf8_or_cp1252(data, path)
    if _controls(text) > len(text) // 100:
        raise UnreadableDocumentError(path, "file holds control characters: it is binary, not text")
    return text


def _utf8_or_cp1252(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = ""
        if not text or _controls(text) or not _plausible_cp1252(text):
            raise UnreadableDocumentError(
                path,
                f"file is not valid UTF-8 (bad byte at offset {utf8_error.start}) and does not look like "
                "Windows-1252 text either; convert it to UTF-8",
            ) from utf8_error
        return text


# -- text and markdown ------------------------------------------------------------------


def load_text(path: Path, data: bytes) -> Extracted:
    """.txt and .md: decoded as they are (markdown is stripped by normalisation)."""
    text = decode_text(data, path)
    if not text.strip():
        raise EmptyDocumentError(path, "file holds only whitespace")
    return Extracted(original=text, parts=[text])


# -- HTML -------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s")
# Never page content. header/footer only when outside <article>/<main>: an article's
# own <header> holds its title and date.
_BOILERPLATE_XPATH = (
    "//script | //style | //noscript | //template | //nav | //aside | //form | //svg | //iframe"
    " | //button | //select | //*[@role='navigation' or @role='banner' or @role='contentinfo']"
    " | //*[@aria-hidden='true']"
    " | //header[not(ancestor::article or ancestor::main)]"
    " | //footer[not(ancestor::article or ancestor::main)]"
)
_BLOCK_TAGS = (
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
    "ol", "dl", "dt", "dd", "table", "tr", "blockquote", "pre", "br", "hr", "figure", "figcaption",
)  # fmt: skip
_DATE_META = (
    "article:published_time", "datepublished", "date", "dc.date", "dc.date.issued",
    "dcterms.date", "dcterms.created", "pubdate", "publish-date", "og:published_time",
)  # fmt: skip


def _decode_html(data: bytes, path: Path) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared and not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration: decide from the bytes instead
    return decode_text(data, path)


def _parse_html(source: str) -> Any:
    import lxml.html

    try:
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", source))
    except (ValueError, lxml.etree.ParserError):  # type: ignore[attr-defined]
        return None


def _html_title(tree: Any) -> str | None:
    """The page's first <h1> (once navigation is gone), else its <title> without the site name."""
    for element in tree.xpath("//h1"):
        text = " ".join(element.text_content().split())
        if text:
            return text
    for element in tree.xpath("//title"):
        text = " ".join(element.text_content().split())
        if text:
            # "Le point sur le programme | Préfecture du Loiret" -> the page's own part.
            return re.split(r"\s+[|–—]\s+|\s+-\s+", text)[0].strip() or text
    return None


def _drop_boilerplate(tree: Any) -> None:
    for element in tree.xpath(_BOILERPLATE_XPATH):
        if element.getparent() is not None:
            element.drop_tree()


def _html_date(tree: Any) -> str | None:
    for element in tree.xpath("//meta[@content]"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "").lower()
        if key in _DATE_META:
            found = parse_date(element.get("content", "")[:40])
            if found:
                return found
    for element in tree.xpath("//time[@datetime]"):
        found = parse_date(element.get("datetime", "")[:40])
        if found:
            return found
    return None


def _lxml_text(tree: Any) -> str:
    """Visible text of a page already stripped of boilerplate (the fallback to trafilatura)."""
    for element in tree.xpath("//head"):
        element.drop_tree()
    for element in tree.iter(*_BLOCK_TAGS):
        if element.tag == "li":
            element.text = "- " + (element.text or "")
        element.tail = "\n" + (element.tail or "")
    return str(tree.text_content())


def _paragraphs(main_text: str) -> str:
    """trafilatura puts one paragraph per line: make paragraphs blank-line separated.

    A list stays one block with the line introducing it.
    """
    lines = [ln.strip() for ln in main_text.split("\n") if ln.strip()]
    out: list[str] = []
    for i, line in enumerate(lines):
        if i and not _LIST_LINE.match(line):
            out.append("\n\n")
        elif i:
            out.append("\n")
        out.append(line)
    return "".join(out)


def load_html(path: Path, data: bytes) -> Extracted:
    """.html/.htm: the main text (trafilatura), else the visible text without navigation."""
    decoded = _decode_html(data, path)
    if not decoded.strip():
        raise EmptyDocumentError(path, "file holds only whitespace")
    import lxml.html
    import trafilatura  # heavy import, only for HTML files

    source = decoded
    tree = _parse_html(decoded)
    date, title = None, None
    if tree is not None:
        date = _html_date(tree)
        _drop_boilerplate(tree)  # trafilatura keeps menus of short pages otherwise
        title = _html_title(tree)
        source = lxml.html.tostring(tree, encoding="unicode")
    try:
        main = trafilatura.extract(
            source,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,
        )
    except Exception:  # noqa: BLE001 - any trafilatura failure falls back to lxml below
        main = None
    if (not main or not main.strip()) and tree is not None:
        # trafilatura returns nothing for some very short pages: take the visible text.
        main = _lxml_text(tree)
    text = _paragraphs(main or "")
    if not text:
        raise EmptyDocumentError(path, "HTML page has no main text")
    return Extracted(original=decoded, parts=[text], title=title, date=date)


# -- PDF --------------------------------------------------------------------------------


def _pdf_title(reader: Any) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - a broken info dictionary just means no title
        return None
    if not title or not isinstance(title, str):
        return None
    title = " ".join(title.split())
    # Producer junk such as "Microsoft Word - rapport.docx" or "untitled" is no title.
    if len(title.split()) < 3 or re.search(r"\.(?:docx?|odt|pdf|indd|rtf)\b|^microsoft|untitled", title, re.I):
        return None
    return title


def load_pdf(path: Path, data: bytes) -> Extracted:
    """.pdf with pypdf: the text of each page, in order."""
    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocumentError(path, "file is not a PDF (no %PDF header): corrupt or misnamed")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    with _quiet("pypdf"):  # its warnings on odd files are noise here; failures are raised
        try:
            reader = PdfReader(io.BytesIO(data))
            # With an owner password alone (an empty user password) anyone may read it.
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocumentError(path, _ENCRYPTED)
            pages = [page.extract_text() or "" for page in reader.pages]
        except UnreadableDocumentError:
            raise
        except DependencyError as exc:  # AES needs the optional `cryptography` package
            raise UnreadableDocumentError(
                path, "PDF is AES-encrypted; reading it needs the 'cryptography' package (pypdf[crypto])"
            ) from exc
        except FileNotDecryptedError as exc:
            raise UnreadableDocumentError(path, _ENCRYPTED) from exc
        except Exception as exc:  # noqa: BLE001 - pypdf raises many types on a damaged file
            raise UnreadableDocumentError(path, f"PDF is corrupt or truncated ({_one_line(exc)})") from exc
    if not pages:
        raise EmptyDocumentError(path, "PDF has no pages")
    if not any(p.strip() for p in pages):
        raise EmptyDocumentError(path, "PDF has no extractable text (scanned image?); run OCR on it first")
    return Extracted(original=PAGE_SEPARATOR.join(pages), parts=pages, paged=True, title=_pdf_title(reader))


_ENCRYPTED = "PDF is encrypted (password-protected); decrypt it first"


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


# -- entry point ------------------------------------------------------------------------

LOADERS: dict[Format, Loader] = {"txt": load_text, "md": load_text, "html": load_html, "pdf": load_pdf}


def _assemble(parts: list[str], paged: bool) -> tuple[str, list[PageSpan]]:
    """Normalise each part; pages are joined by a blank line and keep their spans."""
    if not paged:
        return normalize_text(parts[0]), []
    text = ""
    spans: list[PageSpan] = []
    for number, raw in enumerate(parts, start=1):
        page = normalize_text(raw)
        if page and text:
            text += PAGE_SEPARATOR
        start = len(text)
        text += page
        spans.append(PageSpan(number, start, len(text)))
    return text, spans


def load_document(path: str | Path) -> LoadedDocument:
    """Read, decode, normalise and describe one file.

    Raises `UnsupportedFormatError`, `EmptyDocumentError`, `UnreadableDocumentError`
    or `IngestError` ("no such file"), each with a one-line message naming the file.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise IngestError(path, "no such file")
    if not path.is_file():
        raise IngestError(path, "not a regular file")
    fmt = format_of(path)
    resolved = path.resolve()
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise UnreadableDocumentError(path, f"file cannot be read ({exc.strerror or exc})") from exc
    if not data:
        raise EmptyDocumentError(path, "file is empty")
    extracted = LOADERS[fmt](path, data)
    text, pages = _assemble(extracted.parts, extracted.paged)
    if not text:
        raise EmptyDocumentError(path, "no text left once markup is removed")
    metadata = build_metadata(
        path=resolved,
        data=data,
        fmt=fmt,
        original=extracted.original,
        text=text,
        title_hint=extracted.title,
        date_hint=extracted.date,
    )
    return LoadedDocument(path=resolved, original=extracted.original, text=text, metadata=metadata, pages=pages)
