"""Ask every record's question(s) and keep the answers: the only part of evals that calls the assistant.

>>> runs = run_records(Assistant(load_settings()), load_dataset("evals/datasets/dev.jsonl"))
>>> runs[0].answer.text
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

from assistant.answer import Answer
from evals.dataset import Record
from knowledge.errors import TiaError

__all__ = ["Answering", "RecordRun", "EvalError", "ask_record", "run_records", "describe_run", "write_answers", "read_answers"]


class Answering(Protocol):
    """What the runner needs from the assistant (`assistant.service.Assistant` has it)."""

    def answer(
        self, question: str, history: list[dict[str, str]] | None = None, filters: Any = None, k: int | None = None
    ) -> Answer: ...


class EvalError(TiaError):
    """The assistant failed on a record; the message names the record."""


@dataclass
class RecordRun:
    """A record and the assistant's answers: `answer` (scored) is the answer to the last turn."""

    record: Record
    answer: Answer
    earlier: list[Answer] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.record.id, "answer": self.answer.to_dict()}
        if self.earlier:
            data["earlier_turns"] = [a.to_dict() for a in self.earlier]
        return data


def ask_record(assistant: Answering, record: Record, k: int | None = None) -> RecordRun:
    """Ask each turn in order with the conversation so far as history; the last answer is scored."""
    history: list[dict[str, str]] = []
    answers: list[Answer] = []
    for turn in record.turns:
        try:
            answer = assistant.answer(turn, history=list(history) or None, k=k)
        except TiaError as exc:
            where = f" ({record.origin})" if record.origin else ""
            raise EvalError(f"record {record.id!r}{where}: {exc}") from exc
        answers.append(answer)
        history += [{"role": "user", "content": turn}, {"role": "assistant", "content": answer.text}]
    return RecordRun(record=record, answer=answers[-1], earlier=answers[:-1])


def run_records(
    assistant: Answering, records: Sequence[Record], *, k: int | None = None, progress: bool = False
) -> list[RecordRun]:
    """Warm the assistant up (so latencies are warm), then ask every record, with a tqdm bar on stderr."""
    warm_up = getattr(assistant, "warm_up", None)
    if callable(warm_up):
        warm_up()
    items: Any = records
    if progress:
        from tqdm import tqdm

        items = tqdm(records, desc="eval", unit="q", file=sys.stderr)
    return [ask_record(assistant, record, k) for record in items]


def _tia_version() -> str:
    try:
        return version("tia")
    except PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def describe_run(assistant: Any, *, k: int | None, datasets: Sequence[str | Path], records: int) -> dict[str, Any]:
    """The configuration a report was made with: embedder, k, store kind, corpus fingerprint, version."""
    config: dict[str, Any] = {
        "tia_version": _tia_version(),
        # The hash tells two runs of "the same" file apart when the file was edited in between.
        "datasets": [{"path": str(p), "sha256": _sha256(Path(p))} for p in datasets],
        "records": records,
    }
    settings = getattr(assistant, "settings", None)
    config["k"] = k or getattr(settings, "k", None)
    status = getattr(assistant, "status", None)
    if callable(status):
        info = status()
        config.update(
            embedder=info.get("embedder"),
            store=info.get("store"),
            store_location=info.get("location"),
            collection=info.get("collection"),
            documents=info.get("documents"),
            chunks=info.get("chunks"),
            answerer=info.get("answerer"),
            llm_model=info.get("llm_model"),
            corpus_fingerprint=info.get("fingerprint"),
        )
    else:
        config.update(
            embedder=getattr(settings, "embedder", None),
            store=getattr(settings, "store_kind", None),
        )
        fingerprint = getattr(assistant, "corpus_fingerprint", None)
        config["corpus_fingerprint"] = fingerprint() if callable(fingerprint) else None
    return config


def write_answers(path: Path, runs: Sequence[RecordRun]) -> None:
    """answers.jsonl: one line per record, {"id", "answer" (scored), "earlier_turns" (multi-turn only)}."""
    with path.open("w", encoding="utf-8") as out:
        for run in runs:
            out.write(json.dumps(run.to_json(), ensure_ascii=False) + "\n")


def read_answers(path: Path) -> dict[str, Answer]:
    """The scored answer of each record id in an answers.jsonl file."""
    answers: dict[str, Answer] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            answers[data["id"]] = Answer.from_dict(data["answer"])
    return answers
