"""The real bundled embedding models behind LangChain's Embeddings interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.embeddings import E5SmallEmbeddings, SentenceTransformerEmbeddings, make_embedder
from knowledge.errors import ConfigError


@pytest.mark.slow
def test_e5_small_is_multilingual_and_normalised(e5: E5SmallEmbeddings) -> None:
    q = np.asarray(e5.embed_query("How many industrial territories are in the Grand Est region?"))
    docs = np.asarray(
        e5.embed_documents(
            [
                "Le Grand Est compte au total 15 territoires d'industrie.",
                "La recette de la tarte aux pommes demande du beurre et du sucre.",
            ]
        )
    )
    assert q.shape == (384,) and docs.shape == (2, 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert docs[0] @ q > docs[1] @ q + 0.05
    # query: and passage: prefixes give different vectors for the same text
    assert not np.allclose(e5.embed_query("Bourges"), e5.embed_documents(["Bourges"])[0])
    assert e5.embed_documents([]) == []


@pytest.mark.slow
def test_sentence_transformers_backend_with_bundled_minilm() -> None:
    emb = make_embedder("minilm")
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert emb.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    vectors = np.asarray(emb.embed_documents(["factories in Bourges", "apple pie recipe"]))
    q = np.asarray(emb.embed_query("industrial plants in Bourges"))
    assert vectors.shape == (2, 384) and emb.dimension == 384
    assert vectors[0] @ q > vectors[1] @ q


def test_embedder_specs() -> None:
    assert isinstance(make_embedder("e5-small"), E5SmallEmbeddings)
    with pytest.raises(ConfigError, match="unknown embedder"):
        make_embedder("word2vec")


def test_local_directory_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a sentence-transformers model"):
        make_embedder(str(tmp_path))


@pytest.mark.slow
def test_missing_hub_model_fails_fast_offline() -> None:
    emb = make_embedder("st:someone/not-downloaded-model")
    with pytest.raises(ConfigError, match="offline"):
        emb.embed_query("x")
