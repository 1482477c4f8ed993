"""Cues in questions and sentences: what kind of figure, date, place or list a sentence
holds, and which words of a question are about how it is asked rather than what about.

Plain regular expressions and word lists. The reader's features (`assistant.features`) use
them to say what type of answer a question wants and what a sentence holds; how much each
counts is learned.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from knowledge.lexical import fold
from knowledge.schemes import ordinal_value

__all__ = [
    "ORDINAL_Q",
    "NAMED_PLACE",
    "DURATION",
    "DURATION_Q",
    "PRECISE_DATE_Q",
    "ROLE_Q",
    "PERSON_NAME",
    "ROLE",
    "SUPPORT",
    "ordinal_mentions",
    "ANAPHOR",
    "CLAUSE",
    "DAY_MONTH",
    "DEADLINE",
    "DEADLINE_Q",
    "DEFINES",
    "FIGURE",
    "FULL_DATE",
    "GENERIC_STEMS",
    "HAS_DATE",
    "HAS_MONEY",
    "HAS_NUMBER",
    "HAS_YEAR",
    "INLINE_LIST",
    "NUMBERED_STAGE",
    "NUMBER_WORDS",
    "ORDINAL_WORDS",
    "RANK_Q",
    "UNTIL",
    "date_precision",
]

HAS_NUMBER = re.compile(
    r"\d|\b(un|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|douze|quinze|vingt|cent|mille|moitié|moitie|tiers|"
    r"quart|half|third|quarter|dizaine|douzaine|quinzaine|vingtaine|trentaine|cinquantaine|centaine)\b",
    re.I,
)
DEFINES = re.compile(r"\b(sont des|est un|est une|désigne|consiste|vise à|ceux-ci sont|il s.agit)\b", re.I)
HAS_DATE = re.compile(
    r"\b(19|20)\d{2}\b|\b(janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre)\b",
    re.I,
)
HAS_MONEY = re.compile(r"\d[\d\s,.]*\s*(?:M€|Md€|k€|€|millions? d.euros|milliards? d.euros|euros|milliard)", re.I)
# Words of how a question is asked, not of what it is about: absent from the documents without harm.
GENERIC_STEMS = set(
    "temp moment jour fois facon mani concret exact precis actuel aujourd combien etaient etait quoi donc".split()
)
# "phase 3", "acte 2": a numbered stage the documents must know of.
NUMBERED_STAGE = re.compile(r"\b(phase|étape|etape|stage|acte|act)\s+(\d+)\b", re.I)
DEADLINE_Q = re.compile(r"\b(deadline|date limite|échéance|echeance|closing date|apply before|candidater avant)\b", re.I)
DEADLINE = re.compile(
    r"\b(date limite|échéance|au plus tard|avant le \d|jusqu.au \d|clôture|cloture|deadline|dépôt des dossiers)", re.I
)
ORDINAL_WORDS = re.compile(r"\b(deuxième|troisième|quatrième|premier|première|second|third|fourth|first|\d+e)\b", re.I)
UNTIL = re.compile(r"\b(jusqu['’]|until\b|till\b|d['’]ici\b|how long|end\b|fin\b|s['’]ach[eè]ve)", re.I)
HAS_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
FULL_DATE = re.compile(
    r"\b\d{1,2}(?:er)?\s+(janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|"
    r"décembre|decembre)\s+(19|20)\d{2}\b",
    re.I,
)


DAY_MONTH = re.compile(
    r"\b\d{1,2}(?:er)?\s+(?:au\s+\d{1,2}\s+)?(janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|"
    r"septembre|octobre|novembre|décembre|decembre)\b",
    re.I,
)


def date_precision(text: str) -> float:
    """How precisely a sentence dates something: a full date beats a year, which beats a bare month."""
    if FULL_DATE.search(text):
        return 0.12
    if HAS_YEAR.search(text) or DAY_MONTH.search(text):
        return 0.08
    return 0.03 if HAS_DATE.search(text) else 0.0


# A figure: a number (or ordinal) and the word after it: "146 Territoires", "3e comité", "15 territoires".
FIGURE = re.compile(r"(?<![\d,.])(\d+(?:[ ,.]\d+)*)\s*(e|ème|eme|er|re|%)?\s+(?:de\s+|d')?([^\W\d_]{3,})", re.I)
CLAUSE = re.compile(r"(?:,|;|:| –| -)\s+|\s\(|\)\s")


# A sentence that opens on a pronoun or a demonstrative speaks of what the sentence before it named.
ANAPHOR = re.compile(
    r"^\W*(ceux-ci|celles-ci|celui-ci|celle-ci|ils|elles|il|elle|ces|cette|ce|cet|ceci|cela|they|these|this|it)\b", re.I
)
# "quel rang ?", "what rank?": an ordinal answers.
RANK_Q = re.compile(r"\b(rang|classement|se classe|rank|ranking|ranked)\b|\bquelle (place|position)\b|\bwhat position\b", re.I)
NUMBER_WORDS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
}
# A sentence that lists after a colon: "... : Vendée-Est ; Lamballe Terre et Mer ; Saint-Brieuc Baie d'Armor."
INLINE_LIST = re.compile(r":\s*[^:]+?(?:[,;]|\bet\b)[^:]+?(?:[,;]|\bet\b)")

_ORDINAL_NOUN = re.compile(
    r"\b(premi[eè]re?|deuxi[eè]me|seconde?|troisi[eè]me|quatri[eè]me|cinqui[eè]me|first|third|fourth|fifth|"
    r"\d(?:er|re|[eè]re|e|[eè]me|st|nd|rd|th))\s+([^\W\d_][\w'’-]*)(?:\s+([^\W\d_][\w'’-]*))?",
    re.I,
)
_STAGE_NOUNS = {"phase", "etape", "stage", "acte", "act"}


def ordinal_mentions(text: str, stem_of: Callable[[str], str]) -> list[tuple[int, frozenset[str]]]:
    """What a text numbers by rank, with the stems of the (up to two) words after the ordinal:
    'la deuxième Assemblée générale' -> [(2, {'assembl', 'general'})]. Phases ('seconde phase') are left
    to `knowledge.schemes.phase_numbers`; the answerer follows them through a document."""
    out = []
    for m in _ORDINAL_NOUN.finditer(text):
        words = [w for w in m.groups()[1:] if w]
        rank = ordinal_value(m.group(1))
        if rank is None or fold(words[0]) in _STAGE_NOUNS:
            continue
        stems = frozenset(stem for w in words if (stem := stem_of(w)))
        if stems:
            out.append((rank, stems))
    return out


# A person's name: two capitalised words, each possibly hyphenated ("Jean-Luc Rigaut", "Agnès Pannier-Runacher").
PERSON_NAME = re.compile(
    r"\b(?!(?:Le|La|Les|Un|Une|Des|Du|De|En|Au|Aux|Ce|Cette|Ces|Sur|Dans|Pour|Par|Avec|The|In|On|At|For|"
    r"Mme|Mmes|Mlle|Mr|Mrs|Ms|Dr|Me)\b)"
    r"[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?\s+[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?\b"
)
# A role given after a name: "Jean-Luc Rigaut, président de l'AdCF", "François Blouvac, responsable du programme".
ROLE = re.compile(
    r"\b[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?\s+[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?\**\s*,\s*"
    r"(?:la |le )?(?:co-)?(?:présidente?|ministre|secrétaire|responsable|directeur|directrice|délégué|déléguée|préfète?|"
    r"maire|chef|cheffe|vice-présidente?)\b"
)
# "Quelle fonction occupe X ?", "What was X's position?": a role answers.
ROLE_Q = re.compile(r"\b(fonction|r[ôo]le|poste|titre|portefeuille|position|title|job|role|portfolio)\b", re.I)
# "À quelle date précise ?", "On which day exactly?": a day answers, not a month or "last week".
PRECISE_DATE_Q = re.compile(r"\b(date précise|date exacte|quel jour|exact date|which day|what day|precise date)\b", re.I)
# "How long ...?", "pendant combien de temps ?": a duration or the span of years answers.
DURATION_Q = re.compile(r"\b(how long|for how many years|combien de temps|quelle dur[ée]e|dur[ée]e)\b", re.I)
DURATION = re.compile(
    r"\b(?:pendant|pour|sur|depuis)\s+(?:une?\s+|plus de\s+|près de\s+)?[\w-]+\s+(?:d['’])?(?:ans|années|mois)\b"
    r"|\bjusqu['’](?:à|en)\s+(?:19|20)\d{2}\b|\b(?:19|20)\d{2}\s*[-–]\s*(?:19|20)\d{2}\b"
    r"|\b[\w-]+\s+(?:ans|années|mois|semaines)\s+(?:après|plus tard)\b",
    re.I,
)
# A place an answer can give: a capitalised name that does not open the sentence ("... à Mulhouse",
# "sur les territoires de Montargis-Gien"); "- Innovation : création de la maison ..." names none.
NAMED_PLACE = re.compile(r"(?<=[\s'’(])[A-ZÀ-Ý][a-zà-ÿ]+")
# "Which one was it?", "quel numéro ?": a question for a rank without an ordinal word in it.
ORDINAL_Q = re.compile(r"\b(sequence number|which one was|quel num[ée]ro|combienti[èe]me|num[ée]ro d.ordre)\b", re.I)
# "Can a 300-employee firm apply?", "Une pharmacie peut-elle obtenir l'aide ?", "Suis-je éligible ?":
# whether someone qualifies; a condition, a requirement or an exclusion answers.
ELIGIBILITY_Q = re.compile(
    r"\b(?:[ée]ligib\w*|qualif(?:y|ies|ied)|peut-(?:il|elle|on)|peuvent-(?:ils|elles)|puis-je|pouvons-nous|"
    r"(?:can|could|may)\s+(?:i|we|a|an|my|our|the|they|it|companies|firms|businesses)\b)",
    re.I,
)
CONDITION = re.compile(
    r"\b(?:[ée]ligibles?|in[ée]ligibles?|exclu(?:e|s|es)?|excluded|ne (?:peuvent|peut|sont|est) pas|doivent|doit|"
    r"réservée?s?|au moins|au minimum|minimum|maximum|conditions?|critères?|sous réserve|à condition|"
    r"s['’]adresse|ouverte?s? aux|must|only|at least|eligible|not eligible)\b",
    re.I,
)
# A word naming a support instrument (a grant, a loan, a fund, a call for projects, a scheme): what a
# question about schemes wants a sentence to name, whatever else it shares with the question. Narrower
# than `ingest.scheme_names.SUPPORT_NOUNS`, whose words also open a scheme's name ("Programme …",
# "Plan …", "Mission …") but in running text name much else.
SUPPORT = re.compile(
    r"\b(?:aides?|dispositifs?|subventions?|pr[êe]ts?|fonds|appels? [àa] projets|primes?|ch[èe]ques?|avances? "
    r"remboursables?|garanties?|cr[ée]dits? d.imp[ôo]t|exon[ée]rations?|allocations?|dotations?|enveloppes?|"
    r"bonus|vouchers?|grants?|loans?|funds?|schemes?|subsid(?:y|ies))\b",
    re.I,
)
