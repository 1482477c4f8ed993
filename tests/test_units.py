"""Answer units: sentences and list items with exact offsets, and what is embedded for each."""

from __future__ import annotations

from assistant.units import embedding_texts, split_units

TEXT = (
    "Le programme vise à appuyer le développement. Il se focalise sur 4 axes majeurs :\n"
    "- Accélérer la transition écologique\n"
    "- Mobiliser le foncier industriel\n"
    "Depuis 2023, trois missions ont eu lieu.\n"
)


def test_units_are_exact_spans_with_lists_and_intros() -> None:
    units = split_units("d", TEXT)
    assert [u.kind for u in units] == ["sentence", "sentence", "item", "item", "sentence"]
    assert all(TEXT[u.start : u.end] == u.text for u in units)
    assert [u.intro for u in units] == [False, True, False, False, False]
    assert units[2].list_id == units[3].list_id == 2 and units[4].list_id == -1


def test_list_items_are_embedded_with_their_intro() -> None:
    units = split_units("d", TEXT)
    texts = embedding_texts(units)
    assert texts[2] == "Il se focalise sur 4 axes majeurs : - Accélérer la transition écologique"
    assert texts[0] == units[0].text and texts[4] == units[4].text


def test_etc_ends_a_sentence_before_a_capital() -> None:
    text = "Pour investir dans le numérique, la mobilité etc. Cela s'accompagnera d'une enveloppe d'ingénierie."
    assert [u.text for u in split_units("d", text)] == [
        "Pour investir dans le numérique, la mobilité etc.",
        "Cela s'accompagnera d'une enveloppe d'ingénierie.",
    ]


def test_pdf_lines_broken_at_the_page_width_are_read_as_one_sentence() -> None:
    text = (
        "Atelier de robotique\n"
        "Le 12 mars 2024, la commune de Brévilly-sur-Orne a reçu 3,2 millions d'euros du programme\n"
        "Territoires d'industrie pour ouvrir un atelier.\n"
        "- un premier point de la liste\n"
    )
    wrapped = split_units("d", text, wrapped=True)
    assert [u.kind for u in wrapped] == ["heading", "sentence", "item"]
    assert wrapped[1].text.startswith("Le 12 mars") and wrapped[1].text.endswith("un atelier.")
    assert all(text[u.start : u.end] == u.text for u in wrapped)
    # Text that is not from a PDF keeps its lines: a line break there is meant.
    assert len(split_units("d", text)) == 4


def test_the_document_listing_is_reused_until_the_files_change(tmp_path) -> None:  # noqa: ANN001
    """A question reads the listing: the same files give the same list (no file read again); a
    document written or removed here, or by another process, gives a new one."""
    from knowledge.docstore import DocumentStore, StoredDocument

    def doc(i: int) -> StoredDocument:
        return StoredDocument(f"d{i}", f"/c/{i}.txt", f"T{i}", None, "txt", "fr", f"texte {i}")

    here, other = DocumentStore(tmp_path), DocumentStore(tmp_path)  # other: another process's view
    assert here.all() == []
    here.put(doc(1))
    first = here.all()
    assert [d.doc_id for d in first] == ["d1"] and here.all() is first
    other.put(doc(2))
    second = here.all()
    assert second is not first and [d.doc_id for d in second] == ["d1", "d2"] and here.all() is second
    here.delete("d1")
    assert [d.doc_id for d in here.all()] == ["d2"]
    other.all()
    (tmp_path / "d2.json").unlink()  # removed behind its back
    assert other.all() == []
