"""HTML and Markdown rendering of answers, sources and documents.

Every piece of document text (answer sentences are quoted from documents too)
goes through `html.escape` here and nowhere else builds markup from it, so a
document holding `<script>` or `<img onerror=...>` shows as text and runs nothing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from assistant.answer import Answer, Citation, Passage
from ui.i18n import t

__all__ = [
    "answer_markdown",
    "escape_markdown",
    "source_id",
    "sources_html",
    "document_html",
    "document_link",
    "report_html",
    "document_rows",
]

_MARK = re.compile(r"\[(\d{1,3})\]")
# Markdown that document text could trigger: inline emphasis, code, links, tables,
# strikethrough; and at a line start, headings, quotes, lists, rules. < > & are
# HTML-escaped instead (a backslash before "&lt;" would print the entity's letters).
# The rest of the punctuation stays as is, so screen readers don't read backslashes.
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
_MD_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])")
_MD_LINE_MARK = re.compile(r"^(\s*)([#+=-])")
_BULLET = re.compile(r"^(\s*)- ")
_CONTEXT = 280  # characters of the passage shown on each side of the quoted span


def source_id(turn: int, n: int) -> str:
    """The HTML id of source card `n` of answer `turn` (both 1-based)."""
    return f"src-{turn}-{n}"


def _escape_md(text: str, line_start: bool = False) -> str:
    text = _MD_INLINE.sub(r"\\\1", text)
    if line_start:  # "12. " would start a list, "# " a heading, "---" a rule
        text = _MD_LINE_MARK.sub(r"\1\\\2", _MD_LIST_NUMBER.sub(r"\1\\\2", text))
    return html.escape(text, quote=False)


def escape_markdown(text: str) -> str:
    """Document text (a title, a file name) as Markdown that shows it as written and
    makes no markup, link or HTML of it."""
    return "\n".join(_escape_md(line, line_start=True) for line in str(text).split("\n"))


def answer_markdown(text: str, turn: int | None = None) -> str:
    """An answer's text as safe Markdown for the chat: document text escaped, list
    bullets kept, and each `[n]` made a link to its source card when `turn` is given."""
    lines = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        prefix, rest = (bullet.group(0), line[bullet.end() :]) if bullet else ("", line)
        pieces = []
        pos = 0
        for m in _MARK.finditer(rest):
            pieces.append(_escape_md(rest[pos : m.start()], line_start=pos == 0 and not bullet))
            n = m.group(1)
            pieces.append(f"[\\[{n}\\]](#{source_id(turn, int(n))})" if turn else f"\\[{n}\\]")
            pos = m.end()
        pieces.append(_escape_md(rest[pos:], line_start=pos == 0 and not bullet))
        lines.append(prefix + "".join(pieces))
    return "\n".join(lines)


def document_link(doc_id: str, start: int | None = None, end: int | None = None) -> str:
    """Relative URL of the document view, at the span [start, end) when given (works under a root path)."""
    url = f"documents/{quote(doc_id, safe='')}"
    if start is not None and end is not None:
        url += f"?start={int(start)}&end={int(end)}#c{int(start)}"
    return url


def _passage_for(c: Citation, passages: Sequence[Passage]) -> tuple[str, int, int] | None:
    """(passage text, span start, span end) of the retrieved passage holding the quote."""
    for p in passages:
        if p.doc_id != c.doc_id:
            continue
        lo, hi = c.start - p.start, c.end - p.start
        if 0 <= lo <= hi <= len(p.text) and p.text[lo:hi] == c.quote:
            return p.text, lo, hi
    for p in passages:
        if p.doc_id == c.doc_id and c.quote and (i := p.text.find(c.quote)) >= 0:
            return p.text, i, i + len(c.quote)
    return None


def _trim_before(text: str) -> str:
    if len(text) <= _CONTEXT:
        return text
    cut = text[-_CONTEXT:]
    return "…" + cut[cut.find(" ") + 1 :] if " " in cut else "…" + cut


def _trim_after(text: str) -> str:
    if len(text) <= _CONTEXT:
        return text
    cut = text[:_CONTEXT]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


def _quote_html(c: Citation, passages: Sequence[Passage]) -> str:
    found = _passage_for(c, passages)
    if found is None:
        return f"<mark>{html.escape(c.quote)}</mark>"
    text, lo, hi = found
    return (
        html.escape(_trim_before(text[:lo]))
        + f"<mark>{html.escape(text[lo:hi])}</mark>"
        + html.escape(_trim_after(text[hi:]))
    )


def _card(c: Citation, passages: Sequence[Passage], turn: int, lang: str) -> str:
    meta = [html.escape(c.date) if c.date else t(lang, "no_date")]
    if c.page:
        meta.append(html.escape(t(lang, "page", page=c.page)))
    meta.append(html.escape(c.source_name))
    link = html.escape(document_link(c.doc_id, c.start, c.end))
    return (
        f'<li class="tia-source" id="{source_id(turn, c.n)}" tabindex="-1">'
        f'<div class="tia-source-head"><span class="tia-num">[{c.n}]</span> '
        f'<strong class="tia-title">{html.escape(c.title or c.source_name)}</strong></div>'
        f'<div class="tia-meta">{" · ".join(meta)}</div>'
        f'<blockquote class="tia-quote">{_quote_html(c, passages)}</blockquote>'
        f'<a class="tia-open" href="{link}" target="_blank" rel="noopener">{html.escape(t(lang, "open_doc"))}</a>'
        "</li>"
    )


def sources_html(turns: Sequence[tuple[str, Answer]], lang: str) -> str:
    """The source cards of every answer of the conversation, the latest first and open.

    `turns`: (question, answer) pairs, oldest first; card ids are `source_id(turn, n)`.
    """
    if not turns:
        return f'<div class="tia-sources"><p class="tia-empty">{html.escape(t(lang, "sources_empty"))}</p></div>'
    blocks = []
    for turn in range(len(turns), 0, -1):
        question, answer = turns[turn - 1]
        if answer.citations:
            body = "".join(_card(c, answer.passages, turn, lang) for c in answer.citations)
            body = f'<ol class="tia-source-list">{body}</ol>'
        else:
            body = f'<p class="tia-empty">{html.escape(t(lang, "no_sources"))}</p>'
        summary = f"{html.escape(t(lang, 'answer_n', n=turn))} — {html.escape(question)}"
        is_open = " open" if turn == len(turns) else ""
        blocks.append(
            f'<details class="tia-turn" id="turn-{turn}"{is_open}><summary>{summary}</summary>{body}</details>'
        )
    return f'<div class="tia-sources">{"".join(blocks)}</div>'


_DOC_CSS = """
body{font-family:system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;line-height:1.55;color:#1a1a1a;background:#fff}
h1{font-size:1.35rem}.meta{color:#444}.text{white-space:pre-wrap;overflow-wrap:anywhere}
mark{background:#ffe066;color:#000;scroll-margin-top:30vh;outline:2px solid #b08900}
.page{display:block;color:#555;font-size:.85rem;border-top:1px solid #ccc;margin-top:1rem}
"""


def document_html(doc: Any, start: int | None, end: int | None, lang: str) -> str:
    """A whole page showing a stored document's normalised text, escaped, with the
    span [start, end) marked (`id="c{start}"`, so `#c{start}` scrolls to it) and
    page breaks shown for PDFs."""
    text: str = doc.text
    span = None
    if start is not None and end is not None and 0 <= start < end <= len(text):
        span = (start, end)
    # Cut points: page starts (outside the span) and the span's bounds.
    events: list[tuple[int, str]] = []
    for page, p_start, _ in doc.pages or ():
        if span is None or not span[0] < p_start < span[1]:
            events.append((p_start, f'<span class="page" id="p{int(page)}">{html.escape(t(lang, "page", page=page))}</span>'))
    if span:
        events += [(span[0], f'<mark id="c{span[0]}">'), (span[1], "</mark>")]
    events.sort(key=lambda e: (e[0], e[1] == "</mark>"))
    out, pos = [], 0
    for offset, tag in events:
        out.append(html.escape(text[pos:offset]))
        out.append(tag)
        pos = offset
    out.append(html.escape(text[pos:]))
    meta = " · ".join(
        html.escape(x) for x in (doc.date or t(lang, "no_date"), doc.format, doc.source.replace("\\", "/").rsplit("/", 1)[-1])
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(doc.title)}</title><style>{_DOC_CSS}</style></head><body>"
        f'<h1>{html.escape(doc.title)}</h1><p class="meta">{meta}</p>'
        f'<div class="text">{"".join(out)}</div></body></html>'
    )


def report_html(lines: Iterable[tuple[str, str, str]], lang: str) -> str:
    """Per-file ingest results: (file name, status, detail) -> an escaped list."""
    items = []
    for name, status, detail in lines:
        label = t(lang, f"status_{status}") if status in ("added", "unchanged", "replaced", "failed") else status
        extra = f" — {html.escape(detail)}" if detail else ""
        sep = " : " if lang == "fr" else ": "
        items.append(
            f'<li class="tia-report-{html.escape(status)}">{html.escape(name)}{sep}'
            f"<strong>{html.escape(label)}</strong>{extra}</li>"
        )
    return f'<ul class="tia-report" role="status">{"".join(items)}</ul>' if items else ""


def document_rows(docs: Iterable[Any]) -> list[list[Any]]:
    """Rows of the Documents table: title, date, type, passages, file."""
    return [[d.title, d.date or "", d.format, d.chunks, d.name] for d in docs]
