"""Concurrent users (issue 11): 20 multi-turn conversations at once, half through the
Gradio endpoint `/ask` (gradio_client), half through `POST /api/ask` (httpx), against one
real tia server on 127.0.0.1.

Every answer must be the one a single user gets for the same conversation, asked
sequentially first on the same server; no call may fail. Then the same load again while
a new, unrelated document is ingested through the Documents tab's handler on the
server's own assistant: the answers about the bundled corpus must not change.

Speed is measured in bench/load.py, never asserted here; every call has a timeout, so a
hang fails the test instead of blocking CI.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("ui_helpers")
from ui_helpers import CONVERSATIONS, ROUTES, Asker, LiveServer, served_copy  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.server]

WAIT_TIMEOUT = 120.0  # seconds, for a thread waiting on another one


# The document ingested during the second load: another topic altogether (beekeeping), so that
# it cannot be the answer to a question about Territoires d'industrie.
BEEKEEPING = """Guide pratique de l'apiculture de montagne

Une ruche bien placée est abritée du vent dominant et exposée au soleil du matin. Les abeilles sortent plus tôt quand la planche d'envol reçoit les premiers rayons.

Le rucher familial compte souvent trois à cinq colonies. L'apiculteur débutant commence avec deux essaims, pour comparer leur vigueur et remplacer une reine défaillante.

Les saisons de la colonie

Au printemps, la reine pond jusqu'à deux mille œufs par jour. Les butineuses rapportent le pollen des saules, des pissenlits et des arbres fruitiers.

En été, la miellée de châtaignier ou de lavande remplit les hausses. L'apiculteur pose une hausse supplémentaire dès que les cadres sont operculés aux deux tiers.

En automne, la colonie se resserre autour de ses réserves. On vérifie le poids de la ruche en la soulevant par l'arrière : une ruche légère doit être nourrie au sirop épais.

En hiver, les abeilles forment une grappe et battent des ailes pour garder la chaleur. Il ne faut pas ouvrir la ruche par temps froid.

Les ennemis des abeilles

Le varroa est un acarien qui affaiblit les larves. Le comptage des acariens tombés sur un lange graissé indique le niveau d'infestation.

Le frelon asiatique chasse les butineuses devant l'entrée de la ruche. Une muselière grillagée à l'entrée limite ses attaques.

La fausse teigne dévore la cire des cadres stockés. On conserve les cadres vides au froid ou dans une armoire ventilée.

La récolte du miel

On récolte les cadres operculés par une journée chaude, quand les butineuses sont aux champs. Le chasse-abeilles, posé la veille sous la hausse, libère les cadres sans enfumage excessif.

Les cadres sont désoperculés au couteau, puis passés à l'extracteur centrifuge. Le miel est filtré, puis laissé au maturateur quelques jours pour que les bulles remontent.

Un miel de fleurs de montagne cristallise lentement ; un miel de colza durcit en quelques semaines. Le crémage, un brassage régulier, donne un miel onctueux.

La cire et la propolis

La cire des opercules est fondue au cérificateur solaire. Elle sert à gaufrer de nouvelles feuilles pour les cadres.

La propolis, résine récoltée sur les bourgeons, colmate les fentes de la ruche. On la gratte au lève-cadre lors des visites.
"""
HONEY = "Comment récolte-t-on le miel ?"


# -- the server and the two ways of asking ------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path, corpus_data_dir: Path, e5: Any) -> Iterator[LiveServer]:
    """A tia server of its own (API + Gradio page, the default 4 answers at once on the Gradio
    queue) over a fresh copy of the ingested corpus: the ingest below changes nobody else's."""
    with served_copy(corpus_data_dir, tmp_path / "server-data", e5, "tia-load-server") as live:
        yield live


def essentials(answer: dict[str, Any]) -> dict[str, Any]:
    """All of an answer but its timings: text, citations (scores, chunk ids), passages, query, warnings."""
    return {k: v for k, v in answer.items() if k != "timings"}


def shown(answer: dict[str, Any]) -> tuple[Any, ...]:
    """What the user sees: text, abstention, and each citation's number, document, exact span and quote."""
    return (answer["text"], answer["abstained"],
            [(c["n"], c["doc_id"], c["start"], c["end"], c["quote"]) for c in answer["citations"]])


def differences(got: dict[str, Any], expected: dict[str, Any]) -> str:
    keys = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
    return "; ".join(f"{k}: {str(got.get(k))[:300]!r} != {str(expected.get(k))[:300]!r}" for k in keys)


def sequential_answers(url: str) -> list[list[dict[str, Any]]]:
    """One user alone, one conversation after the other, through /api/ask."""
    asker = Asker("api", url)
    try:
        out = []
        for conversation in CONVERSATIONS:
            history: list[dict[str, str]] = []
            answers = []
            for question in conversation:
                answer = asker.ask(question, history)
                answers.append(answer)
                history = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": answer["text"]}]
            out.append(answers)
        return out
    finally:
        asker.close()


# -- the load ---------------------------------------------------------------------------------------


@dataclass
class Reply:
    route: str
    conversation: int
    turn: int
    sent: float  # time.monotonic()
    received: float
    answer: dict[str, Any] | None = None
    error: str = ""


@dataclass
class Load:
    replies: list[Reply] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: int = 0
    on_answer: Callable[[int], None] | None = None  # called with the number of answers so far

    def add(self, reply: Reply) -> None:
        with self.lock:
            self.replies.append(reply)
            if reply.error:
                self.errors.append(f"{reply.route} conversation {reply.conversation} turn {reply.turn}: {reply.error}")
            else:
                self.answered += 1
            count = self.answered
        if self.on_answer is not None and not reply.error:
            self.on_answer(count)


def converse(
    load: Load, route: str, url: str, index: int, start: threading.Barrier, before_turn: Callable[[int], None] | None
) -> None:
    """One user: connect, then ask the conversation's questions in turn, each with the history so far
    (the answers this user got), as a program would."""
    try:
        start.wait(timeout=WAIT_TIMEOUT)
        asker = Asker(route, url)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal to the others
        now = time.monotonic()
        load.add(Reply(route, index, 0, now, now, error=f"cannot connect: {type(exc).__name__}: {exc}"))
        return
    try:
        history: list[dict[str, str]] = []
        for turn, question in enumerate(CONVERSATIONS[index]):
            if before_turn is not None:
                before_turn(turn)
            sent = time.monotonic()
            try:
                answer = asker.ask(question, history)
            except Exception as exc:  # noqa: BLE001
                load.add(Reply(route, index, turn, sent, time.monotonic(), error=f"{type(exc).__name__}: {exc}"))
                return
            load.add(Reply(route, index, turn, sent, time.monotonic(), answer))
            history = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": answer["text"]}]
    finally:
        asker.close()


def peak_in_flight(replies: list[Reply]) -> int:
    """The most questions that were being answered at one moment."""
    events = sorted([(r.sent, 1) for r in replies] + [(r.received, -1) for r in replies], key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def run_load(url: str, load: Load, before_turn: Callable[[int], None] | None = None) -> None:
    """Every conversation through both routes at once: 20 users, 60 questions."""
    users = [(route, i) for i in range(len(CONVERSATIONS)) for route in ROUTES]
    start = threading.Barrier(len(users))
    with ThreadPoolExecutor(max_workers=len(users), thread_name_prefix="user") as pool:
        futures = [pool.submit(converse, load, route, url, i, start, before_turn) for route, i in users]
        for future in futures:
            future.result(timeout=WAIT_TIMEOUT * 3)  # converse reports its own failures; this bounds a hang
    assert len(load.replies) == len(users) * 3 or load.errors, "some answers went missing"


# -- the tests -------------------------------------------------------------------------------------


def test_twenty_concurrent_conversations_get_the_single_user_answers(server: LiveServer) -> None:
    expected = sequential_answers(server.url)
    # The follow-ups are follow-ups: asked without the history, several get another answer.
    alone = Asker("api", server.url)
    try:
        changed = sum(
            1
            for conversation, answers in zip(CONVERSATIONS, expected, strict=True)
            for question, answer in zip(conversation[1:], answers[1:], strict=True)
            if alone.ask(question, [])["text"] != answer["text"]
        )
    finally:
        alone.close()
    assert changed >= len(CONVERSATIONS) // 2, f"only {changed} follow-ups depend on their history"

    # The users' questions must really be embedded while the others' are (not read from the memo
    # the sequential pass filled).
    server.assistant.kb.embedder.__dict__.pop("_query_cache", None)
    load = Load()
    run_load(server.url, load)

    assert not load.errors, "\n".join(load.errors)
    assert len(load.replies) == 2 * 3 * len(CONVERSATIONS)
    assert peak_in_flight(load.replies) >= len(CONVERSATIONS) // 2, "the users did not ask at the same time"
    wrong = [
        f"{r.route} conversation {r.conversation} turn {r.turn}: {differences(essentials(r.answer), essentials(expected[r.conversation][r.turn]))}"
        for r in load.replies
        if r.answer is not None and essentials(r.answer) != essentials(expected[r.conversation][r.turn])
    ]
    assert not wrong, "answers differ from the single-user ones:\n" + "\n".join(wrong)


def test_an_ingest_while_users_ask_gives_them_the_answers_of_before_or_after_it(server: LiveServer, tmp_path: Path) -> None:
    from ui.documents import DocumentHandlers

    before = sequential_answers(server.url)
    server.assistant.kb.embedder.__dict__.pop("_query_cache", None)
    source = tmp_path / "apiculture.txt"
    source.write_text(BEEKEEPING, encoding="utf-8")

    started, finished = threading.Event(), threading.Event()
    ingest: dict[str, Any] = {}

    def run_ingest() -> None:
        ingest["start"] = time.monotonic()
        started.set()
        try:  # what the Documents tab's "Add" button runs, on the server's own assistant
            ingest["report"] = DocumentHandlers(server.assistant).add([str(source)], "en")
        except Exception as exc:  # noqa: BLE001 - reported below
            ingest["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            ingest["end"] = time.monotonic()
            finished.set()

    ingester = threading.Thread(target=run_ingest, name="ingest", daemon=True)

    def on_answer(count: int) -> None:  # the ingest starts once a third of the questions are answered
        if count == len(CONVERSATIONS) * 2 and not ingester.is_alive() and not started.is_set():
            ingester.start()

    def before_turn(turn: int) -> None:  # every last turn is asked while the document is being ingested
        if turn == 2 and not started.wait(timeout=WAIT_TIMEOUT):
            raise TimeoutError("the ingest did not start")

    load = Load(on_answer=on_answer)
    run_load(server.url, load, before_turn)
    assert finished.wait(timeout=WAIT_TIMEOUT), "the ingest did not finish"
    assert "error" not in ingest, ingest["error"]
    assert not load.errors, "\n".join(load.errors)
    assert len(load.replies) == 2 * 3 * len(CONVERSATIONS)
    assert "added" in ingest["report"], ingest["report"]
    new = [d for d in server.assistant.documents() if d.name == "apiculture.txt"]
    assert len(new) == 1 and len(server.assistant.documents()) == 6
    during = [r for r in load.replies if r.sent < ingest["end"] and r.received > ingest["start"]]
    assert during, "no question was being answered while the document was ingested"

    # Each answer is the one a user alone gets from the store as it was before the ingest or as it is
    # after it, never a mix of the two (text, abstention and every citation's document, span and
    # quote). The document is about bees, yet it may move an answer about Territoires d'industrie:
    # the reader's word statistics and BM25 count every stored document (here one document in six), so a
    # close call between two sentences, or near the abstainer's threshold, can go the other way
    # (measured: 3 of the 30 answers with the listwise reader, 0 with the pointwise one before it).
    after = sequential_answers(server.url)
    changed = [(c, t) for c, answers in enumerate(before) for t, answer in enumerate(answers)
               if shown(answer) != shown(after[c][t])]
    n_answers = sum(len(answers) for answers in before)
    assert len(changed) <= n_answers // 5, f"an unrelated document changed {len(changed)} answers: " + "\n".join(
        f"{c}/{t}: {before[c][t]['text'][:200]!r} -> {after[c][t]['text'][:200]!r}" for c, t in changed)
    for r in load.replies:
        assert r.answer is not None
        got, old, new_ = essentials(r.answer), essentials(before[r.conversation][r.turn]), essentials(after[r.conversation][r.turn])
        if r.received < ingest["start"]:
            assert shown(got) == shown(old), differences(got, old)
        elif r.sent > ingest["end"]:
            assert got == new_, differences(got, new_)
        else:  # while BM25 is rebuilt a passage's score may move: the answer shown may not
            assert shown(got) in (shown(old), shown(new_)), differences(got, old)
    for route in ROUTES:
        asker = Asker(route, server.url)
        try:
            honey = asker.ask(HONEY, [])
        finally:
            asker.close()
        assert not honey["abstained"] and {c["doc_id"] for c in honey["citations"]} == {new[0].doc_id}, honey
