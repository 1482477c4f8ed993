"""Text normalisation for French documents (applied to every format before indexing).

What `normalize_text` does, in order:

1. line ends to ``\\n``; HTML comments, ``<script>``/``<style>`` blocks with their content,
   tags and entities (``2<sup>e</sup>`` -> ``2e``, ``&amp;`` -> ``&``);
2. markdown artefacts: image links (``![alt](url)``, ``![[Image929626]](...)``) removed
   entirely, ``[text](url)`` -> ``text``, ``**bold**``/``__bold__`` markers, ``#`` heading
   markers, ``>`` quote markers and horizontal rules removed;
3. NFC; control characters, zero-width characters and soft hyphens removed; typographic apostrophes
   (’ ‘ ʼ) -> ``'`` and quotes (“ ” „) -> ``"`` (« » are kept); non-breaking, narrow
   and thin spaces -> plain space;
4. words hyphenated at a line end are joined ("indus-\\ntrie" -> "industrie"); a real
   compound keeps its hyphen ("Centre-\\nVal" -> "Centre-Val", "c'est-\\nà-dire");
5. runs of spaces collapsed, spaces at line ends and starts removed, three or more
   line breaks -> one blank line. Blank lines (paragraphs) and list lines
   (``- item``) are kept: the chunker needs them.

Every step is linear in the text's length, whatever it holds (no pattern backtracks
over a long line): a hostile 8 MB line costs seconds.

>>> normalize_text("## **Le 2<sup>e</sup> comité**\\n\\nL’indus-\\ntrie\\u00a0: « oui\\u202f»")
"Le 2e comité\\n\\nL'industrie : « oui »"
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left

__all__ = ["normalize_text", "strip_markup"]

# -- markup -----------------------------------------------------------------------------

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK_TAG = re.compile(r"</?(?:p|div|li|ul|ol|h[1-6]|tr|table|section|article)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_COMMENT_OPEN, _COMMENT_CLOSE = "<!--", "-->"
# <script>/<style> blocks in a txt/md file: their content is code, never text (an HTML file's
# are dropped by its parser already). Closed blocks only, found without backtracking.
_CODE_BLOCK = re.compile(r"<(script|style)\b[^<>]*+>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
# ![alt](url "title"), where alt may itself hold brackets: ![[Image929626]](/path.jpg)
_IMAGE = re.compile(r"!\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\([^()\s]*(?:\s+\"[^\"\n]*\")?\)")
_WIKI_IMAGE = re.compile(r"!\[\[[^\[\]\n]*\]\]")  # ![[Image929626]] without a target
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\([^()\s]*(?:\s+\"[^\"\n]*\")?\)")
# Where a bold marker may open (``**`` or ``__`` before a non-space) and close (after one):
# `_unbold` pairs them as ``(\*\*|__)(?=\S)(.+?)(?<=\S)\1`` would, in linear time.
_BOLD_OPEN = re.compile(r"(?=(\*\*|__)\S)")
_BOLD_CLOSE = re.compile(r"(?<=\S)(?=(\*\*|__))")
_NEWLINE = re.compile("\n")
_LEFTOVER_BOLD = re.compile(r"\*\*+")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+|$)", re.MULTILINE)
_HEADING_CLOSE = re.compile(r"(?<![ \t])[ \t]++#++[ \t]*+$", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE)
_RULE = re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$", re.MULTILINE)

# -- characters -------------------------------------------------------------------------

_CHAR_MAP = str.maketrans(
    {
        "\u2019": "'",  # ’
        "\u2018": "'",  # ‘
        "\u02bc": "'",  # ʼ
        "\u201b": "'",  # ‛
        "\u201c": '"',  # “
        "\u201d": '"',  # ”
        "\u201e": '"',  # „
        "\u201f": '"',  # ‟
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space (before ; : ! ? and inside « »)
        "\u2007": " ",  # figure space
        "\u2009": " ",  # thin space
        "\u200a": " ",  # hair space
        "\u2002": " ",
        "\u2003": " ",
        "\u2004": " ",
        "\u2005": " ",
        "\u2006": " ",
        "\u2008": " ",
        "\u205f": " ",
        "\u3000": " ",
        "\t": " ",
        "\f": "\n",
        "\v": "\n",
        "\u2028": "\n",
        "\u2029": "\n\n",
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,  # BOM / zero-width no-break space
    }
)

# -- hyphenation ------------------------------------------------------------------------

# A word cut at a line end: letters, "-", line break, letters.
# (Anchored at a word's start and possessive: a 10 MB "word" must not cost O(n^2).)
_HYPHENATED = re.compile(r"(?<!\w)(\w++)-[ \t]*+\n[ \t]*+(\w[\w'-]*+)")
# Second halves of French compounds that a line break may fall before.
_COMPOUND_TAILS = frozenset(
    "à ci là même mêmes être dire il ils elle elles on t je tu nous vous le la les moi toi lui leur"
    " leurs y en deux trois quatre cinq six sept huit neuf dix onze douze seize vingt cent"
    " mille un une unième et".split()
)

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # after \f, \v, \t were mapped
_SPACES = re.compile(r"[ ]{2,}")
_LINE_EDGES = re.compile(r"(?<![ ])[ ]++\n|\n[ ]++")
_BLANKS = re.compile(r"\n{3,}")


def _remove_comments(text: str) -> str:
    """``<!-- ... -->`` removed, as ``re.sub(r"<!--.*?-->", "", text, flags=re.S)`` would, in linear time."""
    start = text.find(_COMMENT_OPEN)
    if start < 0:
        return text
    out, pos = [], 0
    while start >= 0:
        end = text.find(_COMMENT_CLOSE, start + len(_COMMENT_OPEN))
        if end < 0:
            break  # unclosed: no later comment can close either
        out.append(text[pos:start])
        pos = end + len(_COMMENT_CLOSE)
        start = text.find(_COMMENT_OPEN, pos)
    out.append(text[pos:])
    return "".join(out)


_CODE_CLOSE = {kind: re.compile(rf"</{kind}\s*>", re.IGNORECASE) for kind in ("script", "style")}


def _remove_code_blocks(text: str) -> str:
    """``<script>...</script>`` and ``<style>...</style>`` removed with their content (closed ones only)."""
    out: list[str] = []
    pos = 0
    exhausted: set[str] = set()
    for opening in _CODE_BLOCK.finditer(text):
        kind = opening.group(1).lower()
        if opening.start() < pos or kind in exhausted:
            continue
        closing = _CODE_CLOSE[kind].search(text, opening.end())
        if closing is None:
            exhausted.add(kind)  # nothing after this point closes that kind
            continue
        out.append(text[pos : opening.start()])
        pos = closing.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _unbold(text: str) -> str:
    """``**bold**``/``__bold__`` -> ``bold``: one pass of ``(\\*\\*|__)(?=\\S)(.+?)(?<=\\S)\\1``.

    The regex costs O(n) per unclosed marker, O(n^2) on one long line full of them; here each
    opening marker looks its closing one up by bisection among the positions where one may close.
    """
    if "**" not in text and "__" not in text:
        return text
    closes: dict[str, list[int]] = {"**": [], "__": []}
    for m in _BOLD_CLOSE.finditer(text):
        closes[m.group(1)].append(m.start())
    newlines = [m.start() for m in _NEWLINE.finditer(text)]
    out: list[str] = []
    pos = 0
    for m in _BOLD_OPEN.finditer(text):
        start = m.start()
        if start < pos:
            continue
        marker = m.group(1)
        candidates = closes[marker]
        i = bisect_left(candidates, start + 3)  # at least one character in between
        if i == len(candidates):
            continue
        end = candidates[i]
        line_end = newlines[j] if (j := bisect_left(newlines, start)) < len(newlines) else len(text)
        if end >= line_end:  # "." does not cross a line break
            continue
        out.append(text[pos:start])
        out.append(text[start + 2 : end])
        pos = end + 2
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def strip_markup(text: str) -> str:
    """Remove HTML tags/entities and markdown markers, keeping the words (steps 1-2)."""
    text = _remove_comments(text)
    text = _remove_code_blocks(text)
    text = _BR.sub("\n", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    text = _IMAGE.sub("", text)
    text = _WIKI_IMAGE.sub("", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    # Bold markers twice: "**a **b** c**" leaves an inner pair after the first pass.
    for _ in range(2):
        text = _unbold(text)
    text = _LEFTOVER_BOLD.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING_CLOSE.sub("", _HEADING.sub("", text))
    text = _QUOTE.sub("", text)
    return text


def _join_hyphenated(match: re.Match[str]) -> str:
    head, tail = match.group(1), match.group(2)
    word = re.match(r"\w+", tail)
    first = word.group(0) if word else tail
    # An upper-case continuation ("Centre-\nVal"), a digit ("COVID-\n19"), a compound
    # tail ("peut-\nêtre", "c'est-\nà-dire") or a hyphen in the tail: keep the hyphen.
    if (
        tail[0].isupper()
        or tail[0].isdigit()
        or head[-1].isdigit()
        or first.lower() in _COMPOUND_TAILS
        or "-" in tail
    ):
        return f"{head}-{tail}"
    return f"{head}{tail}"


def normalize_text(text: str) -> str:
    """Normalise a decoded document (any format) into the text that is indexed and cited."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _remove_markup_lines(text)
    text = strip_markup(text)
    text = _CONTROLS.sub("", unicodedata.normalize("NFC", text).translate(_CHAR_MAP))
    text = _HYPHENATED.sub(_join_hyphenated, text)
    text = _SPACES.sub(" ", text)
    text = _LINE_EDGES.sub("\n", text)
    text = _LINE_EDGES.sub("\n", text)  # "\n \n" needs two passes
    text = _BLANKS.sub("\n\n", text)
    return text.strip()


def _remove_markup_lines(text: str) -> str:
    # A line holding nothing but an image link is removed with its line break, so
    # that it does not turn into a paragraph break between the lines around it.
    lines = text.split("\n")
    kept = [
        line
        for line in lines
        if not (line.strip() and not _WIKI_IMAGE.sub("", _IMAGE.sub("", line)).strip())
    ]
    return "\n".join(kept)
