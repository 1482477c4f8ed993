"""Users' verdicts on answers, kept in `<data_dir>/feedback.jsonl`, and their export
as a draft evaluation dataset (the JSONL format of evals/README.md).

Usage::

    log = FeedbackLog(feedback_path(settings.data_dir))
    log.record(answer, verdict="useful", history=[], comment="clear")
    export_records(log.read())
    # [{"id": "fb-…", "question": "…", "answerable": True, "expected_facts": [],
    #   "expected_sources": ["<doc id>"], "lang": "fr", "tags": ["feedback", "useful"], "draft": True}]
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from assistant.answer import Answer
from knowledge.errors import ConfigError, StoreError

__all__ = ["FeedbackLog", "Verdict", "VERDICTS", "export_jsonl", "export_records", "feedback_path"]

Verdict = Literal["useful", "not_useful"]
VERDICTS: tuple[str, ...] = ("useful", "not_useful")
_MAX_COMMENT = 2000


def feedback_path(data_dir: Path) -> Path:
    return Path(data_dir) / "feedback.jsonl"


class FeedbackLog:
    """Append-only JSONL of feedback records; safe to share between request threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(
        self,
        answer: Answer,
        verdict: str,
        history: Sequence[dict[str, str]] = (),
        comment: str = "",
    ) -> dict[str, Any]:
        """Append one verdict on `answer` (asked after `history`) and return the record."""
        if verdict not in VERDICTS:
            raise ConfigError(f"verdict: expected one of {', '.join(VERDICTS)}, got {verdict!r}")
        entry = {
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "question": answer.question,
            "history": [{"role": m["role"], "content": m["content"]} for m in history],
            "answer": answer.text,
            "abstained": answer.abstained,
            "language": answer.language,
            "citations": [
                {k: getattr(c, k) for k in ("n", "doc_id", "source", "title", "date", "page", "start", "end", "quote")}
                for c in answer.citations
            ],
            "verdict": verdict,
            "comment": (comment or "").strip()[:_MAX_COMMENT],
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line)
            except OSError as exc:
                raise StoreError(f"cannot write feedback to {self.path}: {exc}") from exc
        return entry

    def read(self) -> list[dict[str, Any]]:
        """Every record, oldest first; a damaged line (e.g. a crash mid-write) is skipped."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict) and item.get("question"):
                records.append(item)
        return records


def _turns(record: dict[str, Any]) -> list[str]:
    """The user's questions of the conversation, this one last."""
    earlier = [m["content"] for m in record.get("history") or [] if m.get("role") == "user"]
    return [*earlier, record["question"]]


def export_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Draft eval records from feedback, one per distinct conversation (the latest verdict wins).

    A useful answer gives `expected_sources` (its cited doc ids, in citation order) and
    says whether the question was answerable (a useful abstention means it was not);
    `expected_facts` is left empty for the evaluator to write, and every record is
    marked `"draft": true` (the eval runner refuses drafts until someone reviews them).
    The verdict is kept in `tags`; `export_jsonl` adds the comment and answer as a
    `#` line above each record.
    """
    latest: dict[tuple[str, ...], dict[str, Any]] = {}
    for record in records:
        latest[tuple(_turns(record))] = record
    out = []
    for turns, record in latest.items():
        verdict = str(record.get("verdict"))
        useful = verdict == "useful"
        abstained = bool(record.get("abstained"))
        sources: list[str] = []
        if useful and not abstained:
            for c in record.get("citations") or []:
                if c.get("doc_id") and c["doc_id"] not in sources:
                    sources.append(c["doc_id"])
        key = "\x1f".join(turns).encode("utf-8")
        item: dict[str, Any] = {"id": "fb-" + hashlib.sha256(key).hexdigest()[:10]}
        if len(turns) > 1:
            item["turns"] = list(turns)
        else:
            item["question"] = turns[0]
        item["answerable"] = not (useful and abstained)
        item["expected_facts"] = []
        item["expected_sources"] = sources
        if record.get("language") in ("fr", "en"):
            item["lang"] = record["language"]
        item["tags"] = ["feedback", verdict]
        item["draft"] = True
        out.append(item)
    return out


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def export_jsonl(records: Iterable[dict[str, Any]]) -> str:
    """The draft dataset as JSONL; above each record, a `#` line (ignored by the eval
    loader) with the user's verdict, comment and the answer they judged."""
    latest: dict[tuple[str, ...], dict[str, Any]] = {}
    for record in records:
        latest[tuple(_turns(record))] = record
    lines = []
    for record, item in zip(latest.values(), export_records(latest.values()), strict=True):
        note = f"{record.get('timestamp', '')} {record.get('verdict')}"
        if record.get("comment"):
            note += f" — {_one_line(record['comment'], 200)}"
        lines.append(f"# {note} — answer: {_one_line(record.get('answer', ''))}")
        lines.append(json.dumps(item, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)
