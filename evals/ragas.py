"""Export tia's answers in the RAGAS column layout, and import RAGAS rows as tia records.

Export: one row per record with ``question``, ``answer`` (the scored answer text),
``contexts`` (the texts of the retrieved passages, best first) and ``ground_truth``
(the record's own ``ground_truth`` or, failing that, its expected facts), plus ``id``
and ``tia`` (the whole record) so that the import is lossless. Evaluators load the file
with ``datasets.Dataset.from_json(path)`` and run RAGAS with their own judge model.

Import: rows in that layout (or RAGAS 0.2's ``user_input`` / ``response`` /
``retrieved_contexts`` / ``reference``) become tia records; a row without a ``tia``
column has no expected facts, so only abstention, citations and latency score it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.dataset import DatasetError, Record, parse_record
from evals.metrics import Pair

__all__ = ["RAGAS_COLUMNS", "NO_ANSWER", "ground_truth", "to_ragas_rows", "records_from_ragas", "write_ragas", "read_ragas"]

RAGAS_COLUMNS = ("question", "answer", "contexts", "ground_truth")
# The reference of an unanswerable record: a judge compares the assistant's abstention to it.
NO_ANSWER = {
    "fr": "Les documents ne répondent pas à cette question.",
    "en": "The documents do not answer this question.",
}
_V2_NAMES = {"user_input": "question", "response": "answer", "retrieved_contexts": "contexts", "reference": "ground_truth"}


def ground_truth(record: Record) -> str:
    """The reference answer of a record: its `ground_truth`, else its facts (first alternative of each)."""
    if record.ground_truth is not None:
        return record.ground_truth
    if not record.answerable:
        return NO_ANSWER.get(record.lang, NO_ANSWER["fr"])
    return "; ".join(group[0] for group in record.expected_facts)


def _question(record: Record) -> str:
    # A judge needs the conversation to make sense of a follow-up ("Et combien ?").
    return "\n".join(record.turns)


def to_ragas_rows(pairs: Iterable[Pair]) -> list[dict[str, Any]]:
    return [
        {
            "question": _question(record),
            "answer": answer.text,
            "contexts": [p.text for p in sorted(answer.passages, key=lambda p: p.rank)],
            "ground_truth": ground_truth(record),
            "id": record.id,
            "tia": record.to_dict(),
        }
        for record, answer in pairs
    ]


def _normalise(row: Mapping[str, Any]) -> dict[str, Any]:
    return {_V2_NAMES.get(key, key): value for key, value in row.items()}


def records_from_ragas(rows: Sequence[Mapping[str, Any]], origin: str = "ragas") -> list[Record]:
    """tia records from RAGAS rows; raises one DatasetError listing every bad row."""
    records: list[Record] = []
    problems: list[str] = []
    for number, raw in enumerate(rows, start=1):
        where = f"{origin}:{number}"
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: a row must be an object, got {type(raw).__name__}")
            continue
        row = _normalise(raw)
        data: Any = row.get("tia")
        if data is None:
            question, reference = row.get("question"), row.get("ground_truth")
            data = {"id": str(row.get("id") or f"ragas-{number}"), "expected_facts": []}
            if question is not None:
                data["question"] = question
            if isinstance(reference, str):
                if reference in NO_ANSWER.values():
                    data = {**data, "answerable": False}
                else:
                    data["ground_truth"] = reference
        try:
            records.append(parse_record(data, where))
        except DatasetError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DatasetError(problems)
    return records


def write_ragas(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """`.jsonl` (one row a line), `.json` (a list) or `.csv` (contexts and tia as JSON strings)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        p.write_text(json.dumps(list(rows), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    elif suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*RAGAS_COLUMNS, "id", "tia"], extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {**row, "contexts": json.dumps(row.get("contexts", []), ensure_ascii=False),
                 "tia": json.dumps(row["tia"], ensure_ascii=False) if row.get("tia") is not None else ""}
            )
        p.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _csv_json(value: str | None, where: str, column: str, problems: list[str]) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        problems.append(f"{where}: column {column} must hold JSON, got {value[:40]!r}")
        return None


def read_ragas(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a file written by `write_ragas` (or by RAGAS users); DatasetError when unreadable."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError([f"{p}: cannot read: {exc}"]) from exc
    suffix = p.suffix.lower()
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    if suffix == ".csv":
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            where = f"{p}:{number}"
            contexts = _csv_json(row.get("contexts") or row.get("retrieved_contexts"), where, "contexts", problems)
            tia = _csv_json(row.pop("tia", None), where, "tia", problems)
            row = {k: v for k, v in row.items() if v not in (None, "")}
            row["contexts"] = contexts or []
            row.pop("retrieved_contexts", None)
            if tia is not None:
                row["tia"] = tia
            rows.append(row)
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError([f"{p}:{exc.lineno}: invalid JSON: {exc.msg}"]) from exc
        if not isinstance(data, list):
            raise DatasetError([f"{p}: a .json RAGAS file must hold a list of rows"])
        rows = data
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    problems.append(f"{p}:{number}: invalid JSON: {exc.msg}")
    if problems:
        raise DatasetError(problems)
    return rows
