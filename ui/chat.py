"""What the chat tab does, apart from its layout: asking (streamed), feedback, filters.

The conversation lives in a per-browser-session list of `Turn`s; the chat window is
re-rendered from it, so what the user sees and what is sent back as `history` (the
raw answer texts, as in `tia chat`) cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answer import Answer
from knowledge.errors import ConfigError, TiaError
from knowledge.filters import Filters
from ui.feedback import FeedbackLog
from ui.i18n import t
from ui.render import answer_markdown, sources_html

__all__ = ["Turn", "ChatHandlers", "history_of", "build_filters", "EXAMPLES"]

# One question per user group: a territory's staff, a business owner, an English speaker.
EXAMPLES: tuple[str, ...] = (
    "Quels territoires du Centre-Val de Loire sont lauréats de la phase 2 ?",
    "Je dirige une usine à Issoudun : quelles aides pour un projet de décarbonation ?",
    "How many Territoires d'industrie are there in the Grand Est?",
)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_PENDING = "…"


@dataclass(frozen=True)
class Turn:
    """One exchange: the question, the history it was asked after, and the answer
    (None when answering failed; `error` then says why)."""

    question: str
    history: tuple[dict[str, str], ...]
    answer: Answer | None
    error: str = ""


def history_of(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The conversation as the assistant's `history` (failed turns left out)."""
    out: list[dict[str, str]] = []
    for turn in turns:
        if turn.answer is not None:
            out += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer.text}]
    return out


def build_filters(
    regions: Sequence[str] | None, date_from: str | None, date_to: str | None, sources: Sequence[str] | None
) -> tuple[Filters | None, list[str]]:
    """Filters from the form, and the date entries that were ignored as malformed."""
    ignored = []
    dates: list[str | None] = []
    for value in (date_from, date_to):
        value = (value or "").strip()
        if value and not _DATE.match(value):
            ignored.append(value)
            value = ""
        dates.append(value or None)
    filters = Filters(
        sources=tuple(sources or ()), regions=tuple(regions or ()), date_from=dates[0], date_to=dates[1]
    )
    return (None if filters.is_empty else filters), ignored


def chat_messages(turns: Sequence[Turn], lang: str) -> list[dict[str, str]]:
    """The chat window's messages: user and assistant alternate, one pair per turn."""
    messages = []
    for number, turn in enumerate(turns, start=1):
        messages.append({"role": "user", "content": answer_markdown(turn.question)})
        if turn.answer is not None:
            content = answer_markdown(turn.answer.text, number)
        else:
            content = answer_markdown(t(lang, "error", error=turn.error))
        messages.append({"role": "assistant", "content": content})
    return messages


def answered(turns: Sequence[Turn]) -> list[tuple[str, Answer]]:
    return [(turn.question, turn.answer) for turn in turns if turn.answer is not None]


class ChatHandlers:
    """The chat tab's event handlers over one `Assistant` and one feedback log."""

    def __init__(self, assistant: Any, feedback: FeedbackLog) -> None:
        self.assistant = assistant
        self.feedback = feedback

    def respond(
        self,
        message: str,
        turns: list[Turn],
        lang: str,
        regions: list[str] | None,
        date_from: str | None,
        date_to: str | None,
        sources: list[str] | None,
    ) -> Iterator[tuple[str, list[dict[str, str]], list[Turn], str, str, str]]:
        """Yield (question box, chat messages, turns, sources HTML, copy text, notice)
        as the answer is composed."""
        message = (message or "").strip()
        if not message:
            yield "", chat_messages(turns, lang), turns, sources_html(answered(turns), lang), "", t(lang, "empty_question")
            return
        filters, ignored = build_filters(regions, date_from, date_to, sources)
        notice = " ".join(t(lang, "bad_date", value=v) for v in ignored)
        history = history_of(turns)
        shown = chat_messages(turns, lang) + [{"role": "user", "content": answer_markdown(message)}]
        sources = sources_html(answered(turns), lang)
        yield "", shown + [{"role": "assistant", "content": _PENDING}], turns, sources, "", notice
        text = ""
        try:
            for piece in self.assistant.stream(message, history=history, filters=filters):
                if isinstance(piece, Answer):
                    turns = [*turns, Turn(message, tuple(history), piece)]
                    break
                text += piece
                yield "", shown + [{"role": "assistant", "content": answer_markdown(text.strip())}], turns, sources, "", notice
            else:  # a stream must end with its Answer
                raise ConfigError("the answer stream ended without an answer")
        except TiaError as exc:
            turns = [*turns, Turn(message, tuple(history), None, str(exc))]
            yield "", chat_messages(turns, lang), turns, sources, "", notice
            return
        answer = turns[-1].answer
        assert answer is not None
        yield "", chat_messages(turns, lang), turns, sources_html(answered(turns), lang), answer.to_markdown(), notice

    def rate(self, verdict: str, turns: list[Turn], comment: str, lang: str, index: int | None = None) -> tuple[str, str]:
        """Record a verdict on answer `index` (default: the latest); returns (notice, comment box)."""
        candidates = [i for i, turn in enumerate(turns) if turn.answer is not None]
        if index is None:
            index = candidates[-1] if candidates else None
        if index is None or index not in candidates:
            return t(lang, "nothing_to_rate"), comment
        turn = turns[index]
        assert turn.answer is not None
        self.feedback.record(turn.answer, verdict, history=turn.history, comment=comment)
        return t(lang, "thanks"), ""

    def rate_message(self, index: int | Sequence[int], liked: bool | str | None, turns: list[Turn], comment: str, lang: str) -> tuple[str, str]:
        """A thumb on a chat message: messages alternate user/assistant, one pair per turn."""
        position = index[0] if isinstance(index, (list, tuple)) else index
        if liked is None or liked == "":  # the thumb was taken back: nothing to record
            return "", comment
        verdict = "useful" if liked is True or liked == "Like" else "not_useful"
        return self.rate(verdict, turns, comment, lang, index=int(position) // 2)

    def ask_api(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        regions: list[str] | None = None,
        sources: list[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        k: int | None = None,
    ) -> dict[str, Any]:
        from ui.api import FiltersModel, to_filters

        filters = to_filters(
            FiltersModel(regions=regions or [], sources=sources or [], date_from=date_from, date_to=date_to)
        )
        return self.assistant.answer(question, history=history or None, filters=filters, k=k).to_dict()
