"""The default answerer: no LLM, it answers with the documents' own sentences.

It scores every sentence and list item of the retrieved passages against the
question (embedding similarity + weighted term overlap + what the question asks
for: a number, a date, a list...), then composes a short answer from the best
units, each cited by the exact span it quotes. When sources disagree on a figure
it shows each figure with its source and date, latest first. When nothing
answers the question, it says so (abstains).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from assistant.answer import Answer, Citation, Passage
from assistant.answerer import AnswerRequest
from assistant.cues import (
    CLAUSE,
    DAY_MONTH,
    DEADLINE,
    DEADLINE_Q,
    DEFINES,
    DURATION,
    DURATION_Q,
    ENGLISH_TITLE_WORDS,
    EVOLUTION,
    FIGURE,
    GENERAL_ASK,
    GENERIC_STEMS,
    HAS_DATE,
    HAS_MONEY,
    HAS_NUMBER,
    HAS_YEAR,
    INLINE_LIST,
    NAMED_PLACE,
    NAME_Q,
    NATIONAL,
    NUMBERED_STAGE,
    ORDINAL_Q,
    ORDINAL_WORDS,
    PARTITIVE,
    PERSON_NAME,
    PLACE,
    PLACE_MENTION,
    PRECISE_DATE_Q,
    RANK_Q,
    REGIONAL,
    ROLE,
    ROLE_Q,
    SINGULAR,
    UNTIL,
    date_precision,
    ordinal_mentions,
    stated_counts,
)
from assistant.reading import DocumentReader, bigrams
from assistant.units import Unit, UnitIndex
from knowledge.docstore import StoredDocument
from knowledge.lexical import FrenchAnalyzer, fold
from knowledge.schemes import phase_numbers

__all__ = ["ExtractiveAnswerer", "format_date", "NOT_FOUND"]

NOT_FOUND = {
    "fr": "Je n'ai pas trouvé la réponse à cette question dans les documents disponibles.",
    "en": "I could not find the answer to this question in the available documents.",
}
_CLOSEST = {
    "fr": "Le passage le plus proche, qui ne répond pas à la question : « {quote} » ({title}, {date}).",
    "en": "The closest passage, which does not answer the question: « {quote} » ({title}, {date}).",
}
_CONFLICT = {
    "fr": "Les sources ne donnent pas le même chiffre ; du plus récent au plus ancien :",
    "en": "The sources do not give the same figure; from the latest to the oldest:",
}
_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "en": "January February March April May June July August September October November December".split(),
}
_UNDATED = {"fr": "non daté", "en": "undated"}

def format_date(value: str | None, language: str) -> str:
    """'2019-09-24' -> '24 septembre 2019' / '24 September 2019'; partial dates kept partial."""
    if not value:
        return _UNDATED[language]
    parts = value.split("-")
    try:
        if len(parts) == 1:
            return parts[0]
        month = _MONTHS[language][int(parts[1]) - 1]
        if len(parts) == 2:
            return f"{month} {parts[0]}"
        return f"{int(parts[2])} {month} {parts[0]}"
    except (ValueError, IndexError):
        return value


# "combien de territoires", "how many industrial territories": the counted noun phrase.
_COUNTED = re.compile(
    r"\b(?:combien\s+(?:[\w-]+\s+){0,3}?(?:de|d')\s*|nombre\s+(?:de|d')\s*|(?P<en>how many\s+|number of\s+))"
    r"(?P<words>[a-z]+(?:\s+[a-z]+){0,3})"
)
# "quels grands axes", "which new territories": the named noun phrase of a which/what question.
_NAMED = re.compile(
    r"\b(?:quel|quelle|quels|quelles|(?P<en>which|what))\s+(?:are\s+the\s+|were\s+the\s+|sont\s+les\s+)?"
    r"(?:(?:grands?|grandes?|principa(?:l|ux|les?)|differents?|differentes?|nouveaux|nouvelles?|main|"
    r"big|new|first|three|four|five|two|trois|quatre|cinq|deux|\d+)\s+)*"
    r"(?!est\b|sont\b|is\b|are\b|was\b|were\b)(?P<words>[a-z]+(?:\s+[a-z]+){0,2})"
)
# Where an English noun phrase ends.
_ENGLISH_STOP = frozenset(
    """are were is was did do does have has had in of on at there will would can could the to for from by with
    and or that which who joined signed been be""".split()
)


@dataclass
class _Scored:
    unit: Unit
    doc: StoredDocument
    score: float
    dense: float
    lexical: float
    passage: Passage


class ExtractiveAnswerer:
    """Answers from the passages' own sentences.

    >>> answerer = ExtractiveAnswerer(UnitIndex(kb))
    >>> answerer.answer(request).text
    """

    name = "extractive"
    # Below this combined score the best sentence is not taken as an answer.
    threshold = 0.42

    def __init__(self, units: UnitIndex, analyzer: FrenchAnalyzer | None = None) -> None:
        self.units = units
        self.analyzer = analyzer or FrenchAnalyzer()
        self._df: Counter[str] | None = None
        self._n_units = 0
        self._vocab_key: tuple[str, ...] = ()
        self._words: set[str] = set()
        self._folded_texts: list[str] = []
        self.reader = DocumentReader(units, self.analyzer)

    # -- corpus statistics -----------------------------------------------------------
    def _stats(self) -> None:
        key = tuple(sorted(d.doc_id for d, _, _ in self.units.all()))
        if key == self._vocab_key and self._df is not None:
            return
        df: Counter[str] = Counter()
        words: set[str] = set()
        n = 0
        self._folded_texts = [fold(doc.text) for doc, _, _ in self.units.all()]
        for doc, units, _ in self.units.all():
            words.update(fold(w) for w in re.findall(r"[^\W\d_]+", doc.text))
            for u in units:
                df.update(set(self.analyzer(u.text)))
                n += 1
        self._df, self._n_units, self._vocab_key, self._words = df, n, key, words

    def _idf(self, term: str) -> float:
        assert self._df is not None
        return math.log(1 + (self._n_units + 1) / (self._df.get(term, 0) + 0.5))

    # -- scoring ---------------------------------------------------------------------
    def _candidates(self, request: AnswerRequest) -> list[tuple[Unit, StoredDocument, np.ndarray, Passage]]:
        out = []
        seen: set[tuple[str, int]] = set()
        for passage in request.passages:
            try:
                doc, units, vectors = self.units.document(passage.doc_id)
            except KeyError:
                continue
            for u, v in zip(units, vectors, strict=True):
                if u.end > passage.start and u.start < passage.end and (u.doc_id, u.index) not in seen:
                    seen.add((u.doc_id, u.index))
                    out.append((u, doc, v, passage))
        # The rest of the retrieved documents too: the answer is often a few lines away from the
        # chunk that matched. These units carry no chunk of their own (chunk_id "", rank 0).
        for passage in {p.doc_id: p for p in reversed(request.passages)}.values():
            doc, units, vectors = self.units.document(passage.doc_id)
            outside = replace(passage, chunk_id="", rank=0)
            for u, v in zip(units, vectors, strict=True):
                if (u.doc_id, u.index) not in seen:
                    seen.add((u.doc_id, u.index))
                    out.append((u, doc, v, outside))
        return out

    def _coverage(
        self,
        terms: list[str],
        unit_terms: set[str],
        boost: set[str] | frozenset[str] = frozenset(),
        damp: set[str] | frozenset[str] = frozenset(),
    ) -> float:
        """Share of the query terms' weight (idf, doubled for `boost` terms, a third for `damp` ones) found in a unit."""
        weights = {t: self._idf(t) * (2.0 if t in boost else 1 / 3 if t in damp else 1.0) for t in terms}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in unit_terms) / total if total else 0.0

    def _terms(self, text: str) -> list[str]:
        return [
            t for t in dict.fromkeys(self.analyzer(text)) if self._df and t in self._df and t not in GENERIC_STEMS
        ]

    def _missing_weight(self, request: AnswerRequest) -> float:
        """The idf weight of a French question's words that no document contains ('impôt', 'crêpes').

        English questions are skipped: their English words are expected to be absent from French documents.
        """
        if request.language != "fr":
            return 0.0
        assert self._df is not None
        top = math.log(1 + (self._n_units + 1) / 0.5)
        return sum(
            top
            for t in dict.fromkeys(self.analyzer(request.focus or request.question))
            if t not in self._df and t not in GENERIC_STEMS
        )

    def _score(self, request: AnswerRequest, qvec: np.ndarray) -> list[_Scored]:
        self._stats()
        # The regions a question names say where to look, not what to find: they weigh as a filter
        # (every sentence of a document about the region has them), the other words as the content.
        region_terms = self._region_terms(request.regions)
        q_terms = self._terms(request.query)
        f_terms = self._terms(request.focus) if request.focus and request.focus != request.query else []
        boost: set[str] = set()
        if request.language == "en":  # the French words an English question maps to carry its meaning
            from assistant.query import Glossary

            boost = set(self.analyzer(" ".join(Glossary.load().french_terms(request.focus or request.question))))
        missing = self._missing_weight(request)
        q_weight = sum(self._idf(t) for t in q_terms)
        shrink = q_weight / (q_weight + missing) if q_weight + missing else 0.0
        # Adjacent pairs of the question's own words: a phrase match ("président de l'AdCF") beats
        # the same words scattered through a long sentence.
        q_pairs = bigrams(self.analyzer(request.question))
        if request.language == "en":  # "first general assembly" -> "assemblée générale"
            from assistant.query import Glossary

            for phrase in Glossary.load().french_terms(request.focus or request.question):
                q_pairs |= bigrams(self.analyzer(phrase))
        name_pairs = self._name_pairs(request.question, skip=region_terms)
        rare_names = self._rare_names(request.question, skip=region_terms)
        until = bool(UNTIL.search(request.question))  # "jusqu'à quand ?" wants an end date
        years = set(HAS_YEAR.findall(request.question))
        q_stages = phase_numbers(request.question)
        rank_q = bool(RANK_Q.search(request.question))
        duration = bool(DURATION_Q.search(request.question))
        count_focus = self._focus_stem(request)
        list_focus = count_focus if request.kind in ("list", "scheme") else None
        q_counts = stated_counts(request.focus or request.question, self._stem_fr, count_focus) if count_focus else set()
        q_ordinals = ordinal_mentions(request.focus or request.question, self._stem_fr)
        wants_role = request.kind == "person" or bool(ROLE_Q.search(request.question))
        scored = []
        for unit, doc, vec, passage in self._candidates(request):
            dense = float(np.dot(qvec, vec))
            tokens = self.reader.tokens(unit)
            # The region a document is about is said once, in its title: every sentence of it speaks of it.
            _, subject_terms, subject_pairs = self.reader.subject(doc)
            u_terms = set(tokens) | subject_terms
            unit_pairs = bigrams(tokens) | subject_pairs
            heading = self.reader.heading(unit)
            ctx_terms = u_terms | set(self.reader.tokens(heading)) if heading else u_terms
            if unit.intro:
                ctx_terms = ctx_terms | self.reader.list_terms(unit)
            elif unit.kind == "item":
                intro = self.reader.intro_of(unit)
                if intro is not None:
                    ctx_terms = ctx_terms | set(self.reader.tokens(intro))
            elif (antecedent := self.reader.antecedent(unit)) is not None:
                ctx_terms = ctx_terms | set(self.reader.tokens(antecedent))
                unit_pairs = unit_pairs | bigrams(self.reader.tokens(antecedent))
            elif (before := self.reader.previous_sentence(unit)) is not None:
                # "Etaient notamment présents Jean-Luc Rigaut, ..." is about the assembly the sentence before names
                ctx_terms = ctx_terms | set(self.reader.tokens(before))
            lexical = max(
                self._coverage(q_terms, u_terms, boost, region_terms),
                0.85 * self._coverage(q_terms, ctx_terms, boost, region_terms),
            )
            if f_terms:
                lexical = 0.4 * lexical + 0.6 * self._coverage(f_terms, ctx_terms, boost, region_terms)
            lexical *= shrink
            if region_terms and not region_terms <= ctx_terms:
                lexical *= 0.85
            dense_n = min(max((dense - 0.76) / 0.14, 0.0), 1.0)
            score = 0.45 * dense_n + 0.55 * lexical
            if q_pairs:
                score += 0.15 * len(q_pairs & unit_pairs) / len(q_pairs)
            if name_pairs:  # "France industrie", "Régions de France": a name is matched whole or not at all
                score += 0.1 * min(2, len(name_pairs & unit_pairs))
            if rare_names:  # "Pithiviers", "Salbris": a name few sentences hold points at them
                score += 0.15 * min(2, len(rare_names & u_terms))
            score += 0.04 / passage.rank if passage.rank else -0.05
            score -= 0.04 * max(0.0, len(unit.text) / 350 - 1)
            if unit.kind == "heading" or self.reader.is_title_like(unit, doc):
                score -= 0.15
            elif len(tokens) <= 3 and unit.kind != "item" and not unit.intro:
                score -= 0.15  # "Territoires d'industrie :" says nothing by itself
            if q_stages and (stages := self.reader.stages(unit)):
                # "phase 1" asked: a sentence (or list) about the first phase, not the second
                score += 0.08 if stages & q_stages else -0.15
            if years and (doc.date or "")[:4] not in years and not any(y in unit.text for y in years):
                score -= 0.08
            if request.kind == "number" and (DURATION if duration else HAS_NUMBER).search(unit.text):
                score += 0.15 if duration else 0.08
            if request.kind == "amount" and HAS_MONEY.search(unit.text):
                score += 0.1
            if request.kind == "place" and PLACE.search(unit.text):
                score += 0.08
            if request.kind == "definition":
                # "Ceux-ci sont des ..." defines; a late "vise à" less so; a sentence that only names the thing, not at all
                defines = DEFINES.search(unit.text)
                score += (0.3 if defines.start() < 40 else 0.1) if defines else -0.15
            if rank_q:  # "quel rang ?" is answered by an ordinal ("deuxième région industrielle") or not at all
                score += 0.12 if ORDINAL_WORDS.search(unit.text) else -0.1
            if q_ordinals and (ranks := self.reader.ordinal_agreement(q_ordinals, unit)):
                # "la deuxième assemblée" is not "la première assemblée"; a sentence that ranks nothing is read
                # with the one before it ("... la première assemblée générale ... Etaient notamment présents ...")
                score += 0.1 if True in ranks else -0.15
            if wants_role and ROLE.search(unit.text):
                score += 0.1  # "François Blouvac, responsable du programme à la Banque des Territoires"
            if q_counts and (u_counts := self.reader.counts_of(unit, count_focus)):
                score += 0.1 if u_counts & q_counts else -0.12  # "which three territories" is not "12 territoires :"
            if request.kind == "date":
                score += date_precision(unit.text)
                if until and UNTIL.search(unit.text):
                    score += 0.1
            if request.kind == "list" and unit.kind == "sentence" and INLINE_LIST.search(unit.text):
                score += 0.06  # "... trois nouveaux Territoires d'industrie : Vendée-Est ; Lamballe ... ; Saint-Brieuc ..."
            if request.kind in ("list", "scheme") and (unit.intro or unit.kind == "item"):
                score += 0.06
                intro = unit if unit.intro else self.reader.intro_of(unit)
                if list_focus and intro is not None and list_focus in self.reader.tokens(intro):
                    score += 0.2  # the list the question names: "quels axes ?" -> "4 axes majeurs :" and its items
            scored.append(_Scored(unit, doc, score, dense, lexical, passage))
        scored.sort(key=lambda s: -s.score)
        return scored

    def _name_pairs(self, question: str, skip: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
        """Adjacent term pairs of the question that hold a capitalised word (not the first word):
        'qui représentait France industrie ?' -> {('represent', 'franc'), ('franc', 'industri')}.
        Names in `skip` (the regions, which weigh as a filter) make no pairs."""
        words = re.findall(r"[^\W\d_][\w'’-]*", question)
        pairs: set[tuple[str, str]] = set()
        for i, word in enumerate(words):
            stems = self.analyzer(word) if i > 0 and word[0].isupper() else []
            if stems and stems[0] not in skip:  # the window skips stop words: "Régions de France" -> ('region', 'franc')
                window = bigrams(self.analyzer(" ".join(words[max(0, i - 2) : i + 3])))
                pairs |= {pair for pair in window if stems[0] in pair}
        return pairs

    def _rare_names(self, question: str, skip: frozenset[str] = frozenset()) -> set[str]:
        """Stems of the question's capitalised words (not the first) that at most two units contain."""
        assert self._df is not None
        words = re.findall(r"[^\W\d_][\w'’-]*", question)
        return {
            stem
            for i, word in enumerate(words)
            if i > 0 and word[0].isupper()
            for stem in self.analyzer(word)
            if stem not in skip and 0 < self._df.get(stem, 0) <= 2
        }

    def _stem_fr(self, word: str) -> str:
        """The stem of a word, an English one through its French translation: 'territories' -> 'territoir'."""
        from assistant.query import Glossary

        word = Glossary.load().en_fr.get(word.lower(), word).split()[0]
        return (self.analyzer(word) or [""])[0]

    def _region_terms(self, regions: list[str]) -> frozenset[str]:
        from assistant.query import Glossary

        names = set(regions) | {a for a, e in Glossary.load().acronyms.items() if e in regions}
        return frozenset(t for name in names for t in self.analyzer(name))

    # -- abstention ------------------------------------------------------------------
    def _unknown_names(self, question: str) -> list[str]:
        """Capitalised words of the question that no document contains (e.g. 'Australia', 'Lyon')."""
        from assistant.query import Glossary

        glossary = Glossary.load()
        acronyms = {a.lower() for a in glossary.acronyms}
        english_terms = {w for key in glossary.en_fr for w in key.split()}
        unknown = []
        for m in re.finditer(r"[^\W\d_][^\W\d_'’-]*", question):
            w = m.group(0)
            before = question[: m.start()].rstrip()
            if not before or before[-1] in ".?!:;":
                continue  # the first word of a sentence ("... in autumn 2019? Please give ...")
            if not w[0].isupper() or w.lower() in acronyms or len(w) < 3:
                continue
            if w.lower() in ENGLISH_TITLE_WORDS or w.lower() in english_terms:
                continue
            if fold(w) not in self._words:
                unknown.append(w)
        return unknown

    def _only_places_understood(self, request: AnswerRequest) -> bool:
        """An English question of which nothing is understood but a place: 'What will the weather be like
        in Orléans tomorrow?' (no word of the field, no acronym; 'Orléans' alone matches the documents).

        French questions are covered by `_missing_weight`; follow-ups carry the earlier question's words.
        """
        if request.language != "en" or request.focus != request.query:
            return False
        from assistant.query import Glossary

        glossary = Glossary.load()
        if glossary.french_terms(request.question) or glossary.expand_acronyms(request.question)[1]:
            return False
        if GENERAL_ASK.search(request.question):
            return False  # "What happened in Issoudun?", "Tell me about Orléans": the place is the question
        places = {m.group(1) for m in PLACE_MENTION.finditer(request.question)}
        known = [w for w in re.findall(r"[^\W\d_]{3,}", request.question) if fold(w) in self._words]
        return all(any(w in p for p in places) for w in known)

    def _unknown_stages(self, request: AnswerRequest) -> list[str]:
        """'phase 3' when no document speaks of a phase 3 (nor of a 'troisième phase')."""
        out = []
        for m in NUMBERED_STAGE.finditer(request.question):
            phrase = fold(m.group(0))
            if not any(phrase in text for text in self._folded_texts):
                out.append(m.group(0))
        return out

    def _off_scope(self, request: AnswerRequest, best: _Scored) -> bool:
        """A national figure was asked for but the sentence gives a regional one (or the region differs)."""
        if NATIONAL.search(request.question) and REGIONAL.search(best.unit.text):
            return True
        if request.regions:
            # In scope: a sentence of a document about the region, or one that names it
            named = self.reader.subject(best.doc).regions | self.reader.regions(best.unit)
            if not any(r in named for r in request.regions):
                return True
        return False

    # -- composing -------------------------------------------------------------------
    def answer(self, request: AnswerRequest) -> Answer:
        return self._compose(request)

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        """Yield the answer text in pieces (each cited sentence, each list line) that join back
        to exactly `answer.text`, then the `Answer`."""
        answer = self._compose(request)
        for line in answer.text.splitlines(keepends=True):
            for piece in re.split(r"(?<=\] )", line):
                if piece:
                    yield piece
        yield answer

    def _compose(self, request: AnswerRequest) -> Answer:
        lang = request.language if request.language in ("fr", "en") else "fr"
        self.units.refresh()
        if request.kind == "scheme":
            from assistant.schemes import answer_schemes
            from knowledge.schemes import SchemeCatalogue

            schemes = answer_schemes(request, SchemeCatalogue(self.units.kb), self.units.kb, filters=request.filters)
            if schemes is not None:
                return schemes
        qvec = self.units.kb.embedder.embed_query_array(request.query)
        scored = self._score(request, qvec)
        abstain_reason = None
        if scored and request.regions:
            # A sentence about another region is passed over while one about the asked region answers well enough
            in_scope = [s for s in scored if not self._off_scope(request, s)]
            if in_scope and in_scope[0].score >= self.threshold:
                scored = in_scope + [s for s in scored if s not in in_scope]
        if not scored:
            abstain_reason = "no passage"
        else:
            best = scored[0]
            unknown = self._unknown_names(request.question) + self._unknown_stages(request)
            if unknown:
                abstain_reason = "unknown names: " + ", ".join(unknown)
            elif best.score < self.threshold:
                abstain_reason = f"best score {best.score:.2f} < {self.threshold}"
            elif self._only_places_understood(request):
                abstain_reason = "nothing but a place name understood"
            elif self._off_scope(request, best):
                abstain_reason = "off scope"
        if abstain_reason is not None:
            return self._abstain(request, lang, scored, abstain_reason)

        if DEADLINE_Q.search(request.question) and not any(DEADLINE.search(s.unit.text) for s in scored[:5]):
            return self._abstain(request, lang, scored, "no deadline in the best passages")
        if NAME_Q.search(request.question) and not PERSON_NAME.search(scored[0].unit.text):
            return self._abstain(request, lang, scored, "no name in the best passage")
        # "la semaine dernière" does not answer "à quelle date précise ?", nor a sentence with no place "où ?"
        needed = {"date": DAY_MONTH if PRECISE_DATE_Q.search(request.question) else HAS_DATE, "place": NAMED_PLACE}
        if request.kind in needed:
            answering = self._with_pattern(request, scored, needed[request.kind])
            if not answering:
                return self._abstain(request, lang, scored, f"no {request.kind} in the best passages")
            scored = [answering[0]] + [s for s in scored if s is not answering[0]]
        if request.kind in ("number", "amount"):
            duration = bool(DURATION_Q.search(request.question))
            pattern = HAS_MONEY if request.kind == "amount" else DURATION if duration else HAS_NUMBER
            focus = self._count_stem(request) if request.kind == "number" and not duration else None
            if focus and self._df is not None and focus not in self._df:
                focus = None  # an English or unknown word: cannot be checked in French sentences
            with_figure = [
                s for s in scored[:10]
                if pattern.search(s.unit.text) and s.score >= scored[0].score - 0.2
                and (focus is None or self.reader.speaks_of(s.unit, focus))
                # an amount of something else: "l'enveloppe d'ingénierie" is not "une enveloppe de 100 M€ ... pour investir"
                and (request.kind != "amount" or (s.lexical >= 0.8 * scored[0].lexical and s.score >= scored[0].score - 0.15))
            ]
            if not with_figure:
                return self._abstain(request, lang, scored, "no figure in the best passages")
            if focus:  # "136 Territoires" answers "combien de territoires" better than "6 mars ... Territoires"
                with_figure.sort(key=lambda s: (self.reader.figure_for(s.unit, focus) is None, -s.score))
            # A figure for another region (or a regional one for a national question) is no answer.
            in_scope = [s for s in with_figure if not self._off_scope(request, s)]
            if not in_scope:
                return self._abstain(request, lang, with_figure + [s for s in scored if s not in with_figure], "off scope")
            scored = in_scope + [s for s in scored if s not in in_scope]
        if scored[0].unit.kind == "heading":
            body = [s for s in scored if s.unit.doc_id == scored[0].unit.doc_id and s.unit.kind != "heading"
                    and self.reader.heading(s.unit) == scored[0].unit]
            if body:
                scored = [body[0]] + [s for s in scored if s is not body[0]]
        if request.kind == "list" and scored[0].unit.kind == "sentence" and not scored[0].unit.intro:
            # "Trois nouveaux territoires rejoignent le programme" says how many; the answer names them.
            focus = self._focus_stem(request)
            naming = [
                s for s in scored[1:15]
                if s.score >= scored[0].score - 0.2 and INLINE_LIST.search(s.unit.text)
                and (focus is None or focus in self.reader.tokens(s.unit))
            ]
            if naming and not INLINE_LIST.search(scored[0].unit.text):
                scored = [naming[0]] + [s for s in scored if s is not naming[0]]
        conflict = self._conflict(request, scored) if request.kind in ("number", "amount", "date", "fact", "person") else None
        if conflict:
            return self._conflict_answer(request, lang, conflict)
        spans = self._select(request, scored)
        return self._single_answer(request, lang, scored[0], spans)

    def _select(self, request: AnswerRequest, scored: list[_Scored]) -> list[Unit]:
        best = scored[0]
        _, units, _ = self.units.document(best.unit.doc_id)
        wants_list = request.kind in ("list", "scheme") and not SINGULAR.search(request.question)
        if best.unit.intro or (best.unit.kind == "item" and wants_list):
            list_start = best.unit.index + 1 if best.unit.intro else best.unit.list_id
            items = [u for u in units if u.list_id == list_start]
            intro = units[list_start - 1] if list_start > 0 and units[list_start - 1].intro else None
            if SINGULAR.search(request.question) and items:
                terms = self._terms(request.focus or request.question)
                return [max(items, key=lambda u: (self._coverage(terms, set(self.analyzer(u.text))), -u.index))]
            return ([intro] if intro else []) + items
        following = units[best.unit.index + 1] if best.unit.index + 1 < len(units) else None
        if wants_list and following is not None and following.intro:
            # "de nombreux projets ont été portés [...]. On peut citer comme exemple :" and its list
            items = [u for u in units if u.list_id == following.index + 1]
            return [best.unit, following, *items]
        before = self.reader.previous_sentence(best.unit)
        if before is not None and PARTITIVE.search(best.unit.text):
            return [before, best.unit]  # "231 d'entre eux" needs the sentence that says of what
        return [best.unit]

    def _citation(self, n: int, s: _Scored, start: int, end: int) -> Citation:
        return Citation(
            n=n,
            source=s.doc.source,
            doc_id=s.doc.doc_id,
            title=s.doc.title,
            date=s.doc.date,
            page=s.doc.page_at(start),
            quote=s.doc.text[start:end],
            start=start,
            end=end,
            score=round(s.score, 4),
            chunk_id=s.passage.chunk_id,
        )

    def _trim(
        self, request: AnswerRequest, unit: Unit, max_len: int = 240, must: tuple[int, int] | None = None
    ) -> tuple[int, int]:
        """The part of a long sentence that answers: a window of whole clauses, as document offsets.

        `must`: a span (offsets within the unit) the window has to contain, e.g. a figure.
        """
        if len(unit.text) <= max_len:
            return unit.start, unit.end
        cuts = [0] + [m.end() for m in CLAUSE.finditer(unit.text)] + [len(unit.text)]
        clauses = [unit.text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
        clause_terms = [set(self.analyzer(c)) for c in clauses]
        terms = self._terms(request.focus or request.query)
        role = bool(ROLE_Q.search(request.question))
        best, best_span = -1e9, (0, len(unit.text))
        for i in range(len(clauses)):
            seen: set[str] = set()
            for j in range(i, len(clauses)):
                a, b = cuts[i], cuts[j + 1]
                if b - a > max_len and j > i:
                    break
                seen |= clause_terms[j]
                if must and not (a <= must[0] and must[1] <= b):
                    continue
                piece = unit.text[a:b]
                value = self._coverage(terms, seen)
                if request.kind == "number" and HAS_NUMBER.search(piece):
                    value += 0.3
                if request.kind == "amount" and HAS_MONEY.search(piece):
                    value += 0.3
                if request.kind == "date" and HAS_DATE.search(piece):
                    value += 0.3
                if role and ROLE.search(piece):
                    value += 0.3  # "François Blouvac, responsable du programme", not "souligne François Blouvac"
                if request.kind == "person" and PERSON_NAME.search(piece):
                    value += 0.3  # "Hervé Morin, président de Régions de France", not "président de Régions de France"
                    if PERSON_NAME.match(piece.lstrip(" *")):
                        value += 0.1  # the name that the role after it belongs to
                value -= 0.0005 * len(piece)
                if value > best:
                    best, best_span = value, (a, b)
        a, b = best_span
        piece = unit.text[a:b]
        a += len(piece) - len(piece.lstrip(" ,;:–-("))
        b -= len(piece) - len(piece.rstrip(" ,;:–-("))
        return unit.start + a, unit.start + b

    def _with_pattern(self, request: AnswerRequest, scored: list[_Scored], pattern: re.Pattern[str]) -> list[_Scored]:
        """The best units (close to the best in score and in matched words) whose quoted part has the pattern."""
        best = scored[0]
        return [
            s for s in scored[:3]
            if s.score >= best.score - 0.2 and s.lexical >= 0.75 * best.lexical
            and pattern.search(self._answer_piece(request, s.unit).lstrip("-•*– "))
        ]

    def _answer_piece(self, request: AnswerRequest, unit: Unit) -> str:
        """The part of a unit an answer would quote (a long sentence is trimmed to what answers)."""
        start, end = self._trim(request, unit, max_len=320)
        return unit.text[start - unit.start : end - unit.start]

    def _quote_text(self, doc: StoredDocument, unit: Unit, start: int, end: int) -> str:
        body = doc.text[start:end].strip()
        return ("… " if start > unit.start else "") + body + (" …" if end < unit.end else "")

    def _single_answer(self, request: AnswerRequest, lang: str, best: _Scored, spans: list[Unit]) -> Answer:
        if len(spans) == 1:
            stem = self._count_stem(request) if request.kind == "number" else None
            figure = self.reader.figure_for(spans[0], stem) if stem else None
            must = figure[1] if figure else None
            if request.kind == "definition" and (defines := DEFINES.search(spans[0].text)) and defines.start() < 40:
                must = (0, defines.end())  # "Ceux-ci sont des intercommunalités ...": keep the definition's start
            max_len = {"list": 600, "definition": 420}.get(request.kind, 320)
            start, end = self._trim(request, spans[0], max_len=max_len, must=must)
            citation = self._citation(1, best, start, end)
            body = self._quote_text(best.doc, spans[0], start, end)
            intro = self.reader.intro_of(spans[0]) if spans[0].kind == "item" else None
            if intro is not None:
                # A list item means little alone: "- Issoudun" is one of "12 territoires sont lauréats ... :"
                lead = self._citation(1, best, intro.start, intro.end)
                head = intro.text.strip()
                if lang == "en":
                    text = f"{self._according(best.doc)}« {head} » [1]\n« {body} » [2]"
                else:
                    text = f"{head} [1]\n{body} [2]"
                return self._answer(request, lang, text, [lead, replace(citation, n=2)], abstained=False)
            if lang == "en":
                text = f"{self._according(best.doc)}« {body} » [1]"
            else:
                text = f"{body} [1]"
        else:
            start, end = spans[0].start, spans[-1].end
            citation = self._citation(1, best, start, end)
            head = " ".join(s.text.strip() for s in spans if s.kind != "item")  # the intro, and the sentence before it
            items = [s.text.strip() for s in spans if s.kind == "item"]
            prefix = self._according(best.doc) if lang == "en" else ""
            if not items:
                text = f"{prefix}« {head} » [1]" if lang == "en" else f"{head} [1]"
            elif head:
                text = f"{prefix}{head} [1]\n" + "\n".join(items)
            else:
                text = f"{prefix}[1]\n" + "\n".join(items)
        return self._answer(request, lang, text, [citation], abstained=False)

    @staticmethod
    def _according(doc: StoredDocument) -> str:
        if doc.date:
            return f"According to the source ({format_date(doc.date, 'en')}): "
        return "According to the source: "

    def _count_stem(self, request: AnswerRequest) -> str | None:
        """What a 'how many' question counts: 'combien de territoires' -> 'territoir' (None for 'how long')."""
        return self._noun_stem(_COUNTED.search(fold(request.focus or request.question)))

    def _focus_stem(self, request: AnswerRequest) -> str | None:
        """The thing a question counts or names: 'combien de territoires', 'quels grands axes' -> 'territoir', 'ax'."""
        text = fold(request.focus or request.question)
        return self._noun_stem(_COUNTED.search(text) or _NAMED.search(text))

    def _noun_stem(self, match: re.Match[str] | None) -> str | None:
        """The stem of the noun a _COUNTED or _NAMED match ends on. English puts adjectives first
        ('how many industrial territories'), French after ('combien de territoires industriels')."""
        if not match:
            return None
        words = match.group("words").split()
        if match.group("en"):
            words = list(itertools.dropwhile(lambda w: w in ("the", "a", "an", "of"), words)) or words
            words = list(itertools.takewhile(lambda w: w not in _ENGLISH_STOP, words)) or words[:1]
            word = words[-1]
        else:
            word = words[0]
        if word in ("temps", "time", "fois", "times"):
            return None
        from assistant.query import Glossary

        word = Glossary.load().en_fr.get(word, word).split()[0]
        stems = self.analyzer(word)
        return stems[0] if stems else None

    def _conflict(
        self, request: AnswerRequest, scored: list[_Scored]
    ) -> list[tuple[_Scored, str, tuple[int, int]]] | None:
        """Different figures for the same thing in different documents -> [(unit, figure)], latest first."""
        best = scored[0]
        focus = self._count_stem(request) or self._focus_stem(request)
        if not focus:
            # No counted noun: take one from the best sentence's figures that the question names
            # ("le deuxième ou le troisième comité ?" -> the ordinal figures' "comité").
            q_stems = set(self.analyzer(request.question))
            ordinal = bool(ORDINAL_WORDS.search(request.question) or ORDINAL_Q.search(request.question))
            if not ordinal and request.kind not in ("number", "amount"):
                return None  # "qu'ont créé les territoires ?" asks for no figure of territories
            focus = next(
                (
                    stem
                    for m in FIGURE.finditer(best.unit.text)
                    if not ordinal or (m.group(2) or "").lower() in ("e", "ème", "eme", "er", "re")
                    for stem in self.analyzer(m.group(3))[:1]
                    if stem in q_stems
                ),
                None,
            )
        if not focus:
            return None
        evolution = bool(EVOLUTION.search(fold(request.question)))  # "how did the count change?": every figure
        by_doc: dict[str, tuple[_Scored, str, tuple[int, int]]] = {}
        for s in scored[:20 if evolution else 15]:
            if s.score < best.score - (0.35 if evolution else 0.25) or s.unit.kind == "heading":
                continue
            if not evolution and s.lexical < 0.75 * best.lexical:
                continue
            if request.regions and not any(r in self.reader.regions(s.unit) for r in request.regions):
                continue
            if s.doc.doc_id in by_doc:
                continue
            for m in FIGURE.finditer(s.unit.text):
                value, suffix, noun = m.group(1), (m.group(2) or ""), m.group(3)
                if (self.analyzer(noun) or [""])[0] == focus:
                    by_doc[s.doc.doc_id] = (s, f"{value}{suffix}".replace(" ", ""), (m.start(), m.end()))
                    break
        chosen = list(by_doc.values())
        if len(chosen) < 2 or len({v for _, v, _ in chosen}) < 2 or best.doc.doc_id not in by_doc:
            return None
        chosen.sort(key=lambda svm: svm[0].doc.date or "", reverse=True)
        return chosen

    def _conflict_answer(
        self, request: AnswerRequest, lang: str, chosen: list[tuple[_Scored, str, tuple[int, int]]]
    ) -> Answer:
        lines = [_CONFLICT[lang]]
        citations = []
        for n, (s, value, figure) in enumerate(chosen, start=1):
            start, end = self._trim(request, s.unit, max_len=160, must=figure)
            citations.append(self._citation(n, s, start, end))
            body = self._quote_text(s.doc, s.unit, start, end)
            lines.append(f"- {value} ({format_date(s.doc.date, lang)}) : « {body} » [{n}]")
        return self._answer(request, lang, "\n".join(lines), citations, abstained=False)

    def _abstain(self, request: AnswerRequest, lang: str, scored: list[_Scored], reason: str) -> Answer:
        text = NOT_FOUND[lang]
        if scored and not reason.startswith("unknown names") and scored[0].score >= self.threshold - 0.15:
            s = scored[0]
            quote = s.unit.text.strip()
            if len(quote) > 200:
                quote = quote[:197].rsplit(" ", 1)[0] + "…"
            text += " " + _CLOSEST[lang].format(quote=quote, title=s.doc.title, date=format_date(s.doc.date, lang))
        answer = self._answer(request, lang, text, [], abstained=True)
        answer.warnings.append(f"abstained: {reason}")
        return answer

    def _answer(self, request: AnswerRequest, lang: str, text: str, citations: list[Citation], abstained: bool) -> Answer:
        return request.reply(text, citations, abstained=abstained, language=lang, answerer=self.name)
