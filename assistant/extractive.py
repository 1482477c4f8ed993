"""The default answerer: no LLM, it answers with the documents' own sentences.

A reader that learns: the candidates (sentences, list items and whole lists of the
retrieved documents, `assistant.candidates`) get general features (`assistant.features`),
a fitted ranker scores them, a fitted abstainer decides whether the best one answers, and a
fitted gate whether the runner-up adds to it (`assistant.ranker`, trained by `make reader`).
The answer says what was asked first when the chosen quote holds it (`assistant.spans`),
then quotes the chosen candidates, each cited by the exact span it quotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from assistant.answer import Answer, Citation
from assistant.answerer import ANSWER_BUDGET, AnswerRequest
from assistant.candidates import Candidate, gather
from assistant.cues import CLAUSE, FIGURE
from assistant.features import (
    Corpus,
    candidate_features,
    candidate_vectors,
    gate_features,
    question_features,
    set_fitted_similarity,
)
from assistant.question import Question
from assistant.ranker import ReaderModel
from assistant.reading import DocumentReader
from assistant.spans import direct_answer, spans_of
from assistant.units import Unit, UnitIndex
from knowledge.lexical import FrenchAnalyzer, fold

__all__ = ["ExtractiveAnswerer", "QUOTE_LEN", "Reading", "format_date", "list_lines", "NOT_FOUND"]

NOT_FOUND = {
    "fr": "Je n'ai pas trouvé la réponse à cette question dans les documents disponibles.",
    "en": "I could not find the answer to this question in the available documents.",
}
_CLOSEST = {
    "fr": "Le passage le plus proche, qui ne répond pas à la question : « {quote} » ({title}, {date}).",
    "en": "The closest passage, which does not answer the question: « {quote} » ({title}, {date}).",
}
_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "en": "January February March April May June July August September October November December".split(),
}
_UNDATED = {"fr": "non daté", "en": "undated"}
QUOTE_LEN = 320  # a sentence is quoted up to this many characters (a longer one is trimmed to its clauses)
_MAX_QUOTE = {"list": 600, "definition": 420}
_NEXT_WORD = re.compile(r"\s*([\w'’]+)")  # the word after a figure's noun: what the figure counts
_MAX_ITEM = 300  # characters of a list item shown in an answer (the citation holds the whole list)


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


def _item_line(text: str, limit: int = _MAX_ITEM) -> str:
    """A list item as shown: its first sentence, or its first `limit` characters, whichever is shorter."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    end = text.find(". ", 0, limit)
    if end > 40:
        return text[: end + 1] + " …"
    return text[:limit].rsplit(" ", 1)[0] + " …"


def list_lines(items: list[Unit], budget: int = ANSWER_BUDGET) -> list[str]:
    """A list's items as an answer shows them: each shortened, and the rest counted once `budget` characters are used."""
    lines: list[str] = []
    for k, u in enumerate(items):
        if sum(len(line) + 1 for line in lines) > budget:
            return [*lines, f"… (+{len(items) - k})"]
        lines.append(_item_line(u.text))
    return lines


@dataclass
class Reading:
    """A question read against its candidates: what the ranker and the abstainer saw and said."""

    question: Question
    candidates: list[Candidate]
    features: np.ndarray  # one row per candidate
    scores: np.ndarray  # the ranker's logit per candidate
    question_row: np.ndarray  # the abstainer's features
    vectors: np.ndarray  # one embedding per candidate (`features.candidate_vectors`)

    def order(self) -> list[int]:
        return [int(i) for i in np.argsort(-self.scores, kind="stable")]


class ExtractiveAnswerer:
    """Answers from the passages' own sentences, chosen by a fitted reader.

    >>> answerer = ExtractiveAnswerer(UnitIndex(kb))
    >>> answerer.answer(request).text
    """

    name = "extractive"

    def __init__(self, units: UnitIndex, analyzer: FrenchAnalyzer | None = None, model: ReaderModel | None = None) -> None:
        self.units = units
        self.analyzer = analyzer or FrenchAnalyzer()
        self.reader = DocumentReader(units, self.analyzer)
        self.corpus = Corpus(units, self.reader, self.analyzer)
        self._model = model

    @property
    def model(self) -> ReaderModel:
        """The fitted reader: the one given, else the shipped `assistant/reader.json` (loaded once)."""
        if self._model is None:
            self._model = ReaderModel.load()
        return self._model

    @model.setter
    def model(self, model: ReaderModel | None) -> None:
        """Answer with another fitted reader (cross-validation does); None goes back to the shipped one."""
        self._model = model

    # -- reading -----------------------------------------------------------------------
    def read(self, request: AnswerRequest) -> Reading:
        """Candidates of the request's documents with their features (not yet scored)."""
        self.units.refresh()
        self.corpus.refresh()
        qvec = np.asarray(self.units.kb.embedder.embed_query_array(request.query), dtype=np.float64)
        question = Question.read(request, self.corpus, qvec)
        candidates = gather(request.passages, self.units, self.reader)
        vectors = candidate_vectors(candidates, self.corpus)
        features = candidate_features(question, candidates, self.corpus, vectors)
        return Reading(question, candidates, features, np.zeros(len(candidates)), np.zeros(0), vectors)

    def score(self, reading: Reading) -> Reading:
        set_fitted_similarity(reading.features, self.model.similarity.score(reading.question.vector, reading.vectors))
        reading.scores = self.model.ranker.decision(reading.features)
        reading.question_row = question_features(reading.question, reading.features, reading.scores)
        return reading

    # -- the answerer seam ---------------------------------------------------------------
    def answer(self, request: AnswerRequest) -> Answer:
        return self._compose(request)

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        """Yield the answer text in pieces (each cited line) that join back to exactly `answer.text`, then the `Answer`."""
        answer = self._compose(request)
        for line in answer.text.splitlines(keepends=True):
            for piece in re.split(r"(?<=\] )", line):
                if piece:
                    yield piece
        yield answer

    def _compose(self, request: AnswerRequest) -> Answer:
        lang = request.language if request.language in ("fr", "en") else "fr"
        reading = self.score(self.read(request))
        order = reading.order()
        p_answer = self.model.abstainer.probability(reading.question_row) if order else 0.0
        if p_answer < self.model.threshold:
            # A question about support schemes that no passage answers gets the catalogue's schemes
            # for its place and topic. Only then: on the training sets' scheme questions the reader's
            # answer held more of the facts than the catalogue's list 35 times, fewer once (of 67).
            if request.kind == "scheme" and (schemes := self._schemes(request)) is not None:
                return schemes
            reason = f"answer probability {p_answer:.2f} < {self.model.threshold:.2f}" if order else "no passage"
            return self._abstain(request, lang, reading, order, reason)
        chosen = list(dict.fromkeys(self._with_its_list(reading, i) for i in self.choose(reading, order, self.model)))
        other = self.disagreeing(reading, order)
        if other is not None:
            # Sources that give another figure for the same thing are shown too, latest first.
            chosen = sorted([order[0], other], key=lambda i: reading.candidates[i].doc.date or "", reverse=True)
        return self._quote(request, lang, reading, chosen)

    def _schemes(self, request: AnswerRequest) -> Answer | None:
        from assistant.schemes import answer_schemes
        from ingest.schemes import scheme_catalogue

        return answer_schemes(request, scheme_catalogue(self.units.kb), self.units.kb, filters=request.filters)

    @staticmethod
    def runner_up(reading: Reading, order: list[int]) -> int | None:
        """The best candidate that does not overlap the best one."""
        best = reading.candidates[order[0]]
        for i in order[1:]:
            c = reading.candidates[i]
            if not (c.doc.doc_id == best.doc.doc_id and c.start < best.end and best.start < c.end):
                return i
        return None

    @classmethod
    def choose(cls, reading: Reading, order: list[int], model: ReaderModel) -> list[int]:
        """The best candidate, and the runner-up when the gate says it adds to the answer (never a
        second list after a list: the answer would be too long to read)."""
        second = cls.runner_up(reading, order)
        if second is None or reading.candidates[order[0]].kind == "list" == reading.candidates[second].kind:
            return order[:1]
        row = gate_features(reading.question_row, reading.features[second], reading.scores[order[0]], reading.scores[second])
        return [order[0], second] if model.gate.probability(row) >= model.gate_threshold else order[:1]

    @staticmethod
    def _with_its_list(reading: Reading, i: int) -> int:
        """A sentence that announces a list ("12 territoires sont lauréats :") is quoted with its list; a list
        of which one item holds a name the question asks about ("lequel inclut Vierzon ?") by that item."""
        c = reading.candidates[i]
        if c.kind == "sentence" and c.unit.intro:
            for j, other in enumerate(reading.candidates):
                if other.kind == "list" and other.units[0] == c.unit:
                    c, i = other, j
                    break
        names = reading.question.names
        if c.kind == "list" and names:
            holding = [u for u in c.units[1:] if any(n in fold(u.text) for n in names)]
            if len(holding) == 1:
                for j, other in enumerate(reading.candidates):
                    if other.kind == "item" and other.unit == holding[0]:
                        return j
        return i

    def disagreeing(self, reading: Reading, order: list[int], depth: int = 5) -> int | None:
        """A candidate of another document, among the best few, that gives another figure for the thing
        the question counts, named the same way ("136 Territoires d'industrie" against "146 Territoires
        d'industrie"; not "29 territoires ont contractualisé"), when the best gives one."""
        focus = reading.question.focus
        if not focus or not (reading.question.typed or reading.question.wants["fact"]):
            return None

        def figures(i: int) -> dict[str, set[str]]:
            """The figures of the counted noun, by the word that follows the noun."""
            text = reading.candidates[i].text
            out: dict[str, set[str]] = {}
            for m in FIGURE.finditer(text):
                if self.reader.stem(m.group(3)) == focus:
                    after = _NEXT_WORD.match(text, m.end())
                    out.setdefault(fold(after.group(1)) if after else "", set()).add(m.group(1).replace(" ", ""))
            return out

        best = reading.candidates[order[0]]
        mine = figures(order[0])
        if not mine or best.kind == "list":
            return None
        stated = set().union(*mine.values())
        for i in order[1:depth]:
            c = reading.candidates[i]
            if c.doc.doc_id == best.doc.doc_id or c.kind == "list":
                continue
            theirs = figures(i)
            if theirs and not set().union(*theirs.values()) & stated and theirs.keys() & mine.keys():
                return i
        return None

    # -- quoting -------------------------------------------------------------------------
    def _quote(self, request: AnswerRequest, lang: str, reading: Reading, chosen: list[int]) -> Answer:
        lines: list[str] = []
        citations: list[Citation] = []
        several = len({reading.candidates[i].doc.doc_id for i in chosen}) > 1
        for rank, i in enumerate(chosen):
            c = reading.candidates[i]
            if rank and sum(len(line) + 1 for line in lines) > request.budget * 0.6:
                break  # the runner-up would not fit
            score = float(reading.scores[i])
            n = len(citations) + 1
            dated = lang == "en" or several
            lead = self._according(c, lang) if dated else ""
            if c.kind == "list":
                intro, items = c.units[0], c.units[1:]
                citations.append(self._citation(n, c, score, intro.start, items[-1].end))
                lines.append(f"{lead}{intro.text.strip()} [{n}]")
                lines.extend(list_lines(items, request.budget - sum(len(line) + 1 for line in lines)))
                continue
            unit = c.unit
            start, end = self._trim(reading.question, unit, _MAX_QUOTE.get(request.kind, QUOTE_LEN))
            body = ("… " if start > unit.start else "") + c.doc.text[start:end].strip() + (" …" if end < unit.end else "")
            direct = direct_answer(request, reading.question, c, c.doc.text[start:end], self.reader) if rank == 0 else None
            if (intro := c.lead) is not None:
                # "- Issoudun" is one of "12 territoires sont lauréats :"; "- Aide : ..." belongs to its scheme
                citations.append(self._citation(n, c, score, intro.start, intro.end))
                citations.append(self._citation(n + 1, c, score, start, end))
                head = f"{direct} — " if direct else ""
                lines.append(f"{head}{lead}« {intro.text.strip()} » [{n}]" if lang == "en" else f"{head}{intro.text.strip()} [{n}]")
                lines.append(f"« {body} » [{n + 1}]" if lang == "en" else f"{body} [{n + 1}]")
                continue
            citations.append(self._citation(n, c, score, start, end))
            quote = f"« {body} »" if lang == "en" or direct or lead else body
            head = f"{direct} — " if direct else ""
            lines.append(f"{head}{lead}{quote} [{n}]")
        if request.kind == "scheme" and chosen:
            # What the catalogue read of the scheme the best quote is about, when the quotes do not say it.
            from assistant.schemes import scheme_line
            from ingest.schemes import scheme_catalogue

            best = reading.candidates[chosen[0]]
            said = "\n".join(lines)
            extra = scheme_line(scheme_catalogue(self.units.kb), lang, best.doc, best.start, best.end, said, len(citations) + 1)
            if extra is not None and sum(len(line) + 1 for line in lines) + len(extra[0]) <= request.budget:
                lines.append(extra[0])
                citations.extend(extra[1])
        return request.reply("\n".join(lines), citations, abstained=False, language=lang, answerer=self.name)

    def _according(self, c: Candidate, lang: str) -> str:
        when = format_date(c.doc.date, lang)
        if lang == "en":
            return f"According to the source ({when}): " if c.doc.date else "According to the source: "
        return f"Selon la source ({when}) : "

    def _trim(self, q: Question, unit, max_len: int) -> tuple[int, int]:  # noqa: ANN001 - a Unit
        """The part of a long sentence that answers: the window of whole clauses that holds most of the
        question's weight, as document offsets."""
        if len(unit.text) <= max_len:
            return unit.start, unit.end
        cuts = [0] + [m.end() for m in CLAUSE.finditer(unit.text)] + [len(unit.text)]
        typed = spans_of(q.kind, q.wants, unit.text)
        # the figure of what the question counts: "141 à 144 territoires", not "3e comité"
        counted = [m.span() for m in FIGURE.finditer(unit.text) if q.focus and self.reader.stem(m.group(3)) == q.focus]
        clause_terms = [set(self.analyzer(unit.text[a:b])) for a, b in zip(cuts, cuts[1:], strict=False)]
        best, span = -1e9, (0, len(unit.text))
        for i in range(len(clause_terms)):
            seen: set[str] = set()
            for j in range(i, len(clause_terms)):
                a, b = cuts[i], cuts[j + 1]
                if b - a > max_len and j > i:
                    break
                seen |= clause_terms[j]
                value = q.coverage(self.corpus, q.terms, seen) - 0.0005 * (b - a)
                if any(a <= x and y <= b for x, y in typed):
                    value += 0.3  # the window holds what was asked: the figure, the date, the name and role
                if any(a <= x and y <= b for x, y in counted):
                    value += 0.3
                if value > best:
                    best, span = value, (a, b)
        a, b = span
        piece = unit.text[a:b]
        a += len(piece) - len(piece.lstrip(" ,;:–-("))
        b -= len(piece) - len(piece.rstrip(" ,;:–-("))
        return unit.start + a, unit.start + b

    def _citation(self, n: int, c: Candidate, score: float, start: int, end: int) -> Citation:
        return Citation(
            n=n,
            source=c.doc.source,
            doc_id=c.doc.doc_id,
            title=c.doc.title,
            date=c.doc.date,
            page=c.doc.page_at(start),
            quote=c.doc.text[start:end],
            start=start,
            end=end,
            score=round(score, 4),
            chunk_id=c.passage.chunk_id,
        )

    def _abstain(self, request: AnswerRequest, lang: str, reading: Reading, order: list[int], reason: str) -> Answer:
        text = NOT_FOUND[lang]
        if order and reading.question.unknown_names == 0:
            c = reading.candidates[order[0]]
            quote = " ".join(c.unit.text.split())
            if len(quote) > 200:
                quote = quote[:197].rsplit(" ", 1)[0] + "…"
            text += " " + _CLOSEST[lang].format(quote=quote, title=c.doc.title, date=format_date(c.doc.date, lang))
        answer = request.reply(text, [], abstained=True, language=lang, answerer=self.name)
        answer.warnings.append(f"abstained: {reason}")
        return answer
