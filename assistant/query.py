"""Question -> standalone query: language, acronyms, follow-ups, regions, question type.

Runs per question, so it stays cheap: regexes and a small YAML glossary, loaded once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.lexical import fold

__all__ = ["Query", "QueryBuilder", "detect_language", "Glossary", "split_question"]

GLOSSARY_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "glossary.yaml"

_FR_MARKERS = set(
    """le la les des du de un une est sont quel quelle quels quelles combien quand où ou qui que quoi
    pour dans sur avec et en au aux ce cette ces comment pourquoi lequel laquelle lesquels
    territoires région je mon ma mes peut puis aide aides""".split()
)
_EN_MARKERS = set(
    """the a an is are was were which what who when where how many much does do did of in on for
    with and to from joined their its my i can could get support any there""".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def detect_language(text: str) -> str:
    """'fr' or 'en', from function words (accents tip a tie towards French).

    >>> detect_language("Which CVL territories joined phase 2?"), detect_language("Combien de territoires ?")
    ('en', 'fr')
    """
    words = [w.lower() for w in _WORD.findall(text)]
    fr = sum(w in _FR_MARKERS for w in words) + sum(1 for w in words if "'" in w or "’" in w)
    en = sum(w in _EN_MARKERS for w in words)
    if re.search(r"[éèêàùçôîœ]", text.lower()):
        fr += 1
    return "en" if en > fr else "fr"


@dataclass(frozen=True)
class Glossary:
    acronyms: dict[str, str]
    en_fr: dict[str, str]
    synonyms: dict[str, str] = field(default_factory=dict)

    @classmethod
    @functools.cache
    def load(cls, path: Path = GLOSSARY_PATH) -> Glossary:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            acronyms=dict(data.get("acronyms", {})),
            en_fr=dict(data.get("en_fr", {})),
            synonyms=dict(data.get("synonyms", {})),
        )

    def synonyms_in(self, text: str) -> list[str]:
        low = text.lower()
        return [other for phrase, other in self.synonyms.items() if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", low)]

    def expand_acronyms(self, text: str) -> tuple[str, list[str]]:
        """Append each acronym's expansion after it: 'les TI du CVL' -> 'les TI (Territoires d'industrie) du CVL (Centre-Val de Loire)'."""
        found: list[str] = []

        def repl(match: re.Match[str]) -> str:
            word = match.group(0)
            expansion = self.acronyms.get(word) or self.acronyms.get(word.upper())
            if expansion is None or (word not in self.acronyms and not word.isupper()):
                return word
            found.append(word)
            return f"{word} ({expansion})"

        expanded = re.sub(r"(?<![\w-])[A-Za-z][A-Za-z€]{1,5}(?![\w-])", repl, text)
        return expanded, found

    def french_terms(self, text: str) -> list[str]:
        def words(value: str) -> str:
            return " ".join(re.sub(r"[^\w\s]", " ", value.lower()).split())

        low = f" {words(text)} "
        out = []
        for en, fr in sorted(self.en_fr.items(), key=lambda kv: -len(kv[0])):
            key = f" {words(en)} "
            if key in low:
                out.append(fr)
                low = low.replace(key, " ")
        return out


_FOLLOWUP_START = re.compile(
    r"^\s*(et\b|and\b|also\b|lequel|laquelle|lesquels|lesquelles|which one|what about|how about|"
    r"until|jusqu|depuis quand|since when|pour quel|in which|dans quel|et pour|et en|et dans|"
    r"combien d'entre eux|how many of them|who else|qui d'autre|"
    r"and (?:when|where|who|how))",
    re.IGNORECASE,
)
_PRONOUNS = re.compile(
    r"\b(il|elle|ils|elles|son|sa|ses|celui-ci|celle-ci|ceux-ci|ce programme|cette phase|ce dispositif|"
    r"it|they|them|its|their|this programme|this program|this scheme|that one|those|these)\b",
    re.IGNORECASE,
)


_NUMBER_WORDS = {
    "un": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6", "sept": "7", "huit": "8",
    "neuf": "9", "dix": "10", "onze": "11", "douze": "12", "quinze": "15", "vingt": "20", "two": "2",
    "three": "3", "four": "4", "five": "5", "twelve": "12", "fifteen": "15", "twenty": "20",
    "premier": "1er", "première": "1re", "deuxième": "2e", "second": "2e", "seconde": "2e", "troisième": "3e",
    "first": "1er premier première", "third": "3e troisième",
}
# English number words also get their French spelling: "three territories" -> "3 trois".
_EN_FR_NUMBERS = {
    "two": "deux", "three": "trois", "four": "quatre", "five": "cinq", "twelve": "douze", "fifteen": "quinze",
    "twenty": "vingt",
}


def digits_for_number_words(text: str) -> list[str]:
    """'les quatre axes' -> ['4']: documents write figures both ways."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    return [_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS and w != "un"] + [
        _EN_FR_NUMBERS[w] for w in words if w in _EN_FR_NUMBERS
    ]


@dataclass
class Query:
    question: str
    text: str  # the standalone query retrieval runs on
    language: str
    kind: str  # "list" | "number" | "amount" | "date" | "place" | "person" | "scheme" | "definition" | "fact"
    regions: list[str] = field(default_factory=list)
    acronyms: list[str] = field(default_factory=list)
    followup: bool = False
    previous_question: str = ""
    focus: str = ""  # the current question alone, expanded


def _question_kind(text: str) -> str:
    t = fold(text)
    if re.search(r"\b(how much of|quelle part|what share|what proportion|what percentage|quel pourcentage|"
                 r"quelle proportion)\b", t):
        return "number"
    if re.search(r"\b(qu.est.ce qu|what is an?\b|what are\b(?! the)|c.est quoi|definition|que signifie|"
                 r"what does .* mean)", t):
        return "definition"
    if re.search(r"\b(budget|montant|enveloppe|how much money|how much|combien d.euros|combien d.argent|cout|cost|amount|"
                 r"financement total|millions?|funding)\b", t):
        return "amount"
    if re.search(r"\b(combien|how many|how much|how long|nombre|number of|quel montant|what amount|montant|budget|enveloppe|"
                 r"pourcentage|percentage|share|part\b(?! of)|proportion|total)\b", t):
        return "number"
    if re.search(r"\b(deadline|date limite|echeance|dates|quand|(?<!^)when|^when (?=did|was|were|is|are|will|does|do|has|had)|quelle date|what date|which date|en quelle annee|what year|which year|"
                 r"jusqu.a quand|until when|until which|date|depuis quand|since when|until)\b", t):
        return "date"
    if re.search(r"\b(aide|aides|dispositif|dispositifs|support|scheme|schemes|subsid|grant|financement|financer|funding|money|"
                 r"eligib|postuler|apply|candidat)\w*", t):
        return "scheme"
    if re.search(r"(?<!\w)(où|where|quelle ville|which city|in which town)(?!\w)(?! en (?:est|sont|était|étaient)\b)",
                 text.lower()):
        return "place"
    if re.search(r"\b(qui|who|whom|quels responsables|quelles personnalites|which officials|which people)\b", t):
        return "person"
    if re.search(r"\b(quels|quelles|lesquels|lesquelles|liste|list|which|what are|name the|cite|enumer|exemples?|examples?|"
                 r"lister|axes|conventions|quelques|(?:what|which) (?:were|are) some)\b", t):
        return "list"
    return "fact"


class QueryBuilder:
    """Builds the standalone `Query` for a question in its conversation.

    >>> QueryBuilder().build("Combien de TI dans le CVL ?").text
    "Combien de TI (Territoires d'industrie) dans le CVL (Centre-Val de Loire) ?"
    """

    def __init__(self, glossary: Glossary | None = None) -> None:
        self._glossary = glossary

    @property
    def glossary(self) -> Glossary:
        if self._glossary is None:
            self._glossary = Glossary.load()
        return self._glossary

    def build(self, question: str, history: list[dict[str, str]] | None = None) -> Query:
        from knowledge.regions import find_regions

        question = " ".join(question.split())
        language = detect_language(question)
        previous = ""
        for message in reversed(history or []):
            if message.get("role") == "user" and message.get("content", "").strip():
                previous = " ".join(message["content"].split())
                break
        followup = bool(previous) and self._is_followup(question)
        asked = _complete_count(question, previous) if followup else question
        base = f"{previous} {asked}" if followup else question
        text, acronyms = self._expand(base, language)
        focus = self._expand(asked, language)[0] if followup else text
        if followup and _PRONOUNS.search(question):
            # "who was its president?" after "What is the AdCF?": the pronoun stands for the AdCF
            named = _names(previous, self.glossary)
            if named:
                focus = f"{focus} {' '.join(named)}"
        # "Et en Centre-Val de Loire ?" after a question about Grand Est is about Centre-Val de Loire only.
        regions = (find_regions(focus) if followup else []) or find_regions(text)
        kind = _question_kind(question)
        if followup and kind == "fact":
            kind = _question_kind(previous)
        return Query(
            question=question,
            text=text,
            language=language,
            kind=kind,
            regions=regions,
            acronyms=acronyms,
            followup=followup,
            previous_question=previous if followup else "",
            focus=focus,
        )

    def _expand(self, text: str, language: str) -> tuple[str, list[str]]:
        expanded, acronyms = self.glossary.expand_acronyms(text)
        extra = self.glossary.french_terms(text) if language == "en" else []
        extra += digits_for_number_words(text) + self.glossary.synonyms_in(text)
        return expanded + ((" " + " ".join(extra)) if extra else ""), acronyms

    @staticmethod
    def _is_followup(question: str) -> bool:
        from knowledge.lexical import FrenchAnalyzer

        if len(FrenchAnalyzer()(question)) <= 2:  # "Pendant combien de temps ?": nothing to search on its own
            return True
        words = _WORD.findall(question)
        if _FOLLOWUP_START.search(question) and len(words) <= 12:
            return True
        return bool(_PRONOUNS.search(question)) and len(words) <= 10


_ELLIPTICAL_COUNT = re.compile(
    r"\b(how many|combien)(?=\s+(?:had|have|has|were|are|was|did|do|of them|d['’]entre (?:eux|elles)|ont|sont|"
    r"l['’]ont|en)\b)",
    re.IGNORECASE,
)
_COUNTED_NOUN = re.compile(r"\b(?:how many|combien de|combien d['’]|number of|nombre de|nombre d['’])\s*([^\W\d_]+)", re.I)


def _complete_count(question: str, previous: str) -> str:
    """'how many had received a commitment?' after 'How many projects ...?' -> 'how many projects had ...'."""
    noun = _COUNTED_NOUN.search(previous)
    if not noun:
        return question
    joiner = " de " if noun.group(0).lower().startswith(("combien", "nombre")) else " "
    return _ELLIPTICAL_COUNT.sub(lambda m: f"{m.group(1)}{joiner}{noun.group(1)}", question, count=1)


def _names(text: str, glossary: Glossary) -> list[str]:
    """The acronyms and capitalised names of a question (not its first word): what a later pronoun may stand for."""
    words = re.findall(r"[^\W\d_][\w'’-]*", text)
    return list(dict.fromkeys(
        w for i, w in enumerate(words)
        if w in glossary.acronyms or (i > 0 and w[0].isupper())
    ))


_SECOND_QUESTION = re.compile(
    r"(?:,\s*|\s+)(?:and|et)\s+(?=(?:who|what|how|when|where|which|qui|que|quel|quelle|quels|quelles|combien|"
    r"quand|où|comment)\b)",
    re.IGNORECASE,
)


def split_question(question: str) -> list[str]:
    """A question that asks two things, split in two: 'What is the AdCF, and who was its president?'
    -> ['What is the AdCF?', 'who was its president?']. One part when it asks one thing.

    >>> split_question("How many projects were drawn up, and how many received a commitment?")
    ['How many projects were drawn up?', 'how many received a commitment?']
    """
    match = _SECOND_QUESTION.search(question)
    if not match or match.start() < 8 or len(question) - match.end() < 8:
        return [question]
    first = question[: match.start()].rstrip(" ,;") + "?"
    return [first, question[match.end() :].strip()]
