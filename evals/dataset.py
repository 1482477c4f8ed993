"""Evaluation records: the JSONL (or YAML) format evaluators write, validated strictly.

One record per line::

    {"id": "cvl-count", "question": "Combien de territoires du CVL sont lauréats ?",
     "expected_facts": [["12", "douze"]], "expected_sources": ["a4a221ff72913230"]}

A file with any invalid record is refused as a whole: `load_datasets` raises one
`DatasetError` that lists every bad line (file and line number), so a typo never
silently drops a question from a run. The format is documented in evals/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import ConfigError

__all__ = [
    "Record",
    "DatasetError",
    "FIELDS",
    "load_dataset",
    "load_datasets",
    "parse_record",
    "dump_records",
    "detect_language",
]

FIELDS = (
    "id",
    "question",
    "turns",
    "answerable",
    "expected_facts",
    "expected_sources",
    "lang",
    "tags",
    "ground_truth",
)
LANGS = ("fr", "en")


class DatasetError(ConfigError):
    """One or more records are invalid. `problems` holds one "file:line: message" each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = len({p.split(": ", 1)[0] for p in self.problems})
        head = f"invalid dataset: {len(self.problems)} problem(s) on {lines} line(s); nothing was run:"
        super().__init__("\n  ".join([head, *self.problems]))


@dataclass(frozen=True)
class Record:
    """One question (or conversation) with what a good answer must contain.

    `turns` holds the user's messages in order; only the answer to the last one is
    scored. `expected_facts` is a tuple of groups: a group holds when any of its
    alternatives is in the answer. `origin` ("file:line") is for messages only.

    >>> r = Record(id="q1", turns=("Combien ?",), expected_facts=(("12", "douze"),))
    >>> r.question, r.answerable, r.lang
    ('Combien ?', True, 'fr')
    """

    id: str
    turns: tuple[str, ...]
    answerable: bool = True
    expected_facts: tuple[tuple[str, ...], ...] = ()
    expected_sources: tuple[str, ...] = ()
    lang: str = "fr"
    tags: tuple[str, ...] = ()
    ground_truth: str | None = None
    origin: str = field(default="", compare=False)

    @property
    def question(self) -> str:
        """The scored question: the last turn."""
        return self.turns[-1]

    def to_dict(self) -> dict[str, Any]:
        """The record in the dataset format (`question` for one turn, `turns` otherwise)."""
        data: dict[str, Any] = {"id": self.id}
        if len(self.turns) == 1:
            data["question"] = self.turns[0]
        else:
            data["turns"] = list(self.turns)
        data["answerable"] = self.answerable
        data["expected_facts"] = [list(group) for group in self.expected_facts]
        data["expected_sources"] = list(self.expected_sources)
        data["lang"] = self.lang
        if self.tags:
            data["tags"] = list(self.tags)
        if self.ground_truth is not None:
            data["ground_truth"] = self.ground_truth
        return data


# -- language ---------------------------------------------------------------------------
# Our own small heuristic, independent of the assistant's detector: the record's
# language must not be decided by the system under test.
_FR_WORDS = frozenset(
    """le la les un une des du de au aux et est sont quel quelle quels quelles combien qui que
    quoi dans pour sur avec par ont a été quand comment pourquoi ce cette ces leur leurs
    y il elle on en ou où ne pas plus signifie veut dire""".split()
)
_EN_WORDS = frozenset(
    """the a an is are was were which what who when where how many much does do did of in
    on for with and to from their its can could there any by has have been this that these
    those mean stand""".split()
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str) -> str:
    """'fr' or 'en' from function words; accents and elisions count for French; a tie is French.

    >>> detect_language("How many territories does the CVL have?"), detect_language("Combien de territoires ?")
    ('en', 'fr')
    """
    lowered = text.lower()
    words = _WORD.findall(lowered)
    fr = sum(w in _FR_WORDS for w in words) + len(re.findall(r"\b[ldjcnsqu]{1,2}['’]", lowered))
    en = sum(w in _EN_WORDS for w in words)
    if re.search(r"[éèêàùçôîœ]", lowered):
        fr += 1
    return "en" if en > fr else "fr"


# -- validation -------------------------------------------------------------------------
def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _str_list(value: object, name: str, problems: list[str], *, allow_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list):
        problems.append(f"{name} must be a list of strings, got {type(value).__name__}")
        return ()
    if not value and not allow_empty:
        problems.append(f"{name} must not be empty")
    bad = [i for i, item in enumerate(value) if not _nonempty_str(item)]
    if bad:
        problems.append(f"{name}[{bad[0]}] must be a non-empty string, got {value[bad[0]]!r}")
        return ()
    return tuple(value)


def _facts(value: object, problems: list[str]) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        problems.append(f"expected_facts must be a list of groups, got {type(value).__name__}")
        return ()
    groups: list[tuple[str, ...]] = []
    for i, group in enumerate(value):
        if not isinstance(group, list):
            # A bare string is refused: ["12", "douze"] would read as two required facts.
            problems.append(
                f"expected_facts[{i}] must be a list of alternatives such as [\"12\", \"douze\"], got {group!r}"
            )
            continue
        alternatives = _str_list(group, f"expected_facts[{i}]", problems, allow_empty=False)
        if alternatives:
            groups.append(alternatives)
    return tuple(groups)


def parse_record(data: object, origin: str = "") -> Record:
    """Validate one decoded record; raises DatasetError listing all its problems."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise DatasetError([f"{origin}: a record must be a JSON object, got {type(data).__name__}"])
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        problems.append(f"unknown field(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(FIELDS)})")

    rid = data.get("id")
    if not _nonempty_str(rid):
        problems.append(f"id must be a non-empty string, got {rid!r}")

    turns: tuple[str, ...] = ()
    if "question" in data and "turns" in data:
        problems.append("give either question or turns, not both")
    elif "question" in data:
        if _nonempty_str(data["question"]):
            turns = (data["question"],)
        else:
            problems.append(f"question must be a non-empty string, got {data['question']!r}")
    elif "turns" in data:
        turns = _str_list(data["turns"], "turns", problems, allow_empty=False)
    else:
        problems.append("missing question (or turns)")

    answerable = data.get("answerable", True)
    if not isinstance(answerable, bool):
        problems.append(f"answerable must be true or false, got {answerable!r}")
        answerable = True
    facts = _facts(data.get("expected_facts", []), problems)
    sources = _str_list(data.get("expected_sources", []), "expected_sources", problems)
    if not answerable and (facts or sources):
        problems.append("an unanswerable record cannot have expected_facts or expected_sources")
    if "expected_facts" not in data and answerable:
        problems.append("missing expected_facts (use [] to score only sources and abstention)")

    lang = data.get("lang")
    if lang is not None and lang not in LANGS:
        problems.append(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    tags = _str_list(data.get("tags", []), "tags", problems)
    ground_truth = data.get("ground_truth")
    if ground_truth is not None and not isinstance(ground_truth, str):
        problems.append(f"ground_truth must be a string, got {type(ground_truth).__name__}")

    if problems:
        where = f"{origin}: " if origin else ""
        label = f"record {rid!r}: " if _nonempty_str(rid) else ""
        raise DatasetError([f"{where}{label}{p}" for p in problems])
    return Record(
        id=str(rid),
        turns=turns,
        answerable=answerable,
        expected_facts=facts,
        expected_sources=sources,
        lang=lang if lang in LANGS else detect_language(" ".join(turns)),
        tags=tags,
        ground_truth=ground_truth,
        origin=origin,
    )


# -- files ------------------------------------------------------------------------------
def _jsonl_items(path: Path, text: str) -> Iterable[tuple[str, object | DatasetError]]:
    for number, line in enumerate(text.splitlines(), start=1):
        origin = f"{path}:{number}"
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):  # blank lines and comments are allowed
            continue
        try:
            yield origin, json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield origin, DatasetError([f"{origin}: invalid JSON: {exc.msg} (column {exc.colno})"])


def _yaml_items(path: Path, text: str) -> Iterable[tuple[str, object | DatasetError]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        yield f"{path}{line}", DatasetError([f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}"])
        return
    if data is None:
        return
    if isinstance(data, Mapping) and "records" in data and isinstance(node, yaml.MappingNode):
        # {"records": [...]} is accepted too; find the node of that key for line numbers.
        node = next(v for k, v in node.value if k.value == "records")
        data = data["records"]
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        yield f"{path}:1", DatasetError([f"{path}:1: a YAML dataset must be a list of records"])
        return
    for item, item_node in zip(data, node.value, strict=True):
        yield f"{path}:{item_node.start_mark.line + 1}", item


def _items(path: Path) -> Iterable[tuple[str, object | DatasetError]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield str(path), DatasetError([f"{path}: cannot read: {exc}"])
        return
    if path.suffix.lower() in (".yaml", ".yml"):
        yield from _yaml_items(path, text)
    else:
        yield from _jsonl_items(path, text)


def load_datasets(paths: Sequence[str | Path]) -> list[Record]:
    """Every record of every file, in order; raises one DatasetError listing all bad lines.

    Ids must be unique across all the files. JSONL is read from any suffix except
    .yaml/.yml, which are read as a YAML list of records.
    """
    records: list[Record] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        count = 0
        for origin, item in _items(path):
            if isinstance(item, DatasetError):
                problems.extend(item.problems)
                continue
            try:
                record = parse_record(item, origin)
            except DatasetError as exc:
                problems.extend(exc.problems)
                continue
            count += 1
            if record.id in seen:
                problems.append(f"{origin}: duplicate id {record.id!r} (first at {seen[record.id]})")
                continue
            seen[record.id] = origin
            records.append(record)
        if count == 0 and not any(p.startswith(str(path)) for p in problems):
            problems.append(f"{path}: no records")
    if problems:
        raise DatasetError(problems)
    return records


def load_dataset(path: str | Path) -> list[Record]:
    """The records of one file (see `load_datasets`)."""
    return load_datasets([path])


def dump_records(records: Iterable[Record]) -> str:
    """Records as JSONL text, one per line (the inverse of loading a .jsonl file)."""
    return "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)
