"""The UI's HTTP side: rendering and escaping, feedback and its export, uploads,
login, and the three ways programs ask (Gradio `/ask`, `POST /api/ask`, the
OpenAI-compatible `/v1/chat/completions`), each checked against `tia ask --json`."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("ui_helpers")
from ui_helpers import ROOT, LiveServer, cli_answer, free_port, run_tia, same_answer  # noqa: E402

from assistant.answer import Answer, Citation, Passage  # noqa: E402

pytest_plugins = ["ui_helpers"]  # the shared session server (ui_server), started once

CVL = "Quels territoires du Centre-Val de Loire sont lauréats de la phase 2 ?"
GRAND_EST = "Combien de territoires d'industrie compte le Grand Est ?"
EVIL = "Tarif <script>alert(1)</script> & <img src=x onerror=alert(2)> *gras* [lien](javascript:x)"


def _answer(text: str, quote: str, passage_text: str, *, abstained: bool = False) -> Answer:
    start = 100 + passage_text.index(quote)
    citation = Citation(
        n=1, source="/data/a <b>.txt", doc_id="d1", title="Titre <i>", date="2024-01", page=2,
        quote=quote, start=start, end=start + len(quote), score=1.0, chunk_id="d1:0",
    )  # fmt: skip
    passage = Passage(
        rank=1, chunk_id="d1:0", doc_id="d1", source="/data/a <b>.txt", title="Titre <i>", date="2024-01",
        page=2, start=100, end=100 + len(passage_text), text=passage_text, score=1.0,
    )  # fmt: skip
    return Answer(
        question="Q <b>?", text=text, citations=[] if abstained else [citation], abstained=abstained,
        language="fr", passages=[passage],
    )  # fmt: skip


# -- rendering: every piece of document text is escaped -------------------------------------


def test_answer_markdown_escapes_html_and_markdown_and_links_marks() -> None:
    from ui.render import answer_markdown

    md = answer_markdown(EVIL + " [1]\n- point *un* [2]", turn=3)
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script&gt;" in md and "&lt;img src=x onerror=alert(2)&gt;" in md.replace("\\", "")
    assert "\\*gras\\*" in md and "\\[lien\\](javascript" in md  # a document's fake link stays text
    assert md.count("](#src-3-") == 2 and "[\\[1\\]](#src-3-1)" in md and "[\\[2\\]](#src-3-2)" in md
    assert "\n- point" in md  # list items of the answer stay a list
    assert answer_markdown("12. Issoudun\n# Titre") == "12\\. Issoudun\n\\# Titre"  # no list, no heading


def test_sources_html_marks_the_span_inside_its_passage_and_escapes_everything() -> None:
    from ui.render import source_id, sources_html

    passage = "Avant <script>x()</script>. Le montant est de 3 M€ <img src=x onerror=y()>. Après."
    quote = "Le montant est de 3 M€ <img src=x onerror=y()>."
    html_out = sources_html([("Q <b>?", _answer("Le montant [1]", quote, passage))], "fr")
    assert "<script>" not in html_out and "<img" not in html_out and "<b>" not in html_out and "<i>" not in html_out
    assert "<mark>Le montant est de 3 M€ &lt;img src=x onerror=y()&gt;.</mark>" in html_out
    assert "Avant &lt;script&gt;x()&lt;/script&gt;. " in html_out  # context around the span
    assert f'id="{source_id(1, 1)}"' in html_out and "page 2" in html_out and "2024-01" in html_out
    assert 'href="documents/d1?start=' in html_out and "#c" in html_out


def test_sources_html_for_an_abstention_and_an_empty_chat() -> None:
    from ui.render import sources_html

    assert "apparaîtront" in sources_html([], "fr")
    out = sources_html([("Q ?", _answer("Je ne sais pas.", "x", "x", abstained=True))], "en")
    assert "No sources" in out


def test_document_html_marks_the_cited_span_and_page_breaks() -> None:
    from knowledge.docstore import StoredDocument
    from ui.render import document_html

    text = "Page un <script>a()</script>.\n\nPage deux : le passage cité <b>ici</b>. Fin."
    start = text.index("le passage")
    end = text.index(". Fin")
    doc = StoredDocument(
        doc_id="d", source="/x/doc.pdf", title="T <x>", date=None, format="pdf", language="fr", text=text,
        pages=[(1, 0, 31), (2, 31, len(text))],
    )  # fmt: skip
    page = document_html(doc, start, end, "fr")
    assert "<script>" not in page and "<b>" not in page and "<x>" not in page
    assert f'<mark id="c{start}">le passage cité &lt;b&gt;ici&lt;/b&gt;</mark>' in page
    assert 'id="p1"' in page and 'id="p2"' in page
    assert "<mark" not in document_html(doc, end, start, "fr")  # an impossible span is ignored


# -- feedback and its export -----------------------------------------------------------------


def test_feedback_log_and_export_to_a_draft_eval_dataset(tmp_path: Path) -> None:
    from ui.feedback import FeedbackLog, export_jsonl, export_records

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    good = _answer("Le montant [1]", "montant", "Le montant")
    log.record(good, "not_useful", comment="d'abord")
    log.record(good, "useful", comment=" parfait ")  # the latest verdict on a question wins
    abstention = _answer("Je ne trouve pas.", "x", "x", abstained=True)
    log.record(abstention, "useful", history=[{"role": "user", "content": "Avant ?"}, {"role": "assistant", "content": "R"}])
    with (tmp_path / "feedback.jsonl").open("a") as fh:
        fh.write('{"broken": \n')  # a line cut by a crash is skipped, not fatal
    records = log.read()
    assert [r["verdict"] for r in records] == ["not_useful", "useful", "useful"]
    assert records[1]["comment"] == "parfait" and records[1]["citations"][0]["doc_id"] == "d1"
    assert records[2]["history"][0] == {"role": "user", "content": "Avant ?"}

    items = export_records(records)
    assert len(items) == 2
    single, multi = items
    assert single["question"] == "Q <b>?" and "turns" not in single
    assert single["expected_sources"] == ["d1"] and single["answerable"] is True
    assert single["expected_facts"] == [] and single["draft"] is True and single["tags"] == ["feedback", "useful"]
    assert multi["turns"] == ["Avant ?", "Q <b>?"] and multi["answerable"] is False and multi["expected_sources"] == []
    assert len({single["id"], multi["id"]}) == 2

    text = export_jsonl(records)
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) == 2 and "useful — parfait — answer: Le montant [1]" in comments[0]
    assert [json.loads(line) for line in text.splitlines() if not line.startswith("#")] == items


def test_a_reviewed_draft_is_a_valid_eval_record(tmp_path: Path) -> None:
    from evals.dataset import DatasetError, parse_record
    from ui.feedback import FeedbackLog, export_records

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    log.record(_answer("Le montant [1]", "montant", "Le montant"), "useful")
    [draft] = export_records(log.read())
    with pytest.raises(DatasetError):  # a draft does not run before someone reviews it
        parse_record(draft, "draft.jsonl:2")
    reviewed = {k: v for k, v in draft.items() if k != "draft"} | {"expected_facts": [["montant"]]}
    record = parse_record(reviewed, "draft.jsonl:2")
    assert record.id == draft["id"]


def test_feedback_rejects_an_unknown_verdict(tmp_path: Path) -> None:
    from knowledge.errors import ConfigError
    from ui.feedback import FeedbackLog

    with pytest.raises(ConfigError):
        FeedbackLog(tmp_path / "f.jsonl").record(_answer("a [1]", "a", "a"), "meh")


def test_feedback_export_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from ui.commands import feedback
    from ui.feedback import FeedbackLog

    data = tmp_path / "data"
    monkeypatch.setenv("TIA_DATA_DIR", str(data))
    FeedbackLog(data / "feedback.jsonl").record(_answer("Le montant [1]", "montant", "Le montant"), "useful")
    out = tmp_path / "draft.jsonl"
    result = CliRunner().invoke(feedback, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 draft records (1 from useful answers)" in result.output
    comment, line = out.read_text().splitlines()
    item = json.loads(line)
    assert comment.startswith("# ") and item["expected_sources"] == ["d1"] and item["draft"] is True
    to_stdout = CliRunner().invoke(feedback, ["export"])
    assert json.loads(to_stdout.stdout.splitlines()[1])["id"] == item["id"]


# -- chat helpers, uploads, login ------------------------------------------------------------


def test_build_filters_ignores_malformed_dates_and_history_skips_failed_turns() -> None:
    from ui.chat import Turn, build_filters, history_of

    filters, ignored = build_filters(["Grand Est"], "2019", "31/12/2020", ["abc"])
    assert filters is not None and filters.date_from == "2019" and filters.date_to is None
    assert filters.regions == ("Grand Est",) and filters.sources == ("abc",) and ignored == ["31/12/2020"]
    assert build_filters([], "", None, None) == (None, [])
    ok = _answer("R [1]", "R", "R")
    turns = [Turn("Q1", (), ok), Turn("Q2", (), None, "boom")]
    assert history_of(turns) == [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "R [1]"}]


def test_upload_refuses_big_files_and_unknown_types_with_a_clear_message(tmp_path: Path) -> None:
    from assistant.service import Assistant
    from knowledge.settings import Settings
    from ui.documents import DocumentHandlers

    assistant = Assistant(Settings(data_dir=tmp_path / "data"))  # nothing is ingested: no model loads
    big = tmp_path / "rapport.pdf"
    with big.open("wb") as fh:
        fh.truncate(3 * 1024 * 1024 + 1)
    exe = tmp_path / "outil.exe"
    exe.write_bytes(b"MZ")
    report = DocumentHandlers(assistant, limit_mb=3).add([str(big), str(exe)], "fr")
    assert "rapport.pdf : fichier trop volumineux (3.0 Mo ; 3 Mo au plus)" in report
    assert "outil.exe : type de fichier non pris en charge" in report
    assert report.count("échec") == 2
    assert not (tmp_path / "data" / "uploads").exists()
    assert "Choose one or more files first" in DocumentHandlers(assistant).add([], "en")


def test_parse_auth() -> None:
    from knowledge.errors import ConfigError
    from ui.server import parse_auth

    assert parse_auth(None) == [] and parse_auth(" ") == []
    assert parse_auth("ana:s3:cret, bob:pw") == [("ana", "s3:cret"), ("bob", "pw")]
    for bad in ("ana", "ana:", ":pw", "ana:pw,"):
        with pytest.raises(ConfigError):
            parse_auth(bad)


def test_login_protects_the_page_and_the_api(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from assistant.service import Assistant
    from knowledge.settings import Settings
    from ui.server import create_app

    app = create_app(Assistant(Settings(data_dir=tmp_path / "data")), auth=[("ana", "s3cret")])
    basic = {"Authorization": "Basic " + base64.b64encode(b"ana:s3cret").decode()}
    with TestClient(app) as client:
        for path in ("/", "/api/documents", "/v1/models", "/gradio_api/info", "/openapi.json"):
            denied = client.get(path)
            assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic"), path
        wrong = {"Authorization": "Basic " + base64.b64encode(b"ana:wrong").decode()}
        assert client.get("/api/documents", headers=wrong).status_code == 401
        assert client.get("/api/documents", headers=basic).json() == []
        assert client.get("/", headers=basic).status_code == 200
        assert client.get("/v1/models", headers={"Authorization": "Bearer ana:s3cret"}).json()["data"][0]["id"] == "tia"


def test_importing_the_commands_does_not_import_gradio() -> None:
    code = "import sys, ui.commands, ui.feedback; assert 'gradio' not in sys.modules, 'gradio imported'"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr


# -- the live server, compared with the CLI --------------------------------------------------


@pytest.fixture(scope="module")
def cli_answers(ui_server: LiveServer) -> dict[str, dict[str, Any]]:
    """`tia ask --json` over the server's own data dir, one process per question."""
    return {q: cli_answer(q, ui_server.data_dir) for q in (CVL, GRAND_EST)}


@pytest.mark.slow
@pytest.mark.server
def test_gradio_client_ask_matches_the_cli(ui_server: LiveServer, cli_answers: dict[str, Any]) -> None:
    from gradio_client import Client

    client = Client(ui_server.url, verbose=False, download_files=False)
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    got = client.predict(CVL, api_name="/ask")
    same_answer(got, cli_answers[CVL])
    assert "Issoudun" in got["text"] and got["citations"]


@pytest.mark.slow
@pytest.mark.server
def test_api_ask_matches_the_cli_then_follows_up_like_tia_chat(
    ui_server: LiveServer, cli_answers: dict[str, Any]
) -> None:
    import httpx

    first = httpx.post(ui_server.url + "api/ask", json={"question": GRAND_EST}, timeout=120)
    assert first.status_code == 200, first.text
    same_answer(first.json(), cli_answers[GRAND_EST])
    assert "15 territoires" in first.json()["text"]

    follow_up = "Et en Centre-Val de Loire ?"
    history = [{"role": "user", "content": GRAND_EST}, {"role": "assistant", "content": first.json()["text"]}]
    second = httpx.post(ui_server.url + "api/ask", json={"question": follow_up, "history": history}, timeout=120)
    assert second.status_code == 200, second.text
    answer = Answer.from_dict(second.json())
    assert "12 territoires" in answer.text and answer.citations
    # `tia chat` keeps the same history (question, answer text): its second answer is this one.
    chat = run_tia(["chat"], ui_server.data_dir, stdin=f"{GRAND_EST}\n{follow_up}\n\n")
    assert chat.returncode == 0, chat.stderr
    assert answer.to_markdown().strip() in chat.stdout


@pytest.mark.slow
@pytest.mark.server
def test_openai_client_matches_the_cli_with_and_without_streaming(
    ui_server: LiveServer, cli_answers: dict[str, Any]
) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=ui_server.url + "v1", api_key="unused", timeout=120, max_retries=0)
    assert [m.id for m in client.models.list()] == ["tia"]
    expected = cli_answers[CVL]
    completion = client.chat.completions.create(model="tia", messages=[{"role": "user", "content": CVL}])
    got = completion.model_dump()
    assert got["choices"][0]["finish_reason"] == "stop"
    same_answer(
        {"text": got["choices"][0]["message"]["content"], "abstained": got["tia"]["abstained"], "citations": got["citations"]},
        expected,
    )

    chunks = list(
        client.chat.completions.create(model="tia", messages=[{"role": "user", "content": CVL}], stream=True)
    )
    assert len(chunks) > 3  # the answer arrives in pieces
    pieces = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1].model_dump()
    assert final["choices"][0]["finish_reason"] == "stop"
    same_answer({"text": final["tia"]["text"], "abstained": final["tia"]["abstained"], "citations": final["citations"]}, expected)
    assert pieces.split() == expected["text"].split()


@pytest.mark.slow
@pytest.mark.server
def test_filters_go_through_the_api_like_the_cli(ui_server: LiveServer) -> None:
    import httpx

    question = "Quels territoires sont concernés par le programme ?"
    body = {"question": question, "filters": {"regions": ["CVL"], "date_from": "2024"}}
    got = httpx.post(ui_server.url + "api/ask", json=body, timeout=120).json()
    cli = run_tia(["ask", "--json", "--region", "CVL", "--from", "2024", question], ui_server.data_dir)
    assert cli.returncode == 0, cli.stderr
    same_answer(got, json.loads(cli.stdout))
    dated = {d["doc_id"]: d["date"] for d in httpx.get(ui_server.url + "api/documents").json()}
    assert got["citations"] and all(dated[c["doc_id"]] >= "2024" for c in got["citations"])


@pytest.mark.slow
@pytest.mark.server
def test_errors_are_json_with_a_fitting_status(ui_server: LiveServer) -> None:
    import httpx

    url = ui_server.url
    cases = [
        (httpx.post(url + "api/ask", json={"question": ""}), 422, "question"),
        (httpx.post(url + "api/ask", json={"question": "x", "filters": {"regions": ["Atlantide"]}}), 400, "Atlantide"),
        (httpx.post(url + "api/ask", json={"question": "x", "history": [{"role": "bot", "content": "?"}]}), 422, "history"),
        (httpx.get(url + "api/documents/nope"), 404, "nope"),
        (httpx.get(url + "documents/nope"), 404, "nope"),
        (httpx.post(url + "v1/chat/completions", json={"messages": [{"role": "assistant", "content": "?"}]}), 400, "last message"),
        (httpx.post(url + "v1/chat/completions", json={"messages": [{"role": "user", "content": " "}], "stream": True}), 400, "empty"),
    ]  # fmt: skip
    for response, status, words in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert words in response.json()["error"], response.json()


@pytest.mark.slow
@pytest.mark.server
def test_documents_listing_view_and_openapi(ui_server: LiveServer) -> None:
    import httpx

    docs = httpx.get(ui_server.url + "api/documents").json()
    assert len(docs) >= 5 and {"doc_id", "title", "date", "format", "chunks"} <= set(docs[0])
    answer = httpx.post(ui_server.url + "api/ask", json={"question": CVL}, timeout=120).json()
    c = answer["citations"][0]
    page = httpx.get(ui_server.url + f"documents/{c['doc_id']}", params={"start": c["start"], "end": c["end"]})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<mark id="c{c["start"]}">' in page.text
    full = httpx.get(ui_server.url + f"api/documents/{c['doc_id']}").json()
    assert full["text"][c["start"] : c["end"]] == c["quote"]
    schema = httpx.get(ui_server.url + "openapi.json").json()
    assert {"/api/ask", "/v1/chat/completions", "/api/documents", "/documents/{doc_id}"} <= set(schema["paths"])
    assert "AskRequest" in schema["components"]["schemas"]


@pytest.mark.slow
def test_chat_handler_streams_then_links_the_marks(corpus_assistant: Any, tmp_path: Path) -> None:
    from ui.chat import ChatHandlers
    from ui.feedback import FeedbackLog

    chat = ChatHandlers(corpus_assistant, FeedbackLog(tmp_path / "feedback.jsonl"))
    states = list(chat.respond(CVL, [], "fr", [], "", "", []))
    bot = [messages[-1]["content"] for _, messages, *_ in states]
    assert bot[0] == "…" and len(states) > 3  # shown at once, then piece by piece
    assert all(len(a) <= len(b) for a, b in zip(bot[1:-2], bot[2:-1]))
    _, messages, turns, sources, copy_text, notice = states[-1]
    assert "](#src-1-1)" in messages[-1]["content"] and 'id="src-1-1"' in sources
    assert copy_text == turns[0].answer.to_markdown() and "Sources:" in copy_text and notice == ""
    assert chat.rate("useful", turns, "ok", "fr") == ("Merci, votre avis est enregistré.", "")
    [record] = FeedbackLog(tmp_path / "feedback.jsonl").read()
    assert record["question"] == CVL and record["verdict"] == "useful" and record["comment"] == "ok"


def test_answers_are_served_concurrently_and_only_ask_is_public(tmp_path: Path) -> None:
    from assistant.service import Assistant
    from knowledge.settings import Settings
    from ui.app import build_page

    page = build_page(Assistant(Settings(data_dir=tmp_path / "data")), concurrency=5)
    fns = list(page.fns.values())
    assert {fn.api_name for fn in fns if fn.api_visibility == "public"} == {"ask"}
    answering = [fn for fn in fns if fn.name in ("respond", "ask")]
    assert len(answering) == 4  # Enter, the button, an example, and /ask share one pool of 5
    assert all(fn.concurrency_limit == 5 and fn.concurrency_id == "answer" for fn in answering)
    writing = [fn for fn in fns if fn.concurrency_id == "write"]
    assert len(writing) == 3 and all(fn.concurrency_limit == 1 for fn in writing)  # upload, bundled, remove


@pytest.mark.slow
@pytest.mark.server
def test_tia_serve_starts_a_server_that_asks_for_the_login(tmp_path: Path) -> None:
    """The real command in its own process: entry point, warm-up, 127.0.0.1, TIA_AUTH."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    env |= {"TIA_DATA_DIR": str(tmp_path / "data"), "TIA_AUTH": "ana:s3cret"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                denied = httpx.get(url + "api/documents", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "tia serve did not start"
                time.sleep(0.5)
        assert denied.status_code == 401
        assert httpx.get(url + "api/documents", auth=("ana", "s3cret")).json() == []
        assert httpx.get(url, auth=("ana", "s3cret")).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert "tia is ready: http://127.0.0.1:" in (tmp_path / "serve.log").read_text()
