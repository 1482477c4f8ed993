"""`LoadedDocument` -> LangChain `Document` chunks that respect the text's structure.

The text is cut into blocks: paragraphs (blank-line separated, or lines that end a
sentence) and whole lists, each list with the line that introduces it ("... sont
lauréats de cette seconde phase du programme :" and its items). Blocks are packed
greedily into chunks of at most `chunk_size` characters; a list may reach
1.6 x `chunk_size` rather than be cut. Each chunk after the first starts with the
previous chunk's last block, or its last sentences, when they are no longer than
`overlap`. A block too big for a chunk is split on sentence boundaries by
LangChain's `RecursiveCharacterTextSplitter`.

Invariant: ``doc.text[meta["start"]:meta["end"]] == chunk.page_content`` for every
chunk; chunks are never empty and never start or end with whitespace.

>>> from ingest.loaders import load_document
>>> chunks = chunk_document(load_document("knowledge/corpus/004_a4a221ff72913230.txt"))
>>> chunks[0].metadata["chunk_id"], chunks[0].metadata["region:centre-val-de-loire"]
('dcdbafe070aef52e:0', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.documents import Document

from ingest.document import LoadedDocument
from knowledge.regions import region_key

__all__ = ["Block", "chunk_document", "chunk_metadata", "split_blocks"]

LIST_ALLOWANCE = 1.6  # a list may exceed chunk_size by this factor rather than be split

# "- item", "• item", "1. item", "2) item", "a) item" (not "M. Dupont": no capital letters).
_LIST_ITEM = re.compile(r"(?:[-*+•◦▪‣–—]|\d{1,3}[.)]|[a-z]\))[ \t]+\S")
_ENDS_SENTENCE = re.compile(r"[.!?…:;]['\")»\]]*$")
# Between two sentences (or two lines): where an overlap or a list's introduction may start.
_SENTENCE_GAP = re.compile(r"(?<=[.!?…])[\"')»\]]*\s+(?=[\w«\"(\-–])|\n+(?=[\w«\"(\-–])")
_HEADING_MAX = 150
_SEPARATORS = ["\n\n", "\n", ". ", "! ", "? ", "… ", "; ", ": ", ", ", " ", ""]


@dataclass(frozen=True)
class Block:
    """``text[start:end]``, trimmed; `kind` "list" for a list with its introduction.

    A heading is not a block of its own: it starts the block after it, whose `body`
    then says where the text after the heading starts.
    """

    start: int
    end: int
    kind: Literal["text", "list"] = "text"
    body: int = -1  # where the text after the block's heading(s) starts; -1: no heading

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class _Unit:
    start: int
    end: int
    kind: Literal["text", "item"]
    blank_before: bool


def _lines(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, indented) of each non-blank line, trimmed; (-1, -1, False) for blank lines."""
    out: list[tuple[int, int, bool]] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            start = pos + lead
            out.append((start, start + len(stripped), lead > 0))
        else:
            out.append((-1, -1, False))
        pos += len(raw) + 1
    return out


def _units(text: str) -> list[_Unit]:
    """Lines grouped into paragraphs and list items.

    A line continues the one before it (no blank line between) when that one does
    not end a sentence or when it starts in lower case: a wrapped line, not a new
    paragraph. A list item takes its wrapped or indented continuation lines.
    """
    units: list[_Unit] = []
    blank = False
    for start, end, indented in _lines(text):
        if start < 0:
            blank = True
            continue
        line = text[start:end]
        if _LIST_ITEM.match(line):
            units.append(_Unit(start, end, "item", blank))
        elif units and not blank and _continues(units[-1], text, line, indented):
            units[-1].end = end
        else:
            units.append(_Unit(start, end, "text", blank))
        blank = False
    return units


def _continues(previous: _Unit, text: str, line: str, indented: bool) -> bool:
    lower = line[:1].islower()
    if previous.kind == "item":
        return lower or indented
    return lower or not _ENDS_SENTENCE.search(text[previous.start : previous.end])


def _last_sentence_start(text: str, start: int, end: int) -> int | None:
    """Offset where the last sentence of ``text[start:end]`` begins (None: a single sentence)."""
    gaps = [m.end() for m in _SENTENCE_GAP.finditer(text, start, end)]
    # The gap after the last sentence is the block's end itself: ignore a gap at `end`.
    gaps = [g for g in gaps if g < end]
    return gaps[-1] if gaps else None


def split_blocks(text: str, chunk_size: int = 900) -> list[Block]:
    """Paragraphs and lists (with their introducing sentence) of `text`, in order."""
    units = _units(text)
    blocks: list[Block] = []
    i = 0
    while i < len(units):
        unit = units[i]
        if unit.kind == "text":
            blocks.append(Block(unit.start, unit.end))
            i += 1
            continue
        j = i
        while j + 1 < len(units) and units[j + 1].kind == "item":
            j += 1
        start = unit.start
        previous = blocks[-1] if blocks and blocks[-1].kind == "text" else None
        intro_ok = previous is not None and (
            text[previous.start : previous.end].endswith(":") or not unit.blank_before
        )
        if previous is not None and intro_ok:
            if len(previous) <= chunk_size // 2:
                blocks.pop()
                start = previous.start
            else:
                # A long paragraph before the list: only its last sentence introduces it.
                cut = _last_sentence_start(text, previous.start, previous.end)
                if cut is not None and previous.end - cut <= chunk_size // 2:
                    blocks[-1] = Block(previous.start, _trim_end(text, previous.start, cut))
                    start = cut
        blocks.append(Block(start, units[j].end, "list"))
        i = j + 1
    return _attach_headings(text, blocks, chunk_size)


def _is_heading(text: str, block: Block) -> bool:
    body = text[block.start : block.end]
    return (
        block.kind == "text"
        and len(block) <= _HEADING_MAX
        and not body[:1].islower()
        and not _ENDS_SENTENCE.search(body)
    )


def _attach_headings(text: str, blocks: list[Block], chunk_size: int) -> list[Block]:
    """A heading (short line, no final punctuation) starts the block after it.

    Otherwise a heading could end one chunk while its paragraph opens the next,
    or be left alone as a tiny chunk.
    """
    out: list[Block] = []
    pending: int | None = None
    for block in blocks:
        first = block.start if pending is None else pending
        if _is_heading(text, block) and block.end - first <= chunk_size // 2:
            pending = first
            continue
        if pending is not None:
            block = Block(pending, block.end, block.kind, body=block.start)
            pending = None
        out.append(block)
    if pending is not None:
        out.append(Block(pending, blocks[-1].end))
    return out


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _tail(text: str, chunk_start: int, block: Block, end: int, overlap: int) -> int | None:
    """Start of the overlap for the next chunk: the last block, or its last sentences."""
    if overlap <= 0:
        return None
    candidates = [block.start] + [m.end() for m in _SENTENCE_GAP.finditer(text, block.start, end)]
    for candidate in candidates:  # earliest first: the longest tail that fits
        if chunk_start < candidate < end and end - candidate <= overlap:
            return candidate
    return None


def _split_oversized(text: str, block: Block, chunk_size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) pieces of a block too big for one chunk, on sentence boundaries.

    The block's heading, if any, is kept at the start of the first piece rather
    than left alone: the text after it is split into smaller pieces to make room.
    Overlap between pieces is added here (the previous piece's last sentences),
    not by the splitter: without overlap its pieces follow each other, so their
    offsets are known exactly (its own `start_index` can be wrong on repeated text).
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    start = block.body if block.body > block.start else block.start
    size = chunk_size - (start - block.start)
    if size < chunk_size // 2:  # (only with odd whitespace between heading and text)
        start, size = block.start, chunk_size
    splitter = RecursiveCharacterTextSplitter(
        separators=_SEPARATORS, keep_separator="end", chunk_size=size, chunk_overlap=0, strip_whitespace=True
    )
    pieces: list[tuple[int, int]] = []
    cursor = start
    for raw in splitter.split_text(text[start : block.end]):
        content = raw.strip()  # split into characters, the splitter can return bare spaces
        if not content:
            continue
        at = cursor
        while at < block.end and text[at].isspace():
            at += 1
        if text[at : at + len(content)] != content:  # not expected; search rather than guess
            at = text.find(content, cursor, block.end)
            if at < 0:
                raise AssertionError("text splitter returned a piece that is not in the text")
        cursor = at + len(content)
        pieces.append((at, cursor))
    if not pieces:
        return []
    pieces[0] = (block.start, pieces[0][1])
    out = [pieces[0]]
    for (prev_start, prev_end), (piece_start, piece_end) in zip(pieces, pieces[1:], strict=False):
        tail = _tail(text, prev_start, Block(prev_start, prev_end), prev_end, overlap)
        out.append((tail if tail is not None and piece_end - tail <= chunk_size else piece_start, piece_end))
    return out


def _spans(text: str, chunk_size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of each chunk."""
    spans: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None  # start, end of the chunk being filled
    last: Block | None = None  # last block in `current`
    tail: int | None = None  # where the next chunk may start, for overlap

    def flush() -> None:
        nonlocal current, tail
        if current is not None:
            spans.append(current)
            tail = _tail(text, current[0], last, current[1], overlap) if last else None
            current = None

    for block in split_blocks(text, chunk_size):
        limit = chunk_size
        if block.kind == "list" and len(block) <= LIST_ALLOWANCE * chunk_size:
            limit = max(chunk_size, len(block))
        if len(block) > limit:
            flush()
            pieces = _split_oversized(text, block, chunk_size, overlap)
            spans.extend(pieces[:-1])
            # The last piece stays open: the blocks after it may still fit in.
            current = pieces[-1]
            last = Block(*current)
            continue
        if current is not None and block.end - current[0] <= chunk_size:
            current = (current[0], block.end)
            last = block
            continue
        flush()
        start = tail if tail is not None and block.end - tail <= limit else block.start
        current = (start, block.end)
        last = block
    flush()
    return spans


def chunk_metadata(doc: LoadedDocument) -> dict[str, Any]:
    """The document-level part of every chunk's metadata (flat scalars, as Chroma wants)."""
    meta = doc.metadata
    out: dict[str, Any] = {
        "doc_id": meta.doc_id,
        "source": meta.source,
        "title": meta.title,
        "date": meta.date or "",
        "date_num": meta.date_num,
        "format": meta.format,
        "language": meta.language,
        "regions": "|".join(meta.regions),
    }
    for region in meta.regions:
        out[region_key(region)] = True
    return out


def chunk_document(doc: LoadedDocument, chunk_size: int = 900, overlap: int = 150) -> list[Document]:
    """Chunks of `doc.text`, with metadata; see the module docstring for the rules.

    Each chunk's metadata: chunk_id (``doc_id:position``), doc_id, source, title,
    date ("" when none), date_num, page (where the chunk starts; 0 when not a PDF),
    start, end (offsets into ``doc.text``), position, format, language, regions
    ("|"-joined) and ``region:<slug>: True`` for each region the document mentions.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if not 0 <= overlap < chunk_size:
        raise ValueError(f"overlap must be between 0 and chunk_size - 1, got {overlap}")
    base = chunk_metadata(doc)
    chunks: list[Document] = []
    for position, (start, end) in enumerate(_spans(doc.text, chunk_size, overlap)):
        chunk_id = f"{doc.metadata.doc_id}:{position}"
        metadata = {
            **base,
            "chunk_id": chunk_id,
            "page": doc.page_at(start),
            "start": start,
            "end": end,
            "position": position,
        }
        chunks.append(Document(id=chunk_id, page_content=doc.text[start:end], metadata=metadata))
    return chunks
