"""A reproducible synthetic French corpus of programme documents, with the bundled corpus inside.

Run: `.venv/bin/python bench/corpus.py OUT_DIR --chunks 10000 [--seed 10]` writes
OUT_DIR/synth/NNNNNN_<slug>.txt (with a `.meta.yaml` sidecar giving the date) and copies
knowledge/corpus/*.txt and their sidecars to OUT_DIR/bundled/, until the documents
chunk (ingest.chunking.chunk_document, the defaults ingest uses) into at least `--chunks`
chunks in all. It prints the number of documents and chunks.

The documents are communiqués and "le point sur" pages about territorial schemes (Action
cœur de ville, Petites villes de demain, Fonds vert, France 2030, CRTE ...): a title, a
dateline, paragraphs with figures, amounts, dates, towns, people and roles, and lists
(laureates with the towns they include, the axes of a phase, examples of actions) with the
sentence that introduces them, as in the real documents. A share of them (about 1 in 6)
are about "Territoires d'industrie" itself, in regions other than the two the bundled
documents are about (Centre-Val de Loire, Grand Est): hard distractors that share the
programme's vocabulary. None copies a sentence of the bundled corpus.

Document i is generated from its own seeded `random.Random(f"{seed}:{i}")`: the corpus
for 1k chunks is a prefix of the one for 10k, itself a prefix of the one for 100k, so
that embeddings cached for the smaller one are reused by the larger ones.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUNDLED = ROOT / "knowledge" / "corpus"

# region -> (towns, departments)
REGIONS: dict[str, tuple[list[str], list[str]]] = {
    "Normandie": (["Caen", "Rouen", "Le Havre", "Évreux", "Cherbourg-en-Cotentin", "Alençon", "Dieppe", "Lisieux", "Vernon", "Fécamp"],
                  ["Calvados", "Manche", "Orne", "Eure", "Seine-Maritime"]),
    "Bretagne": (["Rennes", "Brest", "Lorient", "Vannes", "Saint-Brieuc", "Quimper", "Lannion", "Fougères", "Pontivy", "Morlaix"],
                 ["Finistère", "Morbihan", "Ille-et-Vilaine", "Côtes-d'Armor"]),
    "Pays de la Loire": (["Nantes", "Angers", "Le Mans", "Cholet", "Laval", "La Roche-sur-Yon", "Saint-Nazaire", "Saumur", "Sablé-sur-Sarthe"],
                         ["Loire-Atlantique", "Maine-et-Loire", "Sarthe", "Mayenne", "Vendée"]),
    "Nouvelle-Aquitaine": (["Bordeaux", "Limoges", "Poitiers", "Pau", "La Rochelle", "Angoulême", "Niort", "Brive-la-Gaillarde", "Mont-de-Marsan", "Périgueux"],
                           ["Gironde", "Haute-Vienne", "Vienne", "Charente", "Landes", "Dordogne", "Corrèze"]),
    "Occitanie": (["Toulouse", "Montpellier", "Nîmes", "Perpignan", "Albi", "Tarbes", "Rodez", "Castres", "Carcassonne", "Figeac"],
                  ["Haute-Garonne", "Hérault", "Gard", "Aveyron", "Tarn", "Aude", "Lot"]),
    "Auvergne-Rhône-Alpes": (["Lyon", "Grenoble", "Clermont-Ferrand", "Saint-Étienne", "Annecy", "Valence", "Roanne", "Oyonnax", "Vichy", "Aurillac"],
                             ["Rhône", "Isère", "Puy-de-Dôme", "Loire", "Haute-Savoie", "Drôme", "Ain", "Cantal"]),
    "Bourgogne-Franche-Comté": (["Dijon", "Besançon", "Belfort", "Montbéliard", "Chalon-sur-Saône", "Auxerre", "Nevers", "Le Creusot", "Dole", "Vesoul"],
                                ["Côte-d'Or", "Doubs", "Saône-et-Loire", "Yonne", "Nièvre", "Jura"]),
    "Hauts-de-France": (["Lille", "Amiens", "Dunkerque", "Valenciennes", "Beauvais", "Calais", "Maubeuge", "Saint-Quentin", "Arras", "Compiègne"],
                        ["Nord", "Pas-de-Calais", "Somme", "Oise", "Aisne"]),
    "Provence-Alpes-Côte d'Azur": (["Marseille", "Nice", "Toulon", "Avignon", "Gap", "Digne-les-Bains", "Fos-sur-Mer", "Manosque", "Grasse"],
                                   ["Bouches-du-Rhône", "Var", "Vaucluse", "Alpes-Maritimes", "Hautes-Alpes"]),
    "Île-de-France": (["Évry-Courcouronnes", "Cergy", "Meaux", "Mantes-la-Jolie", "Melun", "Poissy", "Étampes", "Saclay"],
                      ["Essonne", "Val-d'Oise", "Seine-et-Marne", "Yvelines"]),
    "Corse": (["Ajaccio", "Bastia", "Porto-Vecchio", "Corte", "Calvi"], ["Corse-du-Sud", "Haute-Corse"]),
    # The two regions the bundled documents are about: never in a "Territoires d'industrie" distractor.
    "Centre-Val de Loire": (["Tours", "Blois", "Chinon", "Vendôme", "Loches", "Aubigny-sur-Nère", "La Châtre", "Saint-Amand-Montrond"],
                            ["Indre-et-Loire", "Loir-et-Cher", "Cher", "Indre", "Loiret", "Eure-et-Loir"]),
    "Grand Est": (["Strasbourg", "Metz", "Reims", "Troyes", "Colmar", "Épinal", "Charleville-Mézières", "Saint-Dizier", "Sarreguemines"],
                  ["Bas-Rhin", "Moselle", "Marne", "Aube", "Vosges", "Ardennes", "Haute-Marne"]),
}
TI_EXCLUDED = {"Centre-Val de Loire", "Grand Est"}

SCHEMES = [
    ("Action cœur de ville", "la revitalisation des centres-villes des villes moyennes"),
    ("Petites villes de demain", "l'accompagnement des communes de moins de 20 000 habitants"),
    ("Fonds vert", "l'accélération de la transition écologique des collectivités"),
    ("Villages d'avenir", "le soutien aux projets des communes rurales"),
    ("France 2030", "l'investissement dans les filières industrielles d'avenir"),
    ("Contrats de relance et de transition écologique", "la contractualisation entre l'État et les intercommunalités"),
    ("Fonds friches", "le recyclage des friches et la sobriété foncière"),
    ("France Très Haut Débit", "le déploiement de la fibre optique dans les territoires"),
    ("Territoires d'industrie", "la reconquête industrielle des territoires"),
]
ACTORS = ["l'Agence nationale de la cohésion des territoires (ANCT)", "la Banque des Territoires", "Bpifrance",
          "l'ADEME", "le Conseil régional", "la préfecture de région", "Business France", "le Cerema",
          "la chambre de commerce et d'industrie", "l'Agence nationale de l'habitat (Anah)"]
ROLES = ["la ministre déléguée chargée de la Ruralité", "le ministre de la Transition écologique",
         "la préfète de région", "le président du Conseil régional", "la secrétaire d'État chargée de l'Industrie",
         "le directeur général de l'ANCT", "la vice-présidente chargée du développement économique",
         "le sous-préfet à la relance", "la directrice régionale de la Banque des Territoires"]
FIRST = ["Claire", "Jean", "Sophie", "Marc", "Isabelle", "Olivier", "Nathalie", "Thierry", "Hélène", "Laurent",
         "Camille", "Pierre", "Anne", "François", "Élise", "Nicolas", "Julie", "Philippe", "Aurélie", "Didier"]
LAST = ["Dubois", "Martin", "Lefèvre", "Moreau", "Girard", "Roux", "Fournier", "Morel", "Garnier", "Chevalier",
        "Lambert", "Bonnet", "François", "Mercier", "Blanc", "Guérin", "Faure", "Rousseau", "Perrin", "Masson"]
AXES = ["Accélérer la rénovation énergétique des bâtiments publics", "Développer les mobilités du quotidien",
        "Renforcer l'attractivité des centres-bourgs", "Soutenir le commerce de proximité",
        "Préserver la biodiversité et la ressource en eau", "Former aux métiers en tension",
        "Réhabiliter les friches industrielles", "Déployer les énergies renouvelables locales",
        "Accompagner la transformation numérique des entreprises", "Développer l'offre de logements",
        "Favoriser l'économie circulaire", "Améliorer l'accès aux services publics"]
ACTIONS = ["la création d'une maison France Services", "la rénovation d'une halle de marché",
           "l'ouverture d'un tiers-lieu dédié au numérique", "l'aménagement d'une voie verte",
           "la réhabilitation d'une ancienne filature en logements", "l'installation d'une chaufferie biomasse",
           "la mise en place d'un campus des métiers", "le réaménagement d'une zone d'activités",
           "la création d'une pépinière d'entreprises", "le déploiement de bornes de recharge électrique",
           "la végétalisation des cours d'école", "la reconversion d'une friche en parc photovoltaïque",
           "le lancement d'une plateforme de mobilité solidaire", "la modernisation d'un atelier de production"]
SECTORS = ["l'agroalimentaire", "la métallurgie", "l'aéronautique", "la plasturgie", "la chimie", "le textile",
           "l'industrie du bois", "la mécanique de précision", "l'automobile", "la santé", "l'électronique"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
NUM_WORDS = {2: "deux", 3: "trois", 4: "quatre", 5: "cinq", 6: "six", 7: "sept", 8: "huit", 9: "neuf",
             10: "dix", 11: "onze", 12: "douze", 15: "quinze", 20: "vingt"}


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:40]


def _amount(r: random.Random) -> str:
    if r.random() < 0.5:
        return f"{r.randint(2, 480)} millions d'euros"
    return f"{r.randint(1, 99)},{r.randint(1, 9)} millions d'euros"


def _person(r: random.Random) -> str:
    first = r.choice(FIRST)
    title = "Mme" if first in {"Claire", "Sophie", "Isabelle", "Nathalie", "Hélène", "Camille", "Anne", "Élise",
                               "Julie", "Aurélie"} else "M."
    return f"{title} {first} {r.choice(LAST)}"


def _count(r: random.Random, n: int) -> str:
    return NUM_WORDS[n] if n in NUM_WORDS and r.random() < 0.3 else str(n)


def document(seed: int, i: int) -> tuple[str, str, str]:
    """(file stem, text, ISO date) of synthetic document `i`."""
    r = random.Random(f"{seed}:{i}")
    scheme, purpose = r.choice(SCHEMES)
    regions = [k for k in REGIONS if scheme != "Territoires d'industrie" or k not in TI_EXCLUDED]
    region = r.choice(regions)
    towns, depts = REGIONS[region]
    year = r.randint(2018, 2025)
    month = r.randrange(12)
    day = r.randint(1, 28)
    date = f"{year}-{month + 1:02d}-{day:02d}"
    dept = r.choice(depts)
    n_laureates = r.randint(4, min(12, len(towns)))
    laureates = r.sample(towns, n_laureates)
    phase = r.choice(["première", "seconde", "troisième"])
    kind = r.choice(["communiqué", "point", "bilan", "appel"])
    if kind == "communiqué":
        title = f"{scheme} : {_count(r, n_laureates)} nouveaux lauréats en {region}"
    elif kind == "point":
        title = f"Le point sur le programme « {scheme} » en {region}"
    elif kind == "bilan":
        title = f"{scheme} : un bilan d'étape dans le département {dept}"
    else:
        title = f"Appel à projets {year} du programme {scheme} en {region}"
    paras: list[str] = [title, f"{r.choice(towns)}, le {day} {MONTHS[month]} {year}"]
    lead = _person(r)
    role = r.choice(ROLES)
    paras.append(
        f"{lead}, {role}, a présenté le {day} {MONTHS[month]} {year} la {phase} phase du programme {scheme}, "
        f"consacré à {purpose}. Le programme est piloté en région par l'État et {r.choice(ACTORS)}, "
        f"avec l'appui de {r.choice(ACTORS)}."
    )
    budget = _amount(r)
    paras.append(
        f"Au total, {budget} seront mobilisés d'ici {year + r.randint(2, 5)}, dont {_amount(r)} apportés par "
        f"{r.choice(ACTORS)}. {r.randint(40, 900)} projets ont déjà été recensés par les collectivités, "
        f"et {r.randint(10, 300)} d'entre eux bénéficient d'un engagement financier de l'État."
    )
    intro = f"En {region}, {_count(r, n_laureates)} territoires sont lauréats de cette {phase} phase du programme :"
    items = []
    for town in laureates:
        others = r.sample(towns, 2)
        if r.random() < 0.5 and town not in others:
            items.append(f"- {town}, qui inclut notamment {others[0]} et {others[1]}")
        else:
            items.append(f"- {town}")
    paras.append(intro + "\n" + "\n".join(items))
    paras.append(
        f"Ces territoires rassemblent {r.randint(12, 65)} % des habitants du département {dept} et "
        f"{r.randint(5, 40)} % des emplois industriels, notamment dans {r.choice(SECTORS)} et {r.choice(SECTORS)}."
    )
    n_axes = r.randint(3, 5)
    paras.append(f"Cette phase se concentre sur {_count(r, n_axes)} axes :\n"
                 + "\n".join(f"- {a}" for a in r.sample(AXES, n_axes)))
    if r.random() < 0.7:
        acts = r.sample(ACTIONS, r.randint(2, 4))
        paras.append(
            f"Au cours de la phase précédente ({year - r.randint(3, 5)}-{year - 1}), de nombreuses actions ont été "
            f"portées par les territoires. On peut citer comme exemple :\n"
            + "\n".join(f"- {a} à {r.choice(towns)}," for a in acts[:-1]) + f"\n- {acts[-1]} à {r.choice(towns)}."
        )
    for _ in range(r.randint(1, 3)):
        t1, t2 = r.sample(towns, 2)
        paras.append(
            f"À {t1}, {_person(r)}, {r.choice(ROLES)}, a signé le {r.randint(1, 28)} {r.choice(MONTHS)} {year} "
            f"une convention de {_amount(r)} pour {r.choice(ACTIONS)}. Le chantier doit s'achever en "
            f"{year + r.randint(1, 3)}, et {r.randint(20, 400)} emplois sont attendus à {t2}."
        )
    if r.random() < 0.5:
        paras.append(
            f"Les candidatures pour l'appel à projets {year + 1} sont ouvertes jusqu'au {r.randint(1, 28)} "
            f"{r.choice(MONTHS)} {year + 1}. Les dossiers sont instruits par {r.choice(ACTORS)}, qui publiera "
            f"la liste des lauréats avant la fin de l'année."
        )
    paras.append(f"Contact presse : {_person(r)}, service communication de {r.choice(ACTORS)}.")
    stem = f"{i:06d}_{_slug(scheme)}-{_slug(region)}"
    return stem, "\n\n".join(paras) + "\n", date


def documents(seed: int) -> Iterator[tuple[str, str, str]]:
    i = 0
    while True:
        yield document(seed, i)
        i += 1


def chunk_count(path: Path) -> int:
    from ingest.chunking import chunk_document
    from ingest.loaders import load_document

    return len(chunk_document(load_document(path)))


def generate(out: Path, chunks: int, seed: int = 10) -> dict[str, int]:
    """Write the corpus under `out` (emptied first); returns documents and chunks written."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "bundled").mkdir(parents=True)
    (out / "synth").mkdir()
    total = 0
    n_bundled = 0
    for p in sorted(BUNDLED.glob("*.txt")):
        shutil.copy2(p, out / "bundled" / p.name)
        side = p.with_name(p.stem + ".meta.yaml")
        if side.exists():
            shutil.copy2(side, out / "bundled" / side.name)
        total += chunk_count(out / "bundled" / p.name)
        n_bundled += 1
    n = 0
    for stem, text, date in documents(seed):
        if total >= chunks:
            break
        path = out / "synth" / f"{stem}.txt"
        path.write_text(text, encoding="utf-8")
        path.with_name(stem + ".meta.yaml").write_text(f'date: "{date}"\n', encoding="utf-8")
        total += chunk_count(path)
        n += 1
    return {"bundled_docs": n_bundled, "synth_docs": n, "chunks": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    print(generate(args.out, args.chunks, args.seed))


if __name__ == "__main__":
    main()
