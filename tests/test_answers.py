"""What a good answer does, on focused cases over the bundled corpus (real model, real store)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

LAUREATES = [
    "Est du Loiret", "Orléans Métropole", "Nord Loiret", "Grand-Est Touraine", "Sologne - Val de Cher",
    "Chartres métropole", "Sud Eure-et-Loir", "Pays de Dreux", "Perche Industrie",
    "Châteauroux-Buzançais-Argenton", "Issoudun", "Berry-Sologne",
]


def cited_sources(answer) -> set[str]:
    return {c.source_name for c in answer.citations}


def assert_exact_citations(assistant, answer) -> None:
    """Every [n] mark has a citation, and every citation's quote is the exact span at its offsets."""
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert marks == {c.n for c in answer.citations}
    for c in answer.citations:
        assert assistant.document(c.doc_id).text[c.start : c.end] == c.quote
        assert c.date, "every citation shows its document's date"


def follow_up(assistant, first: str, second: str):  # noqa: ANN001, ANN201 - Assistant, (Answer, Answer)
    """Ask `first`, then `second` with the first exchange as history: both answers."""
    a1 = assistant.answer(first)
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": a1.text}]
    return a1, assistant.answer(second, history=history)


@pytest.mark.parametrize(
    "question",
    ["Quels territoires du Centre-Val de Loire sont lauréats de la phase 2 ?", "Which CVL territories joined phase 2?"],
)
def test_list_answer_is_complete(corpus_assistant, question: str) -> None:
    answer = corpus_assistant.answer(question)
    assert not answer.abstained
    for territory in LAUREATES:
        assert territory in answer.text
    assert cited_sources(answer) == {"004_a4a221ff72913230.txt"}
    assert_exact_citations(corpus_assistant, answer)


def test_four_axes_of_phase_two(corpus_assistant) -> None:
    answer = corpus_assistant.answer("Quels sont les quatre axes de la phase 2 ?")
    for axis in ("transition écologique et énergétique", "écosystèmes d'innovation", "recrutement", "foncier industriel"):
        assert axis in answer.text
    assert len(answer.text) < 600


def test_number_answer_is_short_and_cited(corpus_assistant) -> None:
    answer = corpus_assistant.answer("Combien de territoires d'industrie compte le Grand Est ?")
    assert "15 territoires d'industrie" in answer.text
    assert cited_sources(answer) == {"000_1b396a36e8a233e6.txt"}
    assert len(re.sub(r"\[\d+\]", "", answer.text)) <= 300
    assert_exact_citations(corpus_assistant, answer)


def test_english_question_gets_english_frame_and_french_quote(corpus_assistant) -> None:
    answer = corpus_assistant.answer("How many Territoires d'industrie does the Grand Est have?")
    assert answer.language == "en"
    assert answer.text.startswith("According to the source")
    assert "15 territoires" in answer.text


def test_conflicting_figures_latest_first_with_dates(corpus_assistant) -> None:
    answer = corpus_assistant.answer("Combien y a-t-il de Territoires d'industrie en France ?")
    figures = re.findall(r"^- (\d+)", answer.text, flags=re.M)
    assert figures[0] == "146" and {"144", "136"} <= set(figures)
    dates = [c.date for c in answer.citations]
    assert dates == sorted(dates, reverse=True)
    assert_exact_citations(corpus_assistant, answer)


def test_contradiction_between_sources_is_shown(corpus_assistant) -> None:
    answer = corpus_assistant.answer("Quel comité de pilotage s'est tenu le 24 septembre 2019 ?")
    assert "2e comité" in answer.text and "3e comité" in answer.text
    assert cited_sources(answer) == {"002_20f9fc35e5466faa.txt", "003_3af200a01a20ee1d.txt"}


def test_follow_up_is_resolved_against_the_conversation(corpus_assistant) -> None:
    first = "Quels territoires du CVL sont lauréats de la phase 2 ?"
    _, a2 = follow_up(corpus_assistant, first, "Lequel inclut Bourges ?")
    assert "Berry-Sologne" in a2.text and "Issoudun" not in a2.text


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Australia?",
        "Quel est le prix du gazole à Lyon ?",
        "Combien de territoires d'industrie compte l'Occitanie ?",
        "Quel est le budget national de la phase 2 ?",
    ],
)
def test_abstains_when_the_corpus_does_not_answer(corpus_assistant, question: str) -> None:
    answer = corpus_assistant.answer(question)
    assert answer.abstained, answer.text
    assert answer.citations == []
    expected = "could not find" if answer.language == "en" else "pas trouvé"
    assert expected in answer.text


def test_timings_and_passages_are_reported(corpus_assistant) -> None:
    answer = corpus_assistant.answer("Qui a lancé le programme ?")
    assert {"query", "retrieve", "answer", "total"} <= set(answer.timings)
    assert answer.passages and answer.passages[0].rank == 1


def test_stream_yields_text_then_the_answer(corpus_assistant) -> None:
    from assistant.answer import Answer

    pieces = list(corpus_assistant.stream("Combien de territoires d'industrie compte le Grand Est ?"))
    assert isinstance(pieces[-1], Answer)
    assert all(isinstance(p, str) for p in pieces[:-1]) and len(pieces) > 1
    assert "".join(pieces[:-1]) == pieces[-1].text


@pytest.mark.parametrize(
    "question",
    [
        "Je dirige une usine à Issoudun : quelles aides pour un projet de décarbonation ?",
        "I run a factory in Issoudun; what support can I get for a decarbonisation project?",
    ],
)
def test_scheme_question_lists_applicable_schemes(corpus_assistant, question: str) -> None:
    answer = corpus_assistant.answer(question)
    assert not answer.abstained
    first_line = next(line for line in answer.text.splitlines() if line.startswith("- "))
    assert "transition écologique" in first_line and "3,9" in first_line
    assert "004_a4a221ff72913230.txt" in {c.source_name for c in answer.citations}
    assert "Grand Est" not in answer.text  # only schemes that apply in Centre-Val de Loire or nationally
    assert len(answer.text) <= 1200
    assert_exact_citations(corpus_assistant, answer)


def test_english_follow_up_asks_for_the_end_year(corpus_assistant) -> None:
    first = "When was phase 2 launched?"
    a1, a2 = follow_up(corpus_assistant, first, "Until which year?")
    assert "février 2024" in a1.text
    assert "2027" in a2.text and a2.language == "en"


@pytest.mark.parametrize(
    "question",
    ["Quels projets ont été menés en phase 1 dans la région CVL ?", "Which projects were carried out in phase 1 in the CVL region?"],
)
def test_numbered_stage_picks_the_list_of_that_stage(corpus_assistant, question: str) -> None:
    # The CVL document lists phase-2 laureates and phase-1 examples; "phase 1" must not get the laureates.
    answer = corpus_assistant.answer(question)
    assert "phase 1" in answer.text and "On peut citer comme exemple" in answer.text
    for example in ("fabrication additive", "gestion prévisionnelle des emplois", "sobriété foncière"):
        assert example in answer.text
    assert "Issoudun" not in answer.text
    assert_exact_citations(corpus_assistant, answer)


def test_list_item_is_read_with_its_intro(corpus_assistant) -> None:
    # "- Innovation : création de ..." answers only with its intro "actions lancées depuis un an :" in mind.
    answer = corpus_assistant.answer("What did the CVL territories create for innovation in the last year?")
    assert "maison internationale de la cosmétique" in answer.text
    assert "Issoudun" not in answer.text
    assert_exact_citations(corpus_assistant, answer)


def test_english_count_takes_the_noun_after_its_adjectives(corpus_assistant) -> None:
    # "how many industrial territories" counts territories, not "industrial" things
    answer = corpus_assistant.answer("How many industrial territories does the Grand Est region have?")
    assert "15 territoires" in answer.text
    assert cited_sources(answer) == {"000_1b396a36e8a233e6.txt"}


def test_english_follow_up_with_everyday_words(corpus_assistant) -> None:
    first = "How many industrial territories are there in Grand Est?"
    _, a2 = follow_up(corpus_assistant, first, "Which of them already had their own protocol?")
    assert "Sud-Alsace" in a2.text and "Bazancourt-Pomacle" in a2.text


@pytest.mark.parametrize("question", ["C'est quoi un territoire d'industrie ?", "What is a Territoire d'industrie?"])
def test_definition_reads_the_sentence_that_defines(corpus_assistant, question: str) -> None:
    # "Ceux-ci sont des intercommunalités ..." defines the Territoires d'industrie named just before it;
    # the many sentences that merely name them are not definitions.
    answer = corpus_assistant.answer(question)
    assert "intercommunalités" in answer.text and "savoir-faire industriel" in answer.text
    assert cited_sources(answer) == {"001_27738308ae8cf9a0.txt"}
    assert_exact_citations(corpus_assistant, answer)


def test_rank_question_gets_the_ordinal(corpus_assistant) -> None:
    answer = corpus_assistant.answer("What rank does Grand Est hold among industrial regions?")
    assert "deuxième région industrielle" in answer.text


@pytest.mark.parametrize(
    "question",
    ["Quels sont les trois nouveaux territoires labellisés en 2019 ?", "Name the three territories added to the programme in 2019."],
)
def test_list_of_a_stated_count_names_its_items(corpus_assistant, question: str) -> None:
    # "three territories" is not the list of 12 laureates, and "Trois nouveaux territoires rejoignent le
    # programme" says how many without naming them: the answer is the sentence that names the three.
    answer = corpus_assistant.answer(question)
    for name in ("Vendée-Est", "Lamballe Terre et Mer", "Saint-Brieuc Baie d'Armor"):
        assert name in answer.text
    assert "Issoudun" not in answer.text
    assert_exact_citations(corpus_assistant, answer)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Qu'est-ce que l'AdCF ?", "Qui était son président lors de la première assemblée générale ?"),
        ("What is the AdCF?", "Who was its president at the first general assembly?"),
    ],
)
def test_pronoun_in_a_follow_up_stands_for_the_previous_name(corpus_assistant, first: str, second: str) -> None:
    # "son président" / "its president" is the AdCF's; the sentence naming him is read with the one
    # before it, which names the first general assembly.
    _, a2 = follow_up(corpus_assistant, first, second)
    assert "Jean-Luc Rigaut" in a2.text
    assert cited_sources(a2) == {"001_27738308ae8cf9a0.txt"}


def test_elliptical_count_in_a_follow_up_counts_the_previous_noun(corpus_assistant) -> None:
    # "Et combien ont fait l'objet ..." counts the projects of the previous question; the document says
    # "231 d'entre eux", which the answer quotes with the sentence that says of what.
    first = "Combien de projets ont été élaborés par les territoires ?"
    _, a2 = follow_up(corpus_assistant, first, "Et combien ont fait l'objet d'un engagement de l'Etat ?")
    assert "231 d'entre eux" in a2.text and "474 projets" in a2.text
    assert_exact_citations(corpus_assistant, a2)


def test_english_question_understood_only_as_a_place_abstains(corpus_assistant) -> None:
    # Only "Orléans" matches the documents (a laureate's name); nothing asks about the programme.
    answer = corpus_assistant.answer("What will the weather be like in Orléans tomorrow?")
    assert answer.abstained and "could not find" in answer.text


def test_a_list_item_is_answered_with_its_intro(corpus_assistant) -> None:
    answer = corpus_assistant.answer("What happened in Issoudun?")
    assert not answer.abstained
    assert "12 territoires sont lauréats" in answer.text and "Issoudun" in answer.text
    assert [c.n for c in answer.citations] == [1, 2]
    assert_exact_citations(corpus_assistant, answer)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Quel poste occupait Agnès Pannier-Runacher ?", "Agnès Pannier-Runacher, secrétaire d'Etat"),
        ("Who represented France industrie at the first general assembly?", "Philippe Varin, président de France industrie"),
    ],
)
def test_people_and_roles_are_quoted_together(corpus_assistant, question: str, expected: str) -> None:
    # A role answers with the name it belongs to; an organisation named in the question ("France industrie")
    # is matched as a phrase, not word by word.
    answer = corpus_assistant.answer(question)
    assert expected in answer.text
    assert_exact_citations(corpus_assistant, answer)


def test_ranks_must_agree(corpus_assistant) -> None:
    answer = corpus_assistant.answer("Où s'est tenue la deuxième assemblée générale ?")
    assert "Mulhouse" in answer.text and "première assemblée" not in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "À quelle date exacte s'est réunie l'assemblée de Mulhouse ?",  # "la semaine dernière" is no date
        "Quel est le nom du Premier ministre qui a lancé le programme ?",  # the documents never name him
    ],
)
def test_abstains_without_the_date_or_name_asked_for(corpus_assistant, question: str) -> None:
    answer = corpus_assistant.answer(question)
    assert answer.abstained and "pas trouvé" in answer.text


def test_follow_up_on_another_region_passes_over_other_regions(corpus_assistant) -> None:
    first = "Combien de territoires d'industrie compte le Grand Est ?"
    _, a2 = follow_up(corpus_assistant, first, "Et dans les Pays de la Loire ?")
    assert "14 territoires des Pays de la Loire" in a2.text and "Grand Est" not in a2.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How long does the second phase of the programme run?", "jusqu'à 2027"),
        ("Pendant combien de temps les chefs de projet des territoires fragiles sont-ils financés ?", "pour deux ans"),
        ("How long had the VIE existed when the territorial volunteers were launched?", "vingtaine"),
    ],
)
def test_how_long_questions_get_a_duration(corpus_assistant, question: str, expected: str) -> None:
    answer = corpus_assistant.answer(question)
    assert expected in answer.text, answer.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Our factory is in Romorantin: which phase 2 territory do we belong to?", "Sologne - Val de Cher"),
        ("Nous sommes une PME de Pithiviers : de quel territoire d'industrie faisons-nous partie ?", "Nord Loiret"),
    ],
)
def test_a_town_is_found_in_the_territory_that_includes_it(corpus_assistant, question: str, expected: str) -> None:
    answer = corpus_assistant.answer(question)
    assert expected in answer.text, answer.text


@pytest.mark.parametrize(
    "question",
    [
        "In which town is the maison internationale de la cosmétique?",  # the document names no town for it
        "Qui est le préfet de la région Centre-Val de Loire ?",  # nor the prefect
    ],
)
def test_abstains_without_the_place_or_person_asked_for(corpus_assistant, question: str) -> None:
    answer = corpus_assistant.answer(question)
    assert answer.abstained, answer.text


def test_where_do_things_stand_is_no_place_question(corpus_assistant) -> None:
    answer = corpus_assistant.answer("Où en était la signature des contrats dans les Pays de la Loire ?")
    assert not answer.abstained and "un seul des 14 territoires" in answer.text

