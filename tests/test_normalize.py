"""Text normalisation for French documents (ingest.normalize)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.normalize import normalize_text

CORPUS = Path(__file__).resolve().parents[1] / "knowledge" / "corpus"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Le dévelop-\npement de l'indus-\ntrie", "Le développement de l'industrie"),
        ("la région Centre-\nVal de Loire", "la région Centre-Val de Loire"),
        ("c'est-\nà-dire", "c'est-à-dire"),
        ("peut-\nêtre", "peut-être"),
        ("COVID-\n19", "COVID-19"),
        ("une fin de ligne -\navec un tiret isolé", "une fin de ligne -\navec un tiret isolé"),
    ],
)
def test_hyphenation_at_line_ends(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_apostrophes_and_quotes() -> None:
    raw = "L’industrie, l‘État, lʼexport : “verte” et « durable »"
    assert normalize_text(raw) == "L'industrie, l'État, l'export : \"verte\" et « durable »"


def test_non_breaking_and_narrow_spaces() -> None:
    raw = "85\u00a0% des territoires\u202f; «\u202fTerritoires d'industrie\u202f» et «\u00a0TI\u00a0»"
    assert normalize_text(raw) == "85 % des territoires ; « Territoires d'industrie » et « TI »"


def test_soft_hyphens_and_zero_width_removed() -> None:
    assert normalize_text("réin\u00addus\u00adtria\u200blisation\ufeff") == "réindustrialisation"


def test_control_characters_removed() -> None:
    assert normalize_text("un\x1f mot\x00 et\x0cun autre\x7f") == "un mot et\nun autre"


def test_nfc() -> None:
    decomposed = "re\u0301gion"  # e + combining acute
    assert normalize_text(decomposed) == "région"
    assert len(normalize_text(decomposed)) == len("région")


def test_space_runs_and_blank_lines() -> None:
    raw = "  Un   texte\t avec    des espaces.  \n\n\n\n  Deuxième paragraphe.   "
    assert normalize_text(raw) == "Un texte avec des espaces.\n\nDeuxième paragraphe."


def test_superscript_and_tags() -> None:
    assert normalize_text("le 2<sup>e</sup> comité de pilotage") == "le 2e comité de pilotage"
    assert normalize_text("<p>Un <b>mot</b> &amp; un autre&nbsp;!</p>") == "Un mot & un autre !"
    # A comparison is not a tag.
    assert normalize_text("si x < 3 et y > 2") == "si x < 3 et y > 2"


def test_markdown_artefacts() -> None:
    raw = (
        "## **Territoires d'industrie :**\n\n"
        "### __premier bilan__\n\n"
        "Un **premier bilan** a pu être dressé, voir [le communiqué](https://example.org/c.pdf).\n"
        "> une citation\n"
        "---\n"
        "Fin."
    )
    assert normalize_text(raw) == (
        "Territoires d'industrie :\n\npremier bilan\n\n"
        "Un premier bilan a pu être dressé, voir le communiqué.\nune citation\n\nFin."
    )


def test_image_links_removed_entirely() -> None:
    raw = (
        "Titre du communiqué\n"
        "![[Image929626]](/var/site/storage/images/929626-1-fre-FR/article_image.jpg)\n"
        "Image929626 : @pexels-cristian-rojas\n"
        "Texte ![une photo](photo.png \"légende\") suite ![[Image1]]."
    )
    assert normalize_text(raw) == (
        "Titre du communiqué\nImage929626 : @pexels-cristian-rojas\nTexte suite ."
    )


def test_lists_and_paragraphs_are_kept() -> None:
    raw = "Il se focalise sur 4 axes majeurs :\n- Accélérer la transition\n- Mobiliser le foncier\n\nSuite."
    assert normalize_text(raw) == raw


def test_line_endings() -> None:
    assert normalize_text("a\r\nb\rc") == "a\nb\nc"


def test_corpus_document_003_loses_its_markdown() -> None:
    raw = (CORPUS / "003_3af200a01a20ee1d.txt").read_text(encoding="utf-8")
    text = normalize_text(raw)
    assert "**" not in text and "#" not in text and "<sup>" not in text
    assert "le 2e comité de pilotage national « Territoires d'industrie »" in text
    assert text.startswith("Paris, le 24 septembre 2019\n\nTerritoires d'industrie :")


def test_corpus_document_004_loses_its_image_link() -> None:
    raw = (CORPUS / "004_a4a221ff72913230.txt").read_text(encoding="utf-8")
    text = normalize_text(raw)
    assert "![" not in text and "/var/ire_site" not in text
    assert "’" not in text and "“" not in text
    assert "- Est du Loiret, qui inclut notamment Montargis" in text


def test_idempotent_on_corpus() -> None:
    for path in sorted(CORPUS.glob("*.txt")):
        once = normalize_text(path.read_text(encoding="utf-8"))
        assert normalize_text(once) == once, path.name
