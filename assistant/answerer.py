"""The answerer seam: turns a question and its retrieved passages into an `Answer`.

Two implementations: `assistant.extractive.ExtractiveAnswerer` (default, no LLM)
and `assistant.llm.LLMAnswerer` (an OpenAI-compatible endpoint, its output checked
against the passages, falling back to the extractive answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from assistant.answer import Answer, Citation, Passage
from knowledge.filters import Filters

__all__ = ["ANSWER_BUDGET", "AnswerRequest", "Answerer", "DocumentTextLookup"]

ANSWER_BUDGET = 1100  # characters an answer may take (each part of a two-part question gets half)

# doc_id -> the document's whole normalised text (citations quote exact spans of it)
DocumentTextLookup = Callable[[str], str]


@dataclass
class AnswerRequest:
    question: str  # as the user asked it
    query: str  # standalone query: follow-up resolved, acronyms expanded
    language: str  # "fr" or "en": the language to answer in
    passages: list[Passage]  # ranked, best first
    history: list[dict[str, str]] = field(default_factory=list)  # [{"role", "content"}...]
    document_text: DocumentTextLookup | None = None
    kind: str = "fact"  # question type from assistant.query: list, number, date, place, person, scheme, fact
    regions: list[str] = field(default_factory=list)  # canonical regions the question names
    focus: str = ""  # the current question alone, expanded (differs from `query` for follow-ups)
    filters: Filters | None = None  # the filters retrieval ran with (the scheme catalogue applies them too)
    budget: int = ANSWER_BUDGET  # characters the answer may take


    def reply(
        self,
        text: str,
        citations: list[Citation],
        *,
        abstained: bool,
        language: str,
        answerer: str,
        warnings: list[str] | None = None,
    ) -> Answer:
        """The `Answer` to this request: its question, query and passages, with the given text."""
        return Answer(
            question=self.question,
            text=text,
            citations=citations,
            abstained=abstained,
            language=language,
            passages=list(self.passages),
            warnings=list(warnings or []),
            query=self.query,
            answerer=answerer,
        )


class Answerer(Protocol):
    name: str

    def answer(self, request: AnswerRequest) -> Answer: ...

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are composed, then the final `Answer`."""
        ...
