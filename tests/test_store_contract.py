"""One store contract, run against the embedded Chroma and a real `chroma run` server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from assistant.service import Assistant
from knowledge.errors import EmbedderMismatchError, NotFoundError
from knowledge.settings import Settings

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus"


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def make(request, tmp_path: Path, e5):
    """Builds Assistants over one store (embedded, or a collection of the shared server)."""
    collection = f"t{uuid.uuid4().hex[:12]}"
    url = request.getfixturevalue("chroma_server") if request.param == "server" else None

    def build(embedder=e5, data_dir: Path | None = None) -> Assistant:
        settings = Settings(data_dir=data_dir or tmp_path / "data", chroma_url=url, collection=collection)
        return Assistant(settings, embedder=embedder)

    build.kind = request.param
    build.settings = lambda **kw: Settings(**{"data_dir": tmp_path / "data", "chroma_url": url, "collection": collection, **kw})
    return build


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_ingest_is_idempotent_and_counts_chunks(make, tmp_path: Path) -> None:
    a = make()
    assert a.status()["store"] == make.kind
    first = a.ingest([CORPUS])
    assert first.counts == {"added": 5, "unchanged": 0, "replaced": 0, "failed": 0}
    chunks = a.kb.store.count()
    assert chunks == sum(d.chunks for d in a.documents()) > 5
    again = make().ingest([CORPUS])  # a new process would see the same records
    assert again.counts == {"added": 0, "unchanged": 5, "replaced": 0, "failed": 0}
    assert a.kb.store.count() == chunks
    texts = [c.text for c in a.kb.store.all_chunks()]
    metas = [(c.metadata["doc_id"], c.metadata["position"]) for c in a.kb.store.all_chunks()]
    assert len(set(metas)) == len(metas), "a chunk is stored twice"
    assert len(texts) == chunks


def test_search_returns_what_the_store_holds_when_k_exceeds_it(make) -> None:
    """No count before each query: Chroma itself answers an empty collection and a k larger than it."""
    a = make()
    vector = a.kb.embedder.embed_query("combien de territoires")
    assert a.kb.store.search(vector, 8) == []
    a.ingest([CORPUS / "000_1b396a36e8a233e6.txt"])
    n = a.kb.store.count()
    got = a.kb.store.search(vector, n + 50)
    assert len(got) == n and len({doc.id for doc, _ in got}) == n
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


def test_a_new_collection_gets_the_measured_hnsw_settings(make) -> None:
    from knowledge.store import HNSW

    a = make()
    a.ingest([CORPUS / "000_1b396a36e8a233e6.txt"])
    hnsw = a.kb.store._collection.configuration_json["hnsw"]
    assert {k: hnsw[k] for k in HNSW} == HNSW
    assert HNSW["ef_search"] > 100 and HNSW["max_neighbors"] > 16  # more than Chroma's defaults


def test_the_whole_collection_is_read_page_by_page(make, tmp_path: Path, monkeypatch) -> None:
    """One `get` of everything fails past about 32,000 chunks (seen at 100k in bench/scale.py); reading
    in pages must return every chunk once, whatever the page size."""
    from knowledge import store

    a = make()
    a.ingest([CORPUS])
    whole = sorted((c.id, c.text) for c in a.kb.store.all_chunks())
    assert len(whole) == a.kb.store.count() > 7
    monkeypatch.setattr(store, "PAGE", 7)
    assert sorted((c.id, c.text) for c in a.kb.store.all_chunks()) == whole
    assert sorted(a.kb.store.ids()) == [i for i, _ in whole]
    monkeypatch.setattr(store, "PAGE", len(whole))  # a last page that is exactly full
    assert sorted(a.kb.store.ids()) == [i for i, _ in whole]


def test_unchanged_files_skip_the_index_and_another_collection_is_still_filled(make, tmp_path: Path, monkeypatch) -> None:
    from ingest import pipeline

    a = make()
    a.ingest([CORPUS])
    calls: list[str] = []
    real = pipeline.lc_index
    monkeypatch.setattr(pipeline, "lc_index", lambda docs, *rest, **kw: calls.append(docs[0].metadata["source"]) or real(docs, *rest, **kw))
    assert make().ingest([CORPUS]).counts == {"added": 0, "unchanged": 5, "replaced": 0, "failed": 0}
    assert calls == [], "an unchanged file was recognised from its stored digest"
    # The same data directory over another collection: the documents are known, their chunks are not there.
    other = Assistant(make.settings(collection=f"{make.settings().collection}b"), embedder=a.kb.embedder)
    report = other.ingest([CORPUS])
    assert len(calls) == 5 and report.ok
    assert other.kb.store.count() == a.kb.store.count()
    assert make().ingest([CORPUS]).counts["unchanged"] == 5, "and back to the first one: nothing stored twice"
    assert a.kb.store.count() == sum(d.chunks for d in a.documents())


def test_changed_file_replaces_its_chunks(make, tmp_path: Path) -> None:
    a = make()
    doc = _write(tmp_path / "note.txt", "Note sur les friches\n\nLe territoire de Vierzon a reconverti 4 friches en 2021.")
    assert a.ingest([doc]).counts["added"] == 1
    old_ids = set(a.kb.store.ids())
    _write(doc, "Note sur les friches\n\nLe territoire de Vierzon a reconverti 7 friches en 2023.")
    report = a.ingest([doc])
    assert report.counts["replaced"] == 1
    texts = " ".join(c.text for c in a.kb.store.all_chunks())
    assert "7 friches" in texts and "4 friches" not in texts
    assert not old_ids & set(a.kb.store.ids())
    assert len(a.documents()) == 1
    answer = a.answer("Combien de friches Vierzon a-t-il reconverties ?")
    assert "7 friches" in answer.text and not answer.abstained


def test_remove_deletes_document_and_chunks(make, tmp_path: Path) -> None:
    a = make()
    a.ingest([CORPUS])
    before = a.kb.store.count()
    removed = a.remove("004_a4a221ff72913230.txt")
    assert removed.doc_id
    left = a.kb.store.all_chunks()
    assert len(left) == before - removed.chunks
    assert all(c.metadata["doc_id"] != removed.doc_id for c in left)
    assert "004_a4a221ff72913230.txt" not in " ".join(d.source for d in a.documents())
    # BM25 was rebuilt: the removed document's words are gone from lexical search too.
    assert all(c.metadata["doc_id"] != removed.doc_id for c, _ in a.kb.lexical().search("Issoudun Berry-Sologne", 10))
    with pytest.raises(NotFoundError):
        a.remove("004_a4a221ff72913230.txt")
    # Re-ingesting brings it back as added.
    assert a.ingest([CORPUS]).counts == {"added": 1, "unchanged": 4, "replaced": 0, "failed": 0}


def test_other_embedder_is_refused(make, tmp_path: Path) -> None:
    from knowledge.embeddings import make_embedder

    a = make()
    a.ingest([CORPUS / "000_1b396a36e8a233e6.txt"])
    other = make(embedder=make_embedder("minilm"), data_dir=tmp_path / "data")
    with pytest.raises(EmbedderMismatchError, match="re-ingest|Re-ingest"):
        other.answer("Combien de territoires ?")
    # Nothing was lost.
    assert make().kb.store.count() > 0
