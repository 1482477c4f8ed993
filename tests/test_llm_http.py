"""The LLM answerer over real HTTP: LangChain's ChatOpenAI, built from the settings,
talking to a canned OpenAI-compatible server on 127.0.0.1 (tests/fake_openai_server.py).

No machine here runs an LLM; the server stands in for vLLM / Ollama / a hosted API.
It answers with canned completions and records what the client sent, so these tests
check the wire: the endpoint, the model name, the API key header, the numbered
passages in the prompt, JSON and SSE streaming, and every failure mode (refused
connection, timeout, HTTP 500, refused key, wrong path) ending in the fallback
answer with a warning.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer
from test_llm_answerer import P1, P2, StandInExtractive, assert_exact_citations, request

from assistant.answer import Answer
from assistant.llm import UNKNOWN, LLMAnswerer
from knowledge.settings import Settings

GOOD = "Le Grand Est compte 15 territoires d'industrie [1]."


def answerer_for(url: str, **settings: Any) -> tuple[LLMAnswerer, StandInExtractive]:
    fallback = StandInExtractive()
    values = {"llm_base_url": url, "llm_model": "qwen-test", "llm_timeout_s": 10.0, **settings}
    return LLMAnswerer(Settings(**values), fallback=fallback), fallback


def test_a_plain_completion_carries_the_model_the_key_and_the_numbered_passages() -> None:
    with FakeOpenAIServer(GOOD, api_key="sk-test") as server:
        answerer, fallback = answerer_for(server.url, llm_api_key="sk-test")
        answer = answerer.answer(request())
    assert answer.answerer == "llm" and answer.text == GOOD and answer.warnings == []
    assert_exact_citations(answer)
    assert fallback.calls == 0
    [sent] = server.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "qwen-test"
    assert not sent.body.get("stream")
    # the default bound on the model's output (TIA_LLM_MAX_TOKENS), under both names servers read
    assert sent.body["max_tokens"] == sent.body["max_completion_tokens"] == 400
    assert sent.body["messages"][0]["role"] == "system"
    assert sent.body["messages"][-1]["role"] == "user"
    assert f"[1] (Le programme en Grand Est, 2019-11) {P1.text}" in sent.prompt
    assert f"[2] (Lancement du déploiement, 2019-03) {P2.text}" in sent.prompt
    assert "Question : Combien de territoires d'industrie compte le Grand Est ?" in sent.prompt


def test_the_output_bound_is_configurable() -> None:
    with FakeOpenAIServer(GOOD) as server:
        answerer, _ = answerer_for(server.url, llm_max_tokens=64)
        answerer.answer(request())
    assert server.requests[0].body["max_tokens"] == server.requests[0].body["max_completion_tokens"] == 64


def test_without_a_key_a_placeholder_is_sent() -> None:
    with FakeOpenAIServer(GOOD) as server:
        answerer, _ = answerer_for(server.url)
        assert answerer.answer(request()).answerer == "llm"
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_a_base_url_without_v1_reaches_the_v1_routes() -> None:
    with FakeOpenAIServer(GOOD) as server:
        answerer, _ = answerer_for(server.root)
        assert answerer.answer(request()).answerer == "llm"
    assert server.requests[0].path == "/v1/chat/completions"


def test_streaming_passes_the_server_sent_events_through() -> None:
    reply = GOOD + " Il en compte aussi 40 en Bretagne [1]."
    with FakeOpenAIServer(reply) as server:
        answerer, _ = answerer_for(server.url)
        items = list(answerer.stream(request()))
    assert server.requests[0].body["stream"] is True
    pieces, final = items[:-1], items[-1]
    assert len(pieces) > 5 and "".join(pieces) == reply
    assert isinstance(final, Answer) and final.answerer == "llm"
    assert final.text == GOOD  # the unsupported second sentence is dropped from the final text
    assert any("40 en Bretagne" in w for w in final.warnings)


def test_history_goes_over_the_wire_as_prior_messages() -> None:
    history = [{"role": "user", "content": "Et en Bretagne ?"}, {"role": "assistant", "content": "Je ne sais pas [1]."}]
    with FakeOpenAIServer(GOOD) as server:
        answerer, _ = answerer_for(server.url)
        answerer.answer(request(history=history))
    roles = [(m["role"], m["content"]) for m in server.requests[0].body["messages"]]
    assert roles[1:3] == [("user", "Et en Bretagne ?"), ("assistant", "Je ne sais pas.")]


def test_an_abstention_over_http() -> None:
    with FakeOpenAIServer(UNKNOWN["en"]) as server:
        answerer, _ = answerer_for(server.url)
        answer = answerer.answer(request("en", question="What is the capital of Australia?"))
    assert answer.abstained and answer.answerer == "llm" and answer.text == UNKNOWN["en"]


# -- failures: each ends in the fallback answer and a warning that says why ---------------
def _assert_fell_back(answer: Answer, fallback: StandInExtractive, pattern: str) -> None:
    assert fallback.calls == 1 and answer.answerer == "extractive" and answer.text.startswith("STAND-IN")
    [warning] = answer.warnings
    assert re.search(pattern, warning), warning
    assert warning.endswith("; extractive answer shown")


def test_a_refused_connection() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    answerer, fallback = answerer_for(url)
    _assert_fell_back(answerer.answer(request()), fallback, rf"^LLM endpoint {re.escape(url)} unreachable: .*refused")


def test_a_server_error_is_retried_once_then_falls_back() -> None:
    with FakeOpenAIServer(GOOD, status=500) as server:
        answerer, fallback = answerer_for(server.url)
        answer = answerer.answer(request())
    _assert_fell_back(answer, fallback, r"failed \(HTTP 500\): canned failure 500")
    assert len(server.requests) == 2  # max_retries=1


def test_a_refused_key() -> None:
    with FakeOpenAIServer(GOOD, api_key="right") as server:
        answerer, fallback = answerer_for(server.url, llm_api_key="wrong")
        answer = answerer.answer(request())
    _assert_fell_back(answer, fallback, r"refused the API key \(HTTP 401\).*TIA_LLM_API_KEY")


def test_a_wrong_path() -> None:
    with FakeOpenAIServer(GOOD) as server:
        answerer, fallback = answerer_for(server.root + "/api")
        answer = answerer.answer(request())
    _assert_fell_back(answer, fallback, r"does not serve model 'qwen-test' .*HTTP 404")


@pytest.mark.parametrize("stream", [False, True])
def test_a_server_slower_than_llm_timeout_s(stream: bool) -> None:
    with FakeOpenAIServer(GOOD, delay_s=20) as server:
        answerer, fallback = answerer_for(server.url, llm_timeout_s=0.5)
        answer = list(answerer.stream(request()))[-1] if stream else answerer.answer(request())
    _assert_fell_back(answer, fallback, r"did not answer within 0.5 s")


def test_a_stream_that_trickles_past_the_limit_is_cut() -> None:
    # Each chunk comes well within the read timeout, but the whole answer would not.
    with FakeOpenAIServer(GOOD + " " + GOOD, chunk_delay_s=0.3) as server:
        answerer, fallback = answerer_for(server.url, llm_timeout_s=1.0)
        items = list(answerer.stream(request()))
    final = items[-1]
    assert items[:-1] and "".join(items[:-1]) != GOOD + " " + GOOD  # some tokens were shown, not all
    _assert_fell_back(final, fallback, r"did not answer within 1 s")


# -- end to end: the real Assistant, retrieval and embeddings, the LLM over HTTP ----------
def _cite_the_grand_est_passage(body: dict[str, Any]) -> str:
    """A 'model' that reads the numbered passages and cites the one holding the figure."""
    prompt = body["messages"][-1]["content"]
    for number, text in re.findall(r"^\[(\d+)\] \([^)]*\) (.*)$", prompt, flags=re.M):
        if "15 territoires d" in text:
            return f"Le Grand Est compte 15 territoires d'industrie [{number}]."
    return UNKNOWN["fr"]


@pytest.mark.slow
def test_the_assistant_answers_through_the_llm_endpoint(corpus_data_dir: Path, e5) -> None:
    from assistant.service import Assistant

    with FakeOpenAIServer(_cite_the_grand_est_passage) as server:
        settings = Settings(data_dir=corpus_data_dir, llm_base_url=server.url, llm_model="m", llm_timeout_s=10)
        assistant = Assistant(settings, embedder=e5)
        answer = assistant.answer("Combien de territoires d'industrie compte le Grand Est ?")
    assert answer.answerer == "llm", answer.warnings
    assert answer.text == "Le Grand Est compte 15 territoires d'industrie [1]."
    [citation] = answer.citations
    assert citation.source_name.startswith("000_")
    assert assistant.document(citation.doc_id).text[citation.start : citation.end] == citation.quote
    assert "15 territoires d" in citation.quote
