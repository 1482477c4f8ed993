"""File on disk -> `LoadedDocument`: one loader per format behind one entry point.

>>> doc = load_document("knowledge/corpus/003_3af200a01a20ee1d.txt")
>>> doc.metadata.format, doc.metadata.date
('txt', '2019-09-24')

A loader turns a file's bytes into `Extracted` (the decoded original, the text
to index, page by page for a PDF, and any title/date the format itself gives);
`load_document` then normalises, assembles page spans and builds the metadata.
Every failure is an `IngestError` subclass whose message is one line naming the
file: `UnsupportedFormatError`, `EmptyDocumentError`, `UnreadableDocumentError`.

Hostile input
-------------
A file is data, never trusted: whatever its bytes, loading it ends, in bounded time
and memory, with a document or with one of those errors (never a traceback, never a
hang). The bounds are the module's ``MAX_*`` constants, each documented where it is
defined: a file over its size limit is refused from its size alone, before a byte is
read; a PDF is refused past `MAX_PDF_PAGES` pages, past `MAX_PDF_STREAM_BYTES` for one
decompressed stream or `MAX_PDF_CONTENT_BYTES` of page content in all, or past
`MAX_TEXT_CHARS` of text. Besides:

- a file name holding control characters (a line break, an escape sequence) or bytes
  that are not UTF-8 is refused, the name shown escaped (``line\\nbreak.txt``): it
  would break the one-line report and cannot be stored as a source;
- a symbolic link loop, a broken link and a link to a folder are refused by name;
- an HTML page nested deeper than libxml2 parses (256 levels) is read as flat text
  (scripts and styles removed) rather than cut where the nesting got too deep;
- an HTML page's scripts, styles and event-handler attributes never reach the text,
  nor do ``<script>``/``<style>`` blocks in a txt/md file (`ingest.normalize`);
- anything a parser raises on a malformed file (even a `RecursionError`) becomes an
  `UnreadableDocumentError` naming the file.
"""

from __future__ import annotations

import codecs
import errno
import io
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
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
    "MAX_PDF_BYTES",
    "MAX_PDF_CONTENT_BYTES",
    "MAX_PDF_PAGES",
    "MAX_PDF_STREAM_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_TEXT_CHARS",
    "SUPPORTED_EXTENSIONS",
    "Extracted",
    "Loader",
    "decode_text",
    "format_of",
    "load_document",
    "load_html",
    "load_pdf",
    "load_text",
    "shown_path",
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

# -- limits -----------------------------------------------------------------------------
# Each bounds the time and memory one hostile file may cost, far above any real document
# of a programme (the bundled corpus: 3-6 KB a file; a long PDF report: a few hundred
# pages, a few MB). A file past one is refused with a message naming the limit.

_MiB = 1024 * 1024

MAX_TEXT_BYTES = 8 * _MiB
"""Largest txt/md/html file read (checked on its size before reading it).

8 MiB of text is some 4,000 pages, some 10,000 chunks to embed (minutes on a CPU):
beyond that a "text" file is a dump or a log, not a document; split it. Everything a
text file goes through is linear in its size, so up to this limit even one line
without a break, or the worst markup, costs seconds."""

MAX_PDF_BYTES = 100 * _MiB
"""Largest PDF read (checked on its size before reading it). PDFs are bigger than their
text (fonts, images): 100 MiB admits an illustrated report; pypdf holds it in memory."""

MAX_PDF_PAGES = 2000
"""Most pages a PDF may have. The page count is read before any text: a PDF of 20,000
pages sharing one content stream is a few KB on disk and minutes of extraction."""

MAX_PDF_STREAM_BYTES = 16 * _MiB
"""Most bytes one PDF stream may decompress to (pypdf's Flate/LZW/RunLength/Brotli
limits, 75 MB by default, are set to this while a PDF is read). A page's content is
5-500 KB; a stream of zeros compresses about 1000:1, so a 100 KB file could otherwise
decompress to 100 MB (a decompression bomb)."""

MAX_PDF_CONTENT_BYTES = 64 * _MiB
"""Most bytes of decompressed page content (the /Contents streams) over a whole PDF,
counted page by page before its text is extracted: a content stream shared by every
page would otherwise be parsed once per page."""

MAX_TEXT_CHARS = MAX_TEXT_BYTES
"""Most characters of text a PDF may yield (all pages together): the budget of a text
file, so that a PDF indexes no more than the largest text file would."""


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


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when `data` looks like UTF-16 text without a byte-order mark.

    Latin text in UTF-16 has a NUL in most high bytes and (nearly) none in the low ones.
    """
    if len(data) < 4 or len(data) % 2:
        return None
    half = len(data) // 2
    for codec, high, low in (("utf-16-le", data[1::2], data[0::2]), ("utf-16-be", data[0::2], data[1::2])):
        if high.count(0) >= 0.7 * half and low.count(0) <= half // 100:
            return codec
    return None


def decode_text(data: bytes, path: Path) -> str:
    """Bytes of a text file -> str: UTF-8 (BOM or not), UTF-16 (BOM or not), or plausible cp1252.

    Latin-1 (ISO-8859-1) text is read as Windows-1252, its superset for printable
    characters (as browsers do). Binary content (NUL bytes, control characters, bytes that
    are neither UTF-8 nor believable Windows-1252 text) is refused with `UnreadableDocumentError`.
    """
    utf16 = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None
    if utf16 is None and b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise UnreadableDocumentError(path, "file holds NUL bytes: it is binary, not text")
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError as exc:
            reason = "has a UTF-16 byte-order mark but" if utf16 == "utf-16" else "looks like UTF-16 but"
            raise UnreadableDocumentError(path, f"file {reason} is not valid UTF-16") from exc
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


def _declared_codec(label: str) -> str | None:
    """The codec for a page's declared charset, the way browsers read it (WHATWG Encoding)."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"  # what "iso-8859-1" and "us-ascii" mean on the web
    if name.startswith(("utf-16", "utf-32")):
        return None  # the declaration was read as ASCII: the bytes are not UTF-16/32
    return name


def _decode_html(data: bytes, path: Path) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared and not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = _declared_codec(declared.group(1).decode("ascii"))
        if codec is not None:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                pass  # a wrong declaration: decide from the bytes instead
    return decode_text(data, path)


def _parse_html(source: str) -> tuple[Any, bool]:
    """The page's tree (None when lxml finds no document) and whether it is complete.

    libxml2 stops at 256 levels of nesting: what lies deeper, and everything after it,
    is missing from the tree (`complete` is then False).
    """
    import lxml.html

    parser = lxml.html.HTMLParser()
    try:
        tree = lxml.html.document_fromstring(_XML_DECLARATION.sub("", source), parser=parser)
    except (ValueError, lxml.etree.ParserError):  # type: ignore[attr-defined]
        return None, True
    complete = not any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    return tree, complete


# Never text, in a page read without its tree: these elements with all they hold.
_FLAT_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "head", "textarea",
    "select", "nav",
)  # fmt: skip
_FLAT_DROP = re.compile(r"<(" + "|".join(_FLAT_DROP_TAGS) + r")\b[^<>]*+>", re.IGNORECASE)
_FLAT_CLOSE = {kind: re.compile(rf"</{kind}\s*>", re.IGNORECASE) for kind in _FLAT_DROP_TAGS}
# A tag with its attributes, quoted values included (onclick="a > b"); no backtracking.
_FLAT_TAG = re.compile(r"""<[/!?]?[A-Za-z][^<>"']*+(?:(?:"[^"]*+"|'[^']*+')[^<>"']*+)*+>""")
_FLAT_BLOCK = re.compile(r"</?(?:" + "|".join(_BLOCK_TAGS) + r")\b", re.IGNORECASE)


def _flat_html_text(source: str) -> str:
    """The text of a page too deeply nested for a tree, in linear time: comments, tags and
    their attributes removed, and the elements of `_FLAT_DROP` with what they hold; a
    paragraph break before each block tag. Navigation outside <nav> is kept."""
    from ingest.normalize import _remove_comments

    source = _remove_comments(source)
    out: list[str] = []
    pos = 0
    exhausted: set[str] = set()
    for opening in _FLAT_DROP.finditer(source):
        kind = opening.group(1).lower()
        if opening.start() < pos or kind in exhausted:
            continue
        closing = _FLAT_CLOSE[kind].search(source, opening.end())
        out.append(source[pos : opening.start()])
        if closing is None:
            exhausted.add(kind)
            pos = opening.end()  # an unclosed element: only its tag goes
        else:
            pos = closing.end()
    out.append(source[pos:])
    text = _FLAT_BLOCK.sub(lambda m: "\n\n" + m.group(0), "".join(out))
    return _FLAT_TAG.sub("", text)


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
    """.html/.htm: the main text (trafilatura), else the visible text without navigation.

    A page nested deeper than libxml2 parses (256 levels: no real page is) would come
    out cut where the nesting got too deep; it is read as flat text instead
    (`_flat_html_text`), its title and date still taken from the part that parsed.
    """
    decoded = _decode_html(data, path)
    if not decoded.strip():
        raise EmptyDocumentError(path, "file holds only whitespace")
    import lxml.html
    import trafilatura  # heavy import, only for HTML files

    source = decoded
    tree, complete = _parse_html(decoded)
    if not complete:
        date = _html_date(tree) if tree is not None else None
        title = None
        if tree is not None:
            _drop_boilerplate(tree)
            title = _html_title(tree)
        text = _flat_html_text(_XML_DECLARATION.sub("", decoded))
        if not text.strip():
            raise EmptyDocumentError(path, "HTML page has no text")
        return Extracted(original=decoded, parts=[text], title=title, date=date)
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


def _pdf_limits() -> Any:
    """pypdf's decompression limits set to `MAX_PDF_STREAM_BYTES` while a PDF is read
    (pypdf >= 6 has `apply_configuration`; an older one keeps its own 75 MB limits)."""
    try:
        from pypdf import apply_configuration
    except ImportError:  # pragma: no cover - pypdf < 6
        return nullcontext()
    return apply_configuration(
        zlib_maximum_output_length=MAX_PDF_STREAM_BYTES,
        lzw_maximum_output_length=MAX_PDF_STREAM_BYTES,
        run_length_maximum_output_length=MAX_PDF_STREAM_BYTES,
        brotli_maximum_output_length=MAX_PDF_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_PDF_STREAM_BYTES,
    )


def _content_bytes(page: Any) -> int:
    """Decompressed size of a page's /Contents (decoded once: pypdf keeps the result)."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = contents if isinstance(contents, list) else [contents]
    total = 0
    for stream in streams:
        stream = stream.get_object()
        if hasattr(stream, "get_data"):
            total += len(stream.get_data())
    return total


def _size(n: int) -> str:
    if n >= _MiB:
        return f"{n / _MiB:.1f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def load_pdf(path: Path, data: bytes) -> Extracted:
    """.pdf with pypdf: the text of each page, in order, within the MAX_PDF_* limits."""
    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocumentError(path, "file is not a PDF (no %PDF header): corrupt or misnamed")
    from pypdf import PdfReader
    from pypdf import errors as pypdf_errors
    from pypdf.errors import DependencyError, FileNotDecryptedError

    limit_reached = getattr(pypdf_errors, "LimitReachedError", ())
    with _quiet("pypdf"), _pdf_limits():  # its warnings on odd files are noise here; failures are raised
        try:
            reader = PdfReader(io.BytesIO(data))
            # With an owner password alone (an empty user password) anyone may read it.
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocumentError(path, _ENCRYPTED)
            count = len(reader.pages)
            if count > MAX_PDF_PAGES:
                raise UnreadableDocumentError(
                    path, f"PDF has {count} pages, over the limit of {MAX_PDF_PAGES} (a PDF bomb?); split it"
                )
            # All the content is measured before any text is extracted (parsing it is the
            # costly part): a stream shared by many pages counts once per page that shows it.
            content = 0
            for number, page in enumerate(reader.pages, start=1):
                content += _content_bytes(page)
                if content > MAX_PDF_CONTENT_BYTES:
                    raise UnreadableDocumentError(
                        path,
                        f"PDF page content decompresses to more than {_size(MAX_PDF_CONTENT_BYTES)} "
                        f"by page {number} (a PDF bomb?); refused",
                    )
            pages: list[str] = []
            chars = 0
            for page in reader.pages:
                pages.append(page.extract_text() or "")
                chars += len(pages[-1])
                if chars > MAX_TEXT_CHARS:
                    raise UnreadableDocumentError(
                        path,
                        f"PDF text exceeds {MAX_TEXT_CHARS:,} characters by page {len(pages)}; split it",
                    )
        except UnreadableDocumentError:
            raise
        except limit_reached as exc:
            raise UnreadableDocumentError(
                path,
                f"PDF refused: it goes past a safety limit ({_one_line(exc)}); a stream may decompress "
                f"to {_size(MAX_PDF_STREAM_BYTES)} at most (a decompression bomb?)",
            ) from exc
        except DependencyError as exc:  # AES needs the optional `cryptography` package
            raise UnreadableDocumentError(
                path, "PDF is AES-encrypted; reading it needs the 'cryptography' package (pypdf[crypto])"
            ) from exc
        except FileNotDecryptedError as exc:
            raise UnreadableDocumentError(path, _ENCRYPTED) from exc
        except Exception as exc:  # noqa: BLE001 - pypdf raises many types on a damaged file
            raise UnreadableDocumentError(path, f"PDF is corrupt or truncated ({_one_line(exc)})") from exc
        title = _pdf_title(reader)
    if not pages:
        raise EmptyDocumentError(path, "PDF has no pages")
    if not any(p.strip() for p in pages):
        raise EmptyDocumentError(path, "PDF has no extractable text (scanned image?); run OCR on it first")
    return Extracted(original=PAGE_SEPARATOR.join(pages), parts=pages, paged=True, title=title)


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


# Bidirectional-text controls: a name holding one displays differently from what it is
# ("report\u202etxt.exe").
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _bad_name_char(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS


def shown_path(path: str | Path) -> str:
    """`path` as it may be printed on one line: control characters escaped (``\\n``,
    ``\\x1b``), bytes that are not UTF-8 (surrogate escapes) shown as ``\\xe9``."""
    text = str(path)
    if not any(_bad_name_char(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif _bad_name_char(ch):
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def _check_name(path: Path) -> None:
    """Refuse a path that cannot be shown on one line or stored as a source."""
    text = str(path)
    bad = next((ch for ch in text if _bad_name_char(ch)), None)
    if bad is None:
        return
    if "\udc80" <= bad <= "\udcff":
        reason = "file name is not valid UTF-8; rename the file"
    else:
        reason = f"file name holds a control character ({shown_path(bad)}); rename the file"
    raise UnreadableDocumentError(shown_path(path), reason)


def _check_link(path: Path) -> None:
    """A symbolic link must lead to a regular file: a loop, a broken link or a link to a
    folder (not followed inside a folder) is refused with what it is."""
    if not path.is_symlink():
        return
    try:
        target = path.resolve(strict=True)
    except RuntimeError as exc:  # Python < 3.13: "Symlink loop from ..."
        raise IngestError(path, "symbolic link loop: the link leads back to itself") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IngestError(path, "symbolic link loop: the link leads back to itself") from exc
        target_name = shown_path(os.readlink(path))
        raise IngestError(path, f"broken symbolic link: its target {target_name!r} does not exist") from exc
    if target.is_dir():
        if path.absolute().parent.resolve().is_relative_to(target):
            raise IngestError(
                path, f"symbolic link loop: it points to {shown_path(target)}, a folder above it (not followed)"
            )
        raise IngestError(
            path, f"symbolic link to the folder {shown_path(target)} (not followed); ingest that folder itself"
        )


def _read_bounded(path: Path, name: Path, fmt: Format) -> bytes:
    """The bytes of the file at `path` (`name` in messages), refused from its size alone,
    before a byte is read, when over `MAX_PDF_BYTES` (a PDF) or `MAX_TEXT_BYTES`; never
    more than the limit + 1 bytes are read, should the file grow meanwhile."""
    limit, kind = (MAX_PDF_BYTES, "PDF") if fmt == "pdf" else (MAX_TEXT_BYTES, "text")
    too_big = f"file is too large ({{}}); tia reads {kind} files up to {_size(limit)}: split it"
    try:
        size = path.stat().st_size
        if size > limit:
            raise UnreadableDocumentError(name, too_big.format(_size(size)))
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise UnreadableDocumentError(name, f"file cannot be read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise UnreadableDocumentError(name, too_big.format(f"over {_size(limit)}"))
    return data


def load_document(path: str | Path) -> LoadedDocument:
    """Read, decode, normalise and describe one file.

    Raises `UnsupportedFormatError`, `EmptyDocumentError`, `UnreadableDocumentError`
    or `IngestError` ("no such file", a symbolic link loop...), each with a one-line
    message naming the file; never anything else, whatever the file holds.
    """
    path = Path(path).expanduser()
    _check_name(path)
    _check_link(path)
    if not path.exists():
        raise IngestError(path, "no such file")
    if not path.is_file():
        raise IngestError(path, "not a regular file")
    fmt = format_of(path)
    resolved = path.resolve()
    _check_name(resolved)
    data = _read_bounded(resolved, path, fmt)
    if not data:
        raise EmptyDocumentError(path, "file is empty")
    try:
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
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser's failure on a hostile file, even RecursionError
        raise UnreadableDocumentError(
            path, f"file cannot be read ({type(exc).__name__}: {_one_line(exc)}); is it corrupt?"
        ) from exc
    return LoadedDocument(path=resolved, original=extracted.original, text=text, metadata=metadata, pages=pages)
