"""Document metadata: titles, dates, regions, language, sidecars (ingest.metadata, knowledge.regions)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from ingest.loaders import load_document
from ingest.metadata import (
    SidecarError,
    date_num,
    detect_language,
    extract_date,
    is_dateline,
    parse_date,
    sidecar_path,
)
from knowledge.regions import REGIONS, canonical_region, find_regions, region_key, region_slug

CORPUS = Path(__file__).resolve().parents[1] / "knowledge" / "corpus"
DOC = {p.name[:3]: p for p in CORPUS.glob("*.txt")}


def copy_without_sidecar(tmp_path: Path, key: str) -> Path:
    target = tmp_path / DOC[key].name
    shutil.copyfile(DOC[key], target)
    assert not sidecar_path(target).exists()
    return target


# -- the bundled corpus -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "title", "date", "number"),
    [
        ("000", "Le programme « Territoires d'industrie » en Grand Est passe à la vitesse supérieure", "2019-11", 20191100),
        ("001", "Lancement du déploiement de 136 Territoires d'industrie", "2019-03", 20190300),
        ("002", "Un premier bilan pour les Territoires d'industrie", "2019-09", 20190900),
        ("003", "Territoires d'industrie : premier bilan du programme, dix mois après son lancement", "2019-09-24", 20190924),
        ("004", 'Le point sur le programme "Territoires d\'industrie" en région CVL (communiqué de presse)', "2025", 20250000),
    ],
)
def test_bundled_titles_and_dates(key: str, title: str, date: str, number: int) -> None:
    meta = load_document(DOC[key]).metadata
    assert meta.title == title
    assert meta.date == date
    assert meta.date_num == number
    assert meta.language == "fr"
    assert meta.format == "txt"
    assert meta.doc_id == hashlib.sha256(DOC[key].read_bytes()).hexdigest()[:16]
    assert meta.source == str(DOC[key].resolve())


def test_bundled_regions() -> None:
    regions = {key: load_document(path).metadata.regions for key, path in DOC.items()}
    assert regions["000"] == ("Grand Est",)  # "(hors IDF)" is not a mention of IDF
    assert regions["001"] == ()
    assert set(regions["002"]) == {"Centre-Val de Loire", "Pays de la Loire", "Auvergne-Rhône-Alpes"}
    assert regions["003"] == ()
    # "Grand-Est Touraine" and "Portes Euréliennes d'Ile-de-France" are territories in CVL.
    assert regions["004"] == ("Centre-Val de Loire",)
    assert "Grand Est" not in regions["004"] and "Île-de-France" not in regions["004"]


def test_dates_extracted_without_sidecars(tmp_path: Path) -> None:
    assert load_document(copy_without_sidecar(tmp_path, "003")).metadata.date == "2019-09-24"
    # 000 says "lancé le 22 novembre 2018" in its body: that is not its publication date.
    meta = load_document(copy_without_sidecar(tmp_path, "000")).metadata
    assert meta.date is None and meta.date_num == 0
    assert load_document(copy_without_sidecar(tmp_path, "001")).metadata.date is None
    # 004 says "En mai 2023, ..." and "lancée en février 2024" in its body.
    assert load_document(copy_without_sidecar(tmp_path, "004")).metadata.date is None


def test_titles_extracted_without_sidecars(tmp_path: Path) -> None:
    # 002 starts with a navigation word, "Archives", which is passed over.
    meta = load_document(copy_without_sidecar(tmp_path, "002")).metadata
    assert meta.title == "Un premier bilan pour les Territoires d'industrie"
    # 003: the markdown headings after the dateline, joined.
    meta = load_document(copy_without_sidecar(tmp_path, "003")).metadata
    assert meta.title == "Territoires d'industrie : premier bilan du programme, dix mois après son lancement"


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris, le 24 septembre 2019", "2019-09-24"),
        ("le 1er mars 2024", "2024-03-01"),
        ("mardi 3 décembre 2019", "2019-12-03"),
        ("3 déc. 2019", "2019-12-03"),
        ("en février 2024", "2024-02"),
        ("Aout 2021", "2021-08"),
        ("September 24, 2019", "2019-09-24"),
        ("Tuesday, 24 September 2019", "2019-09-24"),
        ("Sept 2019", "2019-09"),
        ("24/09/2019", "2019-09-24"),
        ("2019-09-24T10:00:00Z", "2019-09-24"),
        ("le 31 février 2019", "2019-02"),  # no such day: falls back to the month
        ("pas de date ici, seulement 2027", None),
        ("le 6 mars", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Paris, le 24 septembre 2019", "2019-09-24"),
        ("Orléans, le 3 février 2024", "2024-02-03"),
        ("Publié le 12/03/2024 à 10h30", "2024-03-12"),
        ("Communiqué de presse – 5 juillet 2023", "2023-07-05"),
        ("24 septembre 2019", "2019-09-24"),
        ("Lancé le 22 novembre 2018 par le Premier ministre, le programme vise à appuyer.", None),
        ("En mai 2023, le Président de la République a fixé pour objectif", None),
        ("Le programme Territoires d'industrie", None),
    ],
)
def test_is_dateline(line: str, expected: str | None) -> None:
    assert is_dateline(line) == expected


def test_extract_date_only_near_the_top() -> None:
    body = "\n".join(f"Paragraphe {i} sans date." for i in range(20))
    assert extract_date("Titre\n\nParis, le 2 avril 2024\n\n" + body) == "2024-04-02"
    assert extract_date("Titre\n\n" + body + "\n\nParis, le 2 avril 2024") is None


def test_date_num() -> None:
    assert date_num("2019-09-24") == 20190924
    assert date_num("2019-11") == 20191100
    assert date_num("2025") == 20250000
    assert date_num(None) == 0
    assert date_num("") == 0


# -- language ---------------------------------------------------------------------------


def test_language() -> None:
    assert detect_language("Le programme vise à appuyer le développement des territoires.") == "fr"
    assert detect_language("The programme supports the development of industrial territories in France.") == "en"


def test_english_document(tmp_path: Path) -> None:
    path = tmp_path / "en.md"
    path.write_text("# Industrial territories\n\nPublished on March 5, 2024\n\nThe programme is run by the regions and it has been extended.\n")
    meta = load_document(path).metadata
    assert (meta.language, meta.title, meta.date) == ("en", "Industrial territories", "2024-03-05")


# -- regions ----------------------------------------------------------------------------


def test_regions_list() -> None:
    assert len(REGIONS) == 18 and len(set(REGIONS)) == 18
    for name in ("Grand Est", "Centre-Val de Loire", "Auvergne-Rhône-Alpes", "Île-de-France", "Pays de la Loire",
                 "Hauts-de-France", "Bourgogne-Franche-Comté", "Provence-Alpes-Côte d'Azur", "Nouvelle-Aquitaine",
                 "Occitanie", "Bretagne", "Normandie", "Corse"):  # fmt: skip
        assert name in REGIONS


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("CVL", "Centre-Val de Loire"),
        ("cvl", "Centre-Val de Loire"),
        ("région Centre", "Centre-Val de Loire"),
        ("Centre Val de Loire", "Centre-Val de Loire"),
        ("AURA", "Auvergne-Rhône-Alpes"),
        ("IDF", "Île-de-France"),
        ("ile de france", "Île-de-France"),
        ("PACA", "Provence-Alpes-Côte d'Azur"),
        ("provence-alpes-cote-d-azur", "Provence-Alpes-Côte d'Azur"),
        ("BFC", "Bourgogne-Franche-Comté"),
        ("HDF", "Hauts-de-France"),
        ("Grand-Est", "Grand Est"),
        ("grand est", "Grand Est"),
        ("region:grand-est", "Grand Est"),
        ("Brittany", "Bretagne"),
        ("Réunion", "La Réunion"),
        ("Paris", None),
        ("", None),
    ],
)
def test_canonical_region(alias: str, canonical: str | None) -> None:
    assert canonical_region(alias) == canonical


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Les territoires du CVL et de la région Grand-Est.", ["Centre-Val de Loire", "Grand Est"]),
        ("En ILE-DE-FRANCE comme en Provence Alpes Côte d'Azur", ["Île-de-France", "Provence-Alpes-Côte d'Azur"]),
        ("combien de territoires en grand est ?", ["Grand Est"]),
        ("Le plus grand est le territoire d'Orléans.", []),
        ("Il aura lieu le 6 mars, la réunion du comité aussi.", []),
        ("Un vin corsé.", []),
        ("En Corse et à La Réunion.", ["Corse", "La Réunion"]),
        ("AURA et PACA", ["Auvergne-Rhône-Alpes", "Provence-Alpes-Côte d'Azur"]),
        ("le territoire Grand-Est Touraine, qui inclut Amboise", []),
        ("Pays de Dreux - Portes Euréliennes d'Ile-de-France", []),
        ("le Conseil régional d'Île-de-France", ["Île-de-France"]),
        ("deuxième région industrielle (hors IDF)", []),
        ("Régions de France et l'AdCF", []),
        ("Nouvelle-Aquitaine, Occitanie, Normandie, Bretagne, Hauts-de-France", [
            "Nouvelle-Aquitaine", "Occitanie", "Normandie", "Bretagne", "Hauts-de-France"]),
        ("Grand Est, puis Grand Est encore", ["Grand Est"]),
        ("la Grande Estonie", []),
    ],
)
def test_find_regions(text: str, expected: list[str]) -> None:
    assert find_regions(text) == expected


def test_region_key() -> None:
    assert region_key("Centre-Val de Loire") == "region:centre-val-de-loire"
    assert region_key("CVL") == "region:centre-val-de-loire"
    assert region_key("Provence-Alpes-Côte d'Azur") == "region:provence-alpes-cote-d-azur"
    assert region_slug("Île-de-France") == "ile-de-france"
    slugs = {region_slug(r) for r in REGIONS}
    assert len(slugs) == 18
    assert all(s.isascii() and s == s.lower() and " " not in s for s in slugs)


# -- sidecars ---------------------------------------------------------------------------


def test_sidecar_path() -> None:
    assert sidecar_path(Path("/d/000_x.txt")) == Path("/d/000_x.meta.yaml")
    assert sidecar_path(Path("/d/a.b.pdf")) == Path("/d/a.b.meta.yaml")


def test_sidecar_overrides(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Paris, le 24 septembre 2019\n\nUn texte sur le Grand Est.\n")
    assert load_document(path).metadata.regions == ("Grand Est",)
    sidecar_path(path).write_text('title: "Mon titre"\ndate: "2019-11"\nregions: [CVL, grand est]\n')
    meta = load_document(path).metadata
    assert meta.title == "Mon titre"
    assert (meta.date, meta.date_num) == ("2019-11", 20191100)
    assert meta.regions == ("Centre-Val de Loire", "Grand Est")


def test_sidecar_partial_and_yaml_date(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("# Titre du document\n\nUn texte en Bretagne.\n")
    sidecar_path(path).write_text("date: 2024-02-03\n")  # YAML reads this as a date object
    meta = load_document(path).metadata
    assert (meta.title, meta.date, meta.date_num, meta.regions) == ("Titre du document", "2024-02-03", 20240203, ("Bretagne",))


def test_sidecar_clears_values(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Paris, le 24 septembre 2019\n\nUn texte sur le Grand Est.\n")
    sidecar_path(path).write_text("date: null\nregions: []\n")
    meta = load_document(path).metadata
    assert (meta.date, meta.date_num, meta.regions) == (None, 0, ())


def test_sidecar_year_as_int(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Un texte.\n")
    sidecar_path(path).write_text("date: 2025\n")
    assert load_document(path).metadata.date == "2025"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("auteur: moi\n", "unknown key(s) auteur"),
        ('date: "24/09/2019"\n', "is not YYYY, YYYY-MM or YYYY-MM-DD"),
        ('date: "2019-13"\n', "is not YYYY, YYYY-MM or YYYY-MM-DD"),
        ("regions: [Atlantide]\n", "unknown region 'Atlantide'"),
        ("title: [unclosed\n", "cannot read sidecar"),
        ("- a list\n", "must be a mapping"),
        ("language: de\n", "language must be fr or en"),
    ],
)
def test_bad_sidecar(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Un texte.\n")
    sidecar_path(path).write_text(content)
    with pytest.raises(SidecarError) as info:
        load_document(path)
    assert message in str(info.value)
    assert "note.meta.yaml" in str(info.value) and "\n" not in str(info.value)
