"""Question handling that needs no model: language, question types, follow-ups, two-part questions."""

from __future__ import annotations

import pytest

from assistant.answer import Answer, Citation
from assistant.query import QueryBuilder, detect_language, split_question


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Which CVL territories joined phase 2?", "en"),
        ("Combien de territoires d'industrie compte le Grand Est ?", "fr"),
        ("Quels dispositifs pour une usine à Issoudun ?", "fr"),
        ("How much will the Banque des Territoires invest?", "en"),
    ],
)
def test_language(question: str, language: str) -> None:
    assert detect_language(question) == language


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Combien de territoires d'industrie compte le Grand Est ?", "number"),
        ("Quel est le budget national de la phase 2 ?", "amount"),
        ("Quand le programme a-t-il été lancé ?", "date"),
        ("Which CVL territories joined phase 2?", "list"),
        ("Où s'est tenue la deuxième assemblée générale ?", "place"),
        ("Le comité de pilotage, c'était le deuxième ou le troisième ?", "fact"),
        ("Qu'est-ce qu'un Territoire d'industrie ?", "definition"),
        ("I run a factory in Issoudun; what support can I get?", "scheme"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert QueryBuilder().build(question).kind == kind


def test_acronyms_and_english_terms_are_expanded() -> None:
    query = QueryBuilder().build("Which CVL territories joined phase 2?")
    assert "Centre-Val de Loire" in query.text and "territoires" in query.text
    assert query.regions == ["Centre-Val de Loire"]


def test_follow_up_carries_the_previous_question() -> None:
    history = [{"role": "user", "content": "Combien de territoires fragiles sont accompagnés ?"},
               {"role": "assistant", "content": "25 territoires [1]"}]
    query = QueryBuilder().build("Pendant combien de temps ?", history)
    assert query.followup and "fragiles" in query.text and query.focus.startswith("Pendant")
    assert not QueryBuilder().build("Quels sont les quatre axes de la phase 2 ?", history).followup


def test_two_part_questions_are_split() -> None:
    assert split_question("What is the AdCF, and who was its president?") == ["What is the AdCF?", "who was its president?"]
    assert split_question("Which CVL territories joined phase 2?") == ["Which CVL territories joined phase 2?"]
    assert split_question("Combien de territoires et quand ?") == ["Combien de territoires et quand ?"]


def test_combined_answer_renumbers_citations() -> None:
    def part(text: str, source: str, abstained: bool = False) -> Answer:
        cites = [] if abstained else [Citation(1, source, "d", "t", "2019", None, "q", 0, 1, 0.5)]
        return Answer(question="?", text=text, citations=cites, abstained=abstained, language="en",
                      timings={"total": 10.0})

    combined = Answer.combine("a and b?", [part("A [1]", "x.txt"), part("B [1]", "y.txt")])
    assert combined.text == "A [1]\nB [2]"
    assert [(c.n, c.source) for c in combined.citations] == [(1, "x.txt"), (2, "y.txt")]
    assert combined.timings["total"] == 20.0 and not combined.abstained
    only = Answer.combine("a and b?", [part("A [1]", "x.txt"), part("none", "", abstained=True)])
    assert only.text == "A [1]" and not only.abstained


def test_a_part_quoting_only_what_another_part_quotes_is_dropped() -> None:
    def part(text: str, *spans: tuple[str, int, int]) -> Answer:
        cites = [Citation(n, "x.txt", d, "t", "2019", None, "q", a, b, 0.5) for n, (d, a, b) in enumerate(spans, 1)]
        return Answer(question="?", text=text, citations=cites, abstained=False, language="fr", timings={})

    whole_list = part("Trois dossiers : [1]", ("d", 100, 400))
    an_item = part("Kerlaz Medical [1]", ("d", 250, 300))
    elsewhere = part("Le fonds s'adresse aux PME [1]", ("d", 500, 600))
    # The item is inside the list another part quotes: only the list is kept, whichever comes first.
    assert Answer.combine("?", [an_item, whole_list]).text == "Trois dossiers : [1]"
    assert Answer.combine("?", [whole_list, an_item]).text == "Trois dossiers : [1]"
    # The same quote twice: the first is kept. Spans of another document never cover.
    assert Answer.combine("?", [whole_list, whole_list]).text == "Trois dossiers : [1]"
    other_doc = part("Ailleurs [1]", ("e", 250, 300))
    assert Answer.combine("?", [whole_list, other_doc]).text == "Trois dossiers : [1]\nAilleurs [2]"
    # A part that adds a quote of its own stays.
    both = part("Kerlaz [1] ; le fonds [2]", ("d", 250, 300), ("d", 500, 600))
    assert Answer.combine("?", [whole_list, both]).text == "Trois dossiers : [1]\nKerlaz [2] ; le fonds [3]"
    assert Answer.combine("?", [elsewhere, an_item]).text == "Le fonds s'adresse aux PME [1]\nKerlaz Medical [2]"


def test_filters_reject_malformed_dates() -> None:
    from knowledge.errors import ConfigError
    from knowledge.filters import Filters

    assert Filters(date_from="2019-09", date_to="2025").date_to == "2025"
    with pytest.raises(ConfigError, match="date_from"):
        Filters(date_from="2019-13")
    with pytest.raises(ConfigError, match="date_to"):
        Filters(date_to="sept 2019")


@pytest.mark.parametrize(
    ("text", "phases"),
    [
        ("Au cours de la phase 1 (2018-2023)", {1}),
        ("12 territoires sont lauréats de cette seconde phase du programme", {2}),
        ("What did the second phase change?", {2}),
        ("La phase 2, lancée en février 2024", {2}),
        ("la première phase et la phase 2", {1, 2}),
        ("phase II, puis une 4e étape, puis la phase 5", {2, 4, 5}),
        ("Le programme vise à appuyer le développement", set()),
    ],
)
def test_phase_numbers(text: str, phases: set[int]) -> None:
    from knowledge.schemes import phase_numbers

    assert phase_numbers(text) == phases


def test_elliptical_count_gets_the_previous_counted_noun() -> None:
    history = [{"role": "user", "content": "How many projects had the territories drawn up?"}]
    query = QueryBuilder().build("how many had received a commitment?", history)
    assert query.followup and "how many projects had received" in query.focus
    history = [{"role": "user", "content": "Combien de projets ont été élaborés ?"}]
    assert "combien de projets ont" in QueryBuilder().build("Et combien ont été engagés ?", history).focus


def test_pronoun_in_a_follow_up_carries_the_previous_names() -> None:
    history = [{"role": "user", "content": "What is the AdCF?"}]
    query = QueryBuilder().build("Who was its president?", history)
    assert "AdCF" in query.focus
