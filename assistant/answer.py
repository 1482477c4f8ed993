"""The `Answer` every presenter (CLI, UI, HTTP API, eval runner) shows.

An `Answer` is plain data: it round-trips through JSON with `to_dict()` /
`Answer.from_dict()`, which is what `tia ask --json`, `POST /api/ask` and the
eval runner's `answers.jsonl` contain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Citation", "Passage", "Answer"]


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk, as ranked by the retriever (1 = best)."""

    rank: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    date: str | None
    page: int | None
    start: int
    end: int
    text: str
    score: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: `[n]` in `Answer.text` refers to `n` here.

    `quote` is the exact span `document_text[start:end]` of the normalised document
    text that supports the sentence carrying the mark.
    """

    n: int
    source: str
    doc_id: str
    title: str
    date: str | None
    page: int | None
    quote: str
    start: int
    end: int
    score: float
    chunk_id: str = ""

    @property
    def source_name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})  # type: ignore[arg-type]


@dataclass
class Answer:
    """What the assistant says about one question.

    >>> a = Answer(question="?", text="Rien.", citations=[], abstained=True, language="fr")
    >>> Answer.from_dict(a.to_dict()) == a
    True
    """

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    language: str
    timings: dict[str, float] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    query: str = ""
    answerer: str = "extractive"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        return cls(
            question=data["question"],
            text=data["text"],
            citations=[Citation.from_dict(c) for c in data.get("citations", [])],
            abstained=bool(data.get("abstained", False)),
            language=data.get("language", "fr"),
            timings=dict(data.get("timings", {})),
            passages=[Passage.from_dict(p) for p in data.get("passages", [])],
            warnings=list(data.get("warnings", [])),
            query=data.get("query", ""),
            answerer=data.get("answerer", "extractive"),
        )

    @classmethod
    def combine(cls, question: str, parts: list[Answer]) -> Answer:
        """One answer to a question asked in several parts: texts joined, citations renumbered."""
        import re

        answered = [p for p in parts if not p.abstained] or parts[:1]
        # A part that quotes only what another part quotes too (the same spans, or spans inside that
        # part's: an item of the list another part quotes whole) adds nothing but length.
        own = [{((c.source, c.doc_id), c.start, c.end) for c in part.citations} for part in answered]

        def covered(mine: set[tuple[Any, int, int]], theirs: set[tuple[Any, int, int]]) -> bool:
            return bool(mine) and all(any(d == e and a <= s and t <= b for e, a, b in theirs) for d, s, t in mine)

        dropped: set[int] = set()
        for i in range(len(answered)):
            earlier = set().union(*(own[j] for j in range(i) if j not in dropped))
            later = set().union(*own[i + 1 :])
            if covered(own[i], earlier) or (covered(own[i], later) and not covered(later, own[i] | earlier)):
                dropped.add(i)
        answered = [part for i, part in enumerate(answered) if i not in dropped] or answered[:1]
        texts, citations, passages, warnings = [], [], [], []
        seen: set[str] = set()
        for part in answered:
            offset = len(citations)
            texts.append(re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + offset}]", part.text))
            citations += [Citation(**{**asdict(c), "n": c.n + offset}) for c in part.citations]
            for p in part.passages:
                if p.chunk_id not in seen:
                    seen.add(p.chunk_id)
                    passages.append(p)
            warnings += part.warnings
        timings: dict[str, float] = {}
        for part in parts:
            for stage, ms in part.timings.items():
                timings[stage] = round(timings.get(stage, 0.0) + ms, 2)
        return cls(
            question=question,
            text="\n".join(texts),
            citations=citations,
            abstained=all(p.abstained for p in parts),
            language=parts[0].language,
            timings=timings,
            passages=passages,
            warnings=warnings,
            query=" | ".join(p.query for p in parts),
            answerer=parts[0].answerer,
        )

    def to_markdown(self) -> str:
        """The answer with its numbered sources, for copying into a note or an e-mail."""
        lines = [self.text, ""]
        if self.citations:
            lines.append("Sources:")
            for c in self.citations:
                where = f", p. {c.page}" if c.page else ""
                when = f", {c.date}" if c.date else ""
                lines.append(f"[{c.n}] {c.title} ({c.source_name}{when}{where}): « {c.quote} »")
        return "\n".join(lines).rstrip() + "\n"
