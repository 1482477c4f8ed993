"""Structure-aware chunking with exact offsets (ingest.chunking)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document

from ingest.chunking import LIST_ALLOWANCE, chunk_document, split_blocks
from ingest.document import DocumentMetadata, LoadedDocument
from ingest.loaders import load_document
from ingest.normalize import normalize_text

CORPUS = Path(__file__).resolve().parents[1] / "knowledge" / "corpus"
DOC = {p.name[:3]: p for p in CORPUS.glob("*.txt")}


def make_doc(text: str) -> LoadedDocument:
    """A document straight from a string (no file), for texts the tests generate."""
    meta = DocumentMetadata(
        doc_id="0123456789abcdef",
        source="/tmp/generated.txt",
        title="Généré",
        date=None,
        date_num=0,
        regions=(),
        language="fr",
        format="txt",
    )
    return LoadedDocument(path=Path(meta.source), original=text, text=text, metadata=meta)


def check_invariants(doc: LoadedDocument, chunks: list[Document]) -> None:
    """Offsets index doc.text exactly; nothing empty; positions and ids in order."""
    assert chunks or not doc.text.strip()
    previous_start = -1
    for position, chunk in enumerate(chunks):
        meta = chunk.metadata
        start, end = meta["start"], meta["end"]
        assert doc.text[start:end] == chunk.page_content
        assert chunk.page_content.strip()
        assert chunk.page_content == chunk.page_content.strip()
        assert meta["position"] == position
        assert meta["chunk_id"] == f"{doc.metadata.doc_id}:{position}" == chunk.id
        assert start > previous_start
        previous_start = start
        for key, value in meta.items():  # Chroma takes flat scalars only
            assert isinstance(value, (str, int, float, bool)), (key, value)


def covered(doc: LoadedDocument, chunks: list[Document]) -> bool:
    """Every non-space character of the text is in some chunk."""
    mask = bytearray(len(doc.text))
    for chunk in chunks:
        mask[chunk.metadata["start"] : chunk.metadata["end"]] = b"\x01" * (chunk.metadata["end"] - chunk.metadata["start"])
    return all(mask[i] or ch.isspace() for i, ch in enumerate(doc.text))


# -- the bundled corpus -----------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(DOC))
def test_corpus_invariants(key: str) -> None:
    doc = load_document(DOC[key])
    chunks = chunk_document(doc)
    check_invariants(doc, chunks)
    assert covered(doc, chunks)
    for chunk in chunks:
        assert len(chunk.page_content) <= LIST_ALLOWANCE * 900
        meta = chunk.metadata
        assert meta["doc_id"] == doc.metadata.doc_id
        assert meta["source"] == doc.metadata.source
        assert meta["title"] == doc.metadata.title
        assert meta["date"] == doc.metadata.date
        assert meta["date_num"] == doc.metadata.date_num
        assert meta["page"] == 0  # not a PDF
        assert meta["format"] == "txt" and meta["language"] == "fr"


def test_laureates_list_stays_whole_with_its_introduction() -> None:
    doc = load_document(DOC["004"])
    chunks = chunk_document(doc)
    intro = "En Centre-Val de Loire, 12 territoires sont lauréats de cette seconde phase du programme :"
    laureates = re.findall(r"^- .+$", doc.text[doc.text.index(intro) :].split("\nCes territoires")[0], re.M)
    assert len(laureates) == 12
    holding = [c for c in chunks if intro in c.page_content]
    assert len(holding) == 1
    content = holding[0].page_content
    assert all(item in content for item in laureates)
    assert content.index(intro) < content.index(laureates[0])
    # The list is never cut: no other chunk holds only part of it.
    for chunk in chunks:
        if chunk is not holding[0]:
            assert "Chartres métropole" not in chunk.page_content


def test_overlap_between_neighbours() -> None:
    doc = load_document(DOC["004"])
    chunks = chunk_document(doc)
    overlaps = []
    for before, after in zip(chunks, chunks[1:], strict=False):
        shared = before.metadata["end"] - after.metadata["start"]
        if shared > 0:
            # The overlap is the end of the previous chunk, at most `overlap` long.
            assert shared <= 150
            assert before.page_content.endswith(doc.text[after.metadata["start"] : before.metadata["end"]])
            overlaps.append(shared)
    assert len(overlaps) >= len(chunks) // 2


def test_region_metadata() -> None:
    chunks = chunk_document(load_document(DOC["004"]))
    for chunk in chunks:
        assert chunk.metadata["regions"] == "Centre-Val de Loire"
        assert chunk.metadata["region:centre-val-de-loire"] is True
        assert "region:grand-est" not in chunk.metadata
    chunks = chunk_document(load_document(DOC["002"]))
    meta = chunks[0].metadata
    assert set(meta["regions"].split("|")) == {"Centre-Val de Loire", "Pays de la Loire", "Auvergne-Rhône-Alpes"}
    for key in ("region:centre-val-de-loire", "region:pays-de-la-loire", "region:auvergne-rhone-alpes"):
        assert meta[key] is True
    assert chunk_document(load_document(DOC["001"]))[0].metadata["regions"] == ""


def test_chunk_sizes_follow_the_arguments() -> None:
    doc = load_document(DOC["002"])
    small = chunk_document(doc, chunk_size=300, overlap=50)
    check_invariants(doc, small)
    assert covered(doc, small)
    assert all(len(c.page_content) <= 300 for c in small)
    assert len(small) > len(chunk_document(doc))


def test_bad_arguments() -> None:
    doc = make_doc("Un texte.")
    with pytest.raises(ValueError):
        chunk_document(doc, chunk_size=0)
    with pytest.raises(ValueError):
        chunk_document(doc, chunk_size=100, overlap=100)


# -- structure --------------------------------------------------------------------------


def test_paragraphs_are_not_cut_when_they_fit() -> None:
    paragraphs = [f"Paragraphe {i}. " + "Une phrase de plus sur les territoires. " * 4 for i in range(8)]
    doc = make_doc("\n\n".join(p.strip() for p in paragraphs))
    chunks = chunk_document(doc, chunk_size=500, overlap=0)
    check_invariants(doc, chunks)
    for chunk in chunks:
        assert chunk.page_content.startswith("Paragraphe")
        assert chunk.page_content.endswith("territoires.")


def test_long_list_may_exceed_chunk_size() -> None:
    items = "\n".join(f"- Territoire numéro {i}, qui inclut notamment une ville" for i in range(12))
    doc = make_doc("Un premier paragraphe.\n\nLes lauréats sont :\n" + items + "\n\nFin du texte.")
    chunk_size = 500
    list_len = len("Les lauréats sont :\n" + items)
    assert chunk_size < list_len <= LIST_ALLOWANCE * chunk_size
    chunks = chunk_document(doc, chunk_size=chunk_size, overlap=50)
    check_invariants(doc, chunks)
    whole = [c for c in chunks if "Les lauréats sont :" in c.page_content]
    assert len(whole) == 1 and whole[0].page_content.endswith("Territoire numéro 11, qui inclut notamment une ville")


def test_very_long_list_is_split_between_items() -> None:
    items = "\n".join(f"- Territoire numéro {i}, qui inclut notamment une ville" for i in range(40))
    doc = make_doc("Les lauréats sont :\n" + items)
    chunks = chunk_document(doc, chunk_size=400, overlap=60)
    check_invariants(doc, chunks)
    assert covered(doc, chunks)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.page_content.endswith("une ville")  # cut between items, never inside one
        assert len(chunk.page_content) <= 400


def test_oversized_paragraph_split_on_sentences() -> None:
    sentences = [f"La phrase numéro {i} parle de réindustrialisation et de foncier." for i in range(40)]
    doc = make_doc(" ".join(sentences))
    chunks = chunk_document(doc, chunk_size=400, overlap=80)
    check_invariants(doc, chunks)
    assert covered(doc, chunks)
    for chunk in chunks:
        assert chunk.page_content.startswith("La phrase") and chunk.page_content.endswith("foncier.")
        assert len(chunk.page_content) <= 400


def test_heading_stays_with_its_paragraph() -> None:
    body = "Une phrase assez longue sur le programme et ses territoires. " * 16  # > chunk_size
    doc = make_doc("Premier paragraphe court.\n\nQuatre conventions de mobilisation\n\n" + body.strip())
    chunks = chunk_document(doc, chunk_size=800, overlap=100)
    check_invariants(doc, chunks)
    assert all(c.page_content != "Quatre conventions de mobilisation" for c in chunks)
    assert any(c.page_content.startswith("Quatre conventions de mobilisation\n\nUne phrase") for c in chunks)
    assert all(len(c.page_content) <= 800 for c in chunks)


def test_wrapped_lines_make_one_paragraph() -> None:
    text = "Le programme vise à appuyer\nle développement des territoires.\nUne autre phrase."
    blocks = split_blocks(text)
    assert [text[b.start : b.end] for b in blocks] == [
        "Le programme vise à appuyer\nle développement des territoires.",
        "Une autre phrase.",
    ]


def test_empty_text_gives_no_chunks() -> None:
    assert chunk_document(make_doc("")) == []
    assert chunk_document(make_doc(" \n\n ")) == []


# -- PDF pages --------------------------------------------------------------------------


def test_pdf_page_numbers_in_chunks(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for number in (1, 2, 3):
        pdf.add_page()
        for k in range(4):
            pdf.multi_cell(0, 6, f"Page {number}, paragraphe {k}. " + "Les territoires d'industrie et leurs projets. " * 5)
            pdf.ln(4)
    path = tmp_path / "pages.pdf"
    path.write_bytes(bytes(pdf.output()))
    doc = load_document(path)
    chunks = chunk_document(doc, chunk_size=400, overlap=60)
    check_invariants(doc, chunks)
    assert covered(doc, chunks)
    assert {c.metadata["page"] for c in chunks} == {1, 2, 3}
    for chunk in chunks:
        start = chunk.metadata["start"]
        page = next(p for p in doc.pages if p.start <= start < p.end)
        assert chunk.metadata["page"] == page.number
        assert chunk.metadata["format"] == "pdf"
        # Each paragraph names its page: the first one a chunk shows is on the chunk's page.
        first = re.search(r"Page (\d)", chunk.page_content)
        if first and first.start() == 0:
            assert int(first.group(1)) == chunk.metadata["page"]


# -- property: the offsets invariant on random texts ------------------------------------

_PIECES = st.sampled_from(
    ["Le", "territoire", "d'industrie", "Centre-Val", "de", "Loire", "12", "é", "«", "»", ":", ".", ",",
     "!", "?", ";", "-", "- ", "* ", "1. ", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "a" * 40, "Titre"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(_PIECES, max_size=300),
    chunk_size=st.integers(min_value=20, max_value=400),
    overlap_ratio=st.floats(min_value=0, max_value=0.9),
)
def test_offsets_invariant_on_random_texts(pieces: list[str], chunk_size: int, overlap_ratio: float) -> None:
    text = "".join(pieces)
    doc = make_doc(text)
    chunks = chunk_document(doc, chunk_size=chunk_size, overlap=int(chunk_size * overlap_ratio))
    check_invariants(doc, chunks)
    assert covered(doc, chunks)
    for chunk in chunks:
        assert len(chunk.page_content) <= LIST_ALLOWANCE * chunk_size + 150


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=1500))
def test_offsets_invariant_on_normalised_arbitrary_text(raw: str) -> None:
    doc = make_doc(normalize_text(raw))
    chunks = chunk_document(doc, chunk_size=200, overlap=40)
    check_invariants(doc, chunks)
    assert covered(doc, chunks)
