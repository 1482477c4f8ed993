"""The LLM answerer and its citation checker.

No machine here has an LLM, so the chat model is one of LangChain's fake chat
models (`GenericFakeChatModel` streams word by word, `FakeListChatModel` character
by character) replying with canned answers that cite correctly, cite the wrong
passage, invent facts, cite a passage that does not exist, or time out. Everything
else is real: the passages are spans of the bundled corpus documents, the checker
and the prompt are the ones used in production. The HTTP layer is tested against a
canned OpenAI-compatible server in test_llm_http.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatResult

from assistant.answer import Answer, Citation, Passage
from assistant.answerer import AnswerRequest
from assistant.checker import (
    EMBEDDING_THRESHOLD,
    best_span,
    check_sentences,
    lexical_support,
    number_values,
    parse_marks,
    rewrite_marks,
    split_sentences,
)
from assistant.llm import UNKNOWN, LLMAnswerer, LLMUnavailableError, build_messages, openai_base_url
from assistant.query import Glossary
from knowledge.errors import AnswerError, ConfigError
from knowledge.settings import Settings

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus"
DOCS = {p.stem: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}


def _doc(prefix: str) -> tuple[str, str]:
    name = next(n for n in DOCS if n.startswith(prefix))
    return name, DOCS[name]


def corpus_passage(rank: int, prefix: str, marker: str, title: str, date: str) -> Passage:
    """The paragraph of a bundled document that starts at `marker`, with its real offsets."""
    doc_id, text = _doc(prefix)
    start = text.index(marker)
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    return Passage(rank, f"{doc_id}:{rank}", doc_id, f"corpus/{doc_id}.txt", title, date, None, start, end,
                   text[start:end], 1.0 / rank)


# Passage [1] holds the Grand Est figures, [2] the Banque des Territoires envelope, [3] the regions' contracts.
P1 = corpus_passage(1, "000", "Sur les 146", "Le programme en Grand Est", "2019-11")
P2 = corpus_passage(2, "001", "Par ailleurs, les ministres", "Lancement du déploiement", "2019-03")
P3 = corpus_passage(3, "002", "Toutes les régions ne sont pas", "Un premier bilan", "2019-09")
PASSAGES = [P1, P2, P3]


def request(language: str = "fr", passages: list[Passage] | None = None, history: list[dict[str, str]] | None = None,
            question: str = "Combien de territoires d'industrie compte le Grand Est ?") -> AnswerRequest:
    return AnswerRequest(
        question=question,
        query=question,
        language=language,
        passages=PASSAGES if passages is None else passages,
        history=history or [],
        document_text=lambda doc_id: DOCS[doc_id],
    )


class StandInExtractive:
    """A stand-in for assistant.extractive.ExtractiveAnswerer (written at the same time by
    the lead): a recognisable extractive-style answer quoting the first passage's first sentence."""

    name = "extractive"

    def __init__(self) -> None:
        self.calls = 0

    def answer(self, req: AnswerRequest) -> Answer:
        self.calls += 1
        if not req.passages:
            return Answer(question=req.question, text="STAND-IN: rien trouvé.", citations=[], abstained=True,
                          language=req.language, answerer=self.name)
        p = req.passages[0]
        quote = p.text.split(". ")[0]
        citation = Citation(1, p.source, p.doc_id, p.title, p.date, p.page, quote, p.start, p.start + len(quote),
                            1.0, p.chunk_id)
        return Answer(question=req.question, text=f"STAND-IN: {quote} [1]", citations=[citation], abstained=False,
                      language=req.language, passages=list(req.passages), answerer=self.name)

    def stream(self, req: AnswerRequest) -> Iterator[str | Answer]:
        answer = self.answer(req)
        yield answer.text
        yield answer


def generic(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


def make(chat_model: Any, **settings: Any) -> tuple[LLMAnswerer, StandInExtractive]:
    fallback = StandInExtractive()
    return LLMAnswerer(Settings(**settings), fallback=fallback, chat_model=chat_model), fallback


def assert_exact_citations(answer: Answer) -> None:
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert marks == {c.n for c in answer.citations} == set(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert DOCS[c.doc_id][c.start : c.end] == c.quote
        assert c.quote


# -- the checker, on hand-made cases ----------------------------------------------------
def test_sentences_keep_marks_written_before_or_after_the_full_stop() -> None:
    sentences = split_sentences("Quinze territoires [1]. Cent millions par an. [2] M. Rottner préside [1][3] Fin.")
    assert [s.body for s in sentences] == ["Quinze territoires.", "Cent millions par an.", "M. Rottner préside", "Fin."]
    assert [s.marks for s in sentences] == [(1,), (2,), (1, 3), ()]


def test_list_items_are_sentences_and_inherit_their_introduction_marks() -> None:
    text = "Les régions les plus avancées sont : [3]\n- le Centre-Val de Loire\n- Auvergne-Rhône-Alpes [2]"
    sentences = split_sentences(text)
    assert [(s.body, s.marks, s.item, s.inherited) for s in sentences] == [
        ("Les régions les plus avancées sont :", (3,), False, False),
        ("le Centre-Val de Loire", (3,), True, True),
        ("Auvergne-Rhône-Alpes", (2,), True, False),
    ]


def test_a_numbered_items_number_is_not_a_figure_to_check() -> None:
    passage = "Quatre axes : la transition écologique, l'innovation, le recrutement, le foncier."
    sentences = split_sentences("Les quatre axes sont : [1]\n1. la transition écologique\n2. le recrutement [1]")
    assert [s.body for s in sentences[1:]] == ["la transition écologique", "le recrutement"]
    assert all(v.supported for v in check_sentences(sentences, [passage]))


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("a [1]", [1]), ("a [1][2]", [1, 2]), ("a [1, 3]", [1, 3]), ("a [2-4]", [2, 3, 4]),
        ("a [2] b [2]", [2]), ("a", []),
    ],
)
def test_parse_marks_reads_every_way_models_write_them(text: str, marks: list[int]) -> None:
    assert parse_marks(text)[1] == marks


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("146 territoires", [{"146"}]),
        ("1 200 à 1 300 projets", [{"1200"}, {"1300"}]),
        ("1,36 milliard", [{"1.36"}]),
        ("1.36 billion", [{"1.36"}]),
        ("1,200 projects", [{"1200", "1.2"}]),
        ("87% [1]", [{"87"}]),
        ("le 22 novembre 2018", [{"22"}, {"2018"}]),
    ],
)
def test_number_values(text: str, values: list[set[str]]) -> None:
    assert number_values(text) == values


def test_a_number_the_passage_does_not_state_makes_a_sentence_unsupported() -> None:
    passage = P1.text
    assert lexical_support("Le Grand Est compte 15 territoires d'industrie.", passage).missing_numbers == ()
    assert lexical_support("Le Grand Est compte 16 territoires d'industrie.", passage).missing_numbers == ("16",)
    [ok, wrong] = check_sentences(
        split_sentences(
            "Le Grand Est compte 15 territoires d'industrie [1].\nLe Grand Est compte 16 territoires d'industrie [1]."
        ),
        [passage],
    )
    assert ok.supported and not wrong.supported
    assert "16" in wrong.reason


def test_wrong_citation_is_unsupported_and_the_right_passage_is_named() -> None:
    sentences = split_sentences("Le Grand Est compte 15 territoires d'industrie [2].")
    [verdict] = check_sentences(sentences, [P1.text, P2.text, P3.text])
    assert not verdict.supported
    assert verdict.cited == (2,)
    assert verdict.supporting == 1


def test_a_sentence_with_facts_in_no_passage_is_unsupported() -> None:
    sentences = split_sentences("Le programme est piloté par l'Agence spatiale européenne [1].")
    [verdict] = check_sentences(sentences, [P1.text, P2.text, P3.text])
    assert not verdict.supported and verdict.supporting is None
    assert "Agence" in verdict.overlap.missing_words


def test_a_missing_name_sinks_a_french_sentence_but_only_weighs_in_english() -> None:
    fr = split_sentences("Jean Rottner préside le Conseil régional du Grand Est et Lyon [1].")
    assert not check_sentences(fr, [DOCS[P1.doc_id][:900]])[0].supported
    # In English, titles are capitalised ("Prime Minister"); a missing one is not fatal there.
    en = split_sentences("The programme was launched on 22 November 2018 by the Prime Minister [1].")
    [verdict] = check_sentences(en, [DOCS[P1.doc_id]], translations=Glossary.load().en_fr, strict_names=False)
    assert verdict.supported
    assert verdict.overlap.missing_names == ("Prime",)


def test_english_sentences_match_french_passages_through_the_glossary_and_cognates() -> None:
    translations = Glossary.load().en_fr
    good = split_sentences("The Banque des Territoires will fund wasteland conversion and industrial land [1].")
    bad = split_sentences("The Banque des Territoires plans 200 million euros for hospitals [1].")
    [g] = check_sentences(good, [P2.text], translations=translations, strict_names=False)
    [b] = check_sentences(bad, [P2.text], translations=translations, strict_names=False)
    assert g.supported, g.overlap
    assert not b.supported and b.overlap.missing_numbers == ("200",)
    # Cognates match without the glossary: "envelope" / "enveloppe", "million euros" / "M€".
    assert lexical_support("an envelope of 100 million euros", P2.text).share == 1.0
    # Without the glossary the same English sentence is not recognised.
    assert not check_sentences(good, [P2.text], strict_names=False)[0].supported


def test_a_mark_naming_no_passage_is_reported() -> None:
    [verdict] = check_sentences(split_sentences("Quinze territoires en Grand Est [9]."), [P1.text])
    assert verdict.invalid == (9,) and verdict.cited == ()
    assert not verdict.supported and "[9]" in verdict.reason


def test_a_sentence_without_content_words_is_neutral() -> None:
    [verdict] = check_sentences(split_sentences("Les voici :"), [P1.text])
    assert verdict.neutral and not verdict.supported


def test_rewrite_marks_renumbers_and_removes() -> None:
    assert rewrite_marks("A [3]. B [1][9] C [3, 1].", {3: 1, 1: 2}) == "A [1]. B [2] C [1][2]."
    assert rewrite_marks("A [9].", {}) == "A."


def test_best_span_is_the_passage_sentence_that_matches() -> None:
    text = P3.text
    a, b = best_span(["Le Centre-Val de Loire a signé 9 contrats sur ses 9 territoires."], text)
    assert text[a:b].startswith("Le Centre-Val de Loire fait carton plein")
    assert text[a:b].endswith(".")
    a2, b2 = best_span(["Auvergne-Rhône-Alpes compte 18 Territoires d'industrie."], text)
    assert "18 Territoires" in text[a2:b2] and (a2, b2) != (a, b)


class CountingEmbed:
    """The real multilingual-e5-small, counting its calls."""

    def __init__(self, e5: Any) -> None:
        self.e5 = e5
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.asarray(self.e5.embed_documents(texts), dtype=np.float32)


@pytest.mark.slow
def test_embedding_supports_a_paraphrase_the_words_miss_and_not_an_invention(e5) -> None:
    embed = CountingEmbed(e5)
    passage = DOCS[_doc("002")[0]]
    # An English restatement whose words mostly differ from the French passage's.
    paraphrase = "Ten months after they started, the Territoires d'industrie are putting down roots [1]."
    invention = "Ten months after their launch, the territories have been abandoned by the State [1]."
    sentences = split_sentences(paraphrase + "\n" + invention)
    lexical_only = check_sentences(sentences, [passage], strict_names=False)
    assert not lexical_only[0].supported
    with_embeddings = check_sentences(sentences, [passage], embed=embed, strict_names=False)
    assert with_embeddings[0].supported and with_embeddings[0].embedding >= EMBEDDING_THRESHOLD
    assert not with_embeddings[1].supported and with_embeddings[1].embedding < EMBEDDING_THRESHOLD
    assert len(embed.calls) == 1  # one batch


@pytest.mark.slow
def test_embeddings_are_not_computed_when_the_words_suffice(e5) -> None:
    embed = CountingEmbed(e5)
    sentences = split_sentences("Le Grand Est compte 15 territoires d'industrie [1].")
    assert check_sentences(sentences, [P1.text], embed=embed)[0].supported
    assert embed.calls == []


# -- the answerer, with fake chat models ----------------------------------------------
def test_correct_citations_are_renumbered_in_order_of_use_with_exact_quotes() -> None:
    reply = (
        "Le Grand Est compte 15 territoires d'industrie, plus de 10 % des 146 territoires [1]. "
        "Le Centre-Val de Loire a signé 9 contrats sur ses 9 territoires [3]."
    )
    answerer, fallback = make(generic(reply))
    answer = answerer.answer(request())
    assert answer.answerer == "llm" and not answer.abstained and answer.warnings == []
    assert answer.text == reply.replace("[3]", "[2]")
    assert [(c.n, c.doc_id) for c in answer.citations] == [(1, P1.doc_id), (2, P3.doc_id)]
    assert "15 territoires d’industrie" in answer.citations[0].quote
    assert answer.citations[1].quote.startswith("Le Centre-Val de Loire fait carton plein")
    assert_exact_citations(answer)
    assert fallback.calls == 0


def test_an_english_answer_is_checked_against_the_french_passages() -> None:
    reply = (
        "The Banque des Territoires will fund wasteland conversion and industrial land [2]. "
        "It also plans a new airport in Mulhouse [2]."
    )
    answerer, _ = make(generic(reply))
    answer = answerer.answer(request("en", question="What will the Banque des Territoires fund?"))
    assert answer.answerer == "llm" and answer.language == "en"
    assert answer.text == "The Banque des Territoires will fund wasteland conversion and industrial land [1]."
    assert "la reconversion des friches" in answer.citations[0].quote
    assert_exact_citations(answer)
    assert len(answer.warnings) == 1 and "airport" in answer.warnings[0]


def test_a_wrong_citation_is_dropped_and_named_in_the_warnings() -> None:
    reply = (
        "Le Grand Est compte 15 territoires d'industrie [2]. "
        "La Banque des Territoires prévoit une enveloppe de 100 M€ par an d'ici à 2022 [2]."
    )
    answerer, _ = make(generic(reply))
    answer = answerer.answer(request())
    assert answer.answerer == "llm"
    assert answer.text == "La Banque des Territoires prévoit une enveloppe de 100 M€ par an d'ici à 2022 [1]."
    assert [c.doc_id for c in answer.citations] == [P2.doc_id]
    assert_exact_citations(answer)
    [warning] = answer.warnings
    assert "dropped" in warning and "15 territoires" in warning and "passage [1] does" in warning


def test_keep_unsupported_keeps_the_sentence_and_flags_it() -> None:
    reply = (
        "Le Grand Est compte 15 territoires d'industrie [2]. "
        "La Banque des Territoires prévoit une enveloppe de 100 M€ par an d'ici à 2022 [2]."
    )
    answerer, _ = make(generic(reply), llm_keep_unsupported=True)
    answer = answerer.answer(request())
    assert answer.text == reply.replace("[2]", "[1]")
    [warning] = answer.warnings
    assert "kept" in warning and "15 territoires" in warning
    assert_exact_citations(answer)


def test_an_answer_with_only_invented_facts_falls_back_to_the_extractive_one() -> None:
    reply = "Le programme est financé par la Commission européenne à hauteur de 5 milliards d'euros [1]."
    answerer, fallback = make(generic(reply))
    answer = answerer.answer(request())
    assert fallback.calls == 1
    assert answer.answerer == "extractive" and answer.text.startswith("STAND-IN")
    assert any(w.startswith("unsupported sentence: « Le programme est financé par la Commission européenne")
               for w in answer.warnings)
    assert answer.warnings[-1].endswith("extractive answer shown")


def test_a_citation_of_a_passage_that_does_not_exist() -> None:
    reply = "Le Grand Est compte 15 territoires d'industrie [1][9]. Les régions ont signé 40 contrats [9]."
    answerer, _ = make(generic(reply))
    answer = answerer.answer(request())
    assert answer.text == "Le Grand Est compte 15 territoires d'industrie [1]."
    assert_exact_citations(answer)
    assert sum(w.startswith("LLM cited [9], which is no passage") for w in answer.warnings) == 2
    assert any("dropped" in w and "40 contrats" in w for w in answer.warnings)


class TimingOutChatModel(GenericFakeChatModel):
    """Raises what ChatOpenAI raises when the endpoint does not answer in time."""

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
        raise openai.APITimeoutError(request=request)


def test_a_timeout_becomes_an_answer_error() -> None:
    answerer, _ = make(TimingOutChatModel(messages=iter([])), llm_base_url="http://llm.invalid:8000/v1",
                       llm_model="m", llm_timeout_s=7)
    with pytest.raises(AnswerError) as caught:
        list(answerer.generate(request()))
    assert isinstance(caught.value, LLMUnavailableError)
    assert str(caught.value) == "LLM endpoint http://llm.invalid:8000/v1 did not answer within 7 s (TIA_LLM_TIMEOUT_S)"


@pytest.mark.parametrize("stream", [False, True])
def test_a_timeout_falls_back_with_a_warning(stream: bool) -> None:
    answerer, fallback = make(TimingOutChatModel(messages=iter([])), llm_base_url="http://llm.invalid:8000/v1",
                              llm_model="m", llm_timeout_s=7)
    if stream:
        items = list(answerer.stream(request()))
        answer = items[-1]
        assert items[:-1] == [answer.text]  # the fallback's own stream, since nothing was shown yet
    else:
        answer = answerer.answer(request())
    assert fallback.calls == 1 and answer.answerer == "extractive"
    assert answer.warnings == [
        "LLM endpoint http://llm.invalid:8000/v1 did not answer within 7 s (TIA_LLM_TIMEOUT_S); extractive answer shown"
    ]


def test_a_model_slower_than_llm_timeout_s_is_not_waited_for() -> None:
    # FakeListChatModel sleeps `sleep` seconds before replying: far longer than the limit.
    slow = FakeListChatModel(responses=["Le Grand Est compte 15 territoires d'industrie [1]."], sleep=30)
    answerer, fallback = make(slow, llm_timeout_s=0.2)
    answer = answerer.answer(request())
    assert fallback.calls == 1
    assert "did not answer within 0.2 s" in answer.warnings[0]


@pytest.mark.parametrize(
    ("language", "reply"),
    [("fr", UNKNOWN["fr"]), ("en", "I don't know: the documents provided do not contain this information.")],
)
def test_the_fixed_dont_know_phrase_is_an_abstention(language: str, reply: str) -> None:
    answerer, fallback = make(generic(reply))
    answer = answerer.answer(request(language, question="Quelle est la capitale de l'Australie ?"))
    assert answer.abstained and answer.answerer == "llm"
    assert answer.text == UNKNOWN[language] and answer.citations == []
    assert fallback.calls == 0


@pytest.mark.parametrize("model_kind", ["generic", "list"])
def test_streaming_passes_tokens_through_then_yields_the_checked_answer(model_kind: str) -> None:
    reply = (
        "Le Grand Est compte 15 territoires d'industrie [1]. "
        "Il compte aussi 40 pôles spatiaux [1]."  # dropped by the check
    )
    model = generic(reply) if model_kind == "generic" else FakeListChatModel(responses=[reply])
    answerer, _ = make(model)
    items = list(answerer.stream(request()))
    pieces, final = items[:-1], items[-1]
    assert all(isinstance(p, str) for p in pieces) and len(pieces) > 5  # token by token
    assert "".join(pieces) == reply
    assert isinstance(final, Answer) and final.answerer == "llm"
    assert final.text == "Le Grand Est compte 15 territoires d'industrie [1]."
    assert any("40 pôles" in w for w in final.warnings)


def test_an_error_in_mid_stream_ends_with_the_fallback_answer() -> None:
    model = FakeListChatModel(
        responses=["Le Grand Est compte 15 territoires d'industrie [1]."], error_on_chunk_number=12
    )
    answerer, fallback = make(model)
    items = list(answerer.stream(request()))
    assert "".join(items[:-1]) == "Le Grand Est"  # what the model sent before failing
    final = items[-1]
    assert final.answerer == "extractive" and fallback.calls == 1
    assert "FakeListChatModelError" in final.warnings[0] and final.warnings[0].endswith("extractive answer shown")


def test_a_reasoning_models_think_block_is_neither_streamed_nor_kept() -> None:
    reply = "<think>Le passage 1 donne 15.</think>Le Grand Est compte 15 territoires d'industrie [1]."
    answerer, _ = make(FakeListChatModel(responses=[reply]))
    items = list(answerer.stream(request()))
    assert "".join(items[:-1]) == "Le Grand Est compte 15 territoires d'industrie [1]."
    assert items[-1].text == "Le Grand Est compte 15 territoires d'industrie [1]."


def test_a_list_answer_keeps_its_items_under_one_citation() -> None:
    reply = (
        "Trois nouveaux Territoires d'industrie complètent la liste : [1]\n"
        "- Vendée-Est\n- Lamballe Terre et Mer\n- Saint-Brieuc Baie d'Armor"
    )
    doc_id, text = _doc("002")
    start = text.index("Sur le total")
    end = text.index("\n", start)
    passage = Passage(1, "c", doc_id, f"corpus/{doc_id}.txt", "Un premier bilan", "2019-09", None, start, end,
                      text[start:end], 1.0)
    answerer, _ = make(generic(reply))
    answer = answerer.answer(request(passages=[passage], question="Quels territoires ont rejoint le programme ?"))
    assert answer.text == reply and answer.warnings == []
    [citation] = answer.citations
    assert citation.quote.startswith("A noter que trois nouveaux") and "Saint-Brieuc Baie d’Armor" in citation.quote
    assert_exact_citations(answer)


def test_an_empty_reply_falls_back() -> None:
    answerer, fallback = make(generic(""))
    answer = answerer.answer(request())
    assert fallback.calls == 1 and "empty answer" in answer.warnings[0]


def test_without_passages_the_model_is_not_asked() -> None:
    answerer, fallback = make(TimingOutChatModel(messages=iter([])))
    answer = answerer.answer(request(passages=[]))
    assert fallback.calls == 1 and answer.warnings == [] and answer.abstained


# -- the prompt -------------------------------------------------------------------------
def test_the_prompt_numbers_the_passages_and_carries_the_trimmed_history() -> None:
    history = []
    for i in range(5):
        history += [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"réponse {i} [1][2]"},
        ]
    messages = build_messages(request(history=history))
    system, *turns, user = messages
    assert isinstance(system, SystemMessage) and "[1]" in system.content and UNKNOWN["fr"] in system.content
    assert "en français" in system.content
    # The last three exchanges, oldest first, without their old citation marks.
    assert [type(m) for m in turns] == [HumanMessage, AIMessage] * 3
    assert [m.content for m in turns[:2]] == ["question 2", "réponse 2"]
    assert isinstance(user, HumanMessage)
    assert f"[1] (Le programme en Grand Est, 2019-11) {P1.text}" in user.content
    assert f"[3] (Un premier bilan, 2019-09) {P3.text}" in user.content
    assert user.content.rstrip().endswith("Question : Combien de territoires d'industrie compte le Grand Est ?")


def test_the_english_prompt_asks_for_english() -> None:
    system = build_messages(request("en"))[0]
    assert "Answer in English" in system.content and UNKNOWN["en"] in system.content


# -- configuration ----------------------------------------------------------------------
def test_a_missing_endpoint_is_a_config_error() -> None:
    answerer = LLMAnswerer(Settings(llm_model="m"), fallback=StandInExtractive())
    with pytest.raises(ConfigError, match="TIA_LLM_BASE_URL"):
        answerer.answer(request())


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:11434", "http://localhost:11434/v1"),
        ("http://localhost:8000/v1/", "http://localhost:8000/v1"),
        ("https://api.example.org/v1/chat/completions", "https://api.example.org/v1"),
        ("http://host:8080/openai/v1", "http://host:8080/openai/v1"),
    ],
)
def test_openai_base_url(given: str, expected: str) -> None:
    assert openai_base_url(given) == expected


def test_openai_base_url_rejects_other_schemes() -> None:
    with pytest.raises(ConfigError):
        openai_base_url("localhost:8000")
