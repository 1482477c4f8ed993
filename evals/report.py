"""Reports of a run: report.json (everything, self-contained), report.md and report.html.

`build_report` turns the runs into plain data; `render_markdown` and `render_html`
only format that data, so a report.json from an earlier run renders the same way.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.metrics import (
    DEFAULT_HIT_KS,
    Threshold,
    check_thresholds,
    compute_metrics,
    group_metrics,
    lower_is_better,
    score_record,
)
from evals.runner import RecordRun
from knowledge.errors import ConfigError

__all__ = ["REPORT_FORMAT", "build_report", "compare_reports", "load_report", "render_markdown", "render_html"]

REPORT_FORMAT = "tia-eval-report/1"


def _record_entry(run: RecordRun) -> dict[str, Any]:
    record, answer = run.record, run.answer
    score = score_record(record, answer)
    return {
        "id": record.id,
        "origin": record.origin,
        "turns": list(record.turns),
        "lang": record.lang,
        "tags": list(record.tags),
        "answerable": record.answerable,
        "passed": score.passed,
        "reasons": list(score.reasons),
        "abstained": answer.abstained,
        "facts": [{"alternatives": list(g), "found": ok} for g, ok in zip(record.expected_facts, score.facts, strict=True)],
        "expected_sources": list(record.expected_sources),
        "citation_hit": score.citation_hit,
        "first_relevant_rank": score.first_relevant_rank,
        "length": score.length,
        "total_ms": answer.timings.get("total"),
        "answer": answer.text,
        "citations": [
            {"n": c.n, "source": c.source, "title": c.title, "page": c.page, "quote": c.quote} for c in answer.citations
        ],
        "warnings": list(answer.warnings),
    }


def build_report(
    runs: Sequence[RecordRun],
    config: dict[str, Any],
    thresholds: Sequence[Threshold] = (),
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything about a run as JSON-ready data: config, metrics, per-group metrics, records, checks."""
    pairs = [(r.record, r.answer) for r in runs]
    k = config.get("k")
    # hit@k of the run, and any hit@N a threshold names, besides the usual ones.
    named = [int(t.metric[4:]) for t in thresholds if t.metric.startswith("hit@")]
    metrics = compute_metrics(pairs, hit_ks=(*DEFAULT_HIT_KS, *([k] if isinstance(k, int) else []), *named))
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "counts": {
            "records": len(pairs),
            "answerable": sum(r.answerable for r, _ in pairs),
            "unanswerable": sum(not r.answerable for r, _ in pairs),
            "passed": sum(score_record(r, a).passed for r, a in pairs),
            "fr": sum(r.lang == "fr" for r, _ in pairs),
            "en": sum(r.lang == "en" for r, _ in pairs),
        },
        "metrics": metrics,
        "by_lang": group_metrics(pairs, key=lambda r: [r.lang]),
        "by_tag": group_metrics(pairs, key=lambda r: r.tags),
        "thresholds": [
            {"metric": t.metric, "kind": t.kind, "limit": t.limit, "ok": ok, "message": message}
            for t, ok, message in check_thresholds(metrics, thresholds)
        ],
        "records": [_record_entry(run) for run in runs],
    }
    if previous is not None:
        report["compare"] = compare_reports(previous, report)
    return report


def compare_reports(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Metric deltas (current - previous) and the records whose verdict flipped."""
    before, after = previous.get("metrics", {}), current.get("metrics", {})
    deltas: dict[str, dict[str, Any]] = {}
    for name in after:
        old, new = before.get(name), after[name]
        delta = new - old if isinstance(old, int | float) and isinstance(new, int | float) else None
        better = None if not delta else (delta < 0) == lower_is_better(name)
        deltas[name] = {"previous": old, "current": new, "delta": delta, "better": better}
    old_records = {r["id"]: r for r in previous.get("records", [])}
    new_records = {r["id"]: r for r in current.get("records", [])}
    common = [rid for rid in new_records if rid in old_records]
    return {
        "previous_created": previous.get("created"),
        "previous_config": previous.get("config", {}),
        "metrics": deltas,
        "pass_to_fail": [rid for rid in common if old_records[rid]["passed"] and not new_records[rid]["passed"]],
        "fail_to_pass": [rid for rid in common if not old_records[rid]["passed"] and new_records[rid]["passed"]],
        "added": [rid for rid in new_records if rid not in old_records],
        "removed": [rid for rid in old_records if rid not in new_records],
    }


def load_report(path: str | Path) -> dict[str, Any]:
    """A report.json from an earlier run (or the directory holding one); ConfigError when it is not one."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--compare {p}: cannot read a report: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict) or not isinstance(data.get("records"), list):
        raise ConfigError(f"--compare {p}: not a tia eval report.json (no metrics/records)")
    return data


# -- formatting -------------------------------------------------------------------------
def _fmt(value: Any, name: str = "") -> str:
    """Rates with 3 decimals; milliseconds with 1; character counts as integers."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and name.startswith("latency_"):
        return f"{value:.1f}"
    if isinstance(value, int | float) and name.startswith("length_"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _delta(entry: dict[str, Any] | None, name: str) -> str:
    if not entry or entry.get("delta") is None:
        return "n/a"
    delta = entry["delta"]
    if delta == 0:
        return "="
    arrow = "▲" if entry["better"] else "▼"
    digits = 1 if name.startswith("latency_") else 0 if name.startswith("length_") else 3
    return f"{arrow} {delta:+.{digits}f}"


def _summary_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    compare = report.get("compare")
    limits = {t["metric"]: t for t in report.get("thresholds", [])}
    header = ["metric", "value"] + (["previous", "change"] if compare else []) + (["threshold"] if limits else [])
    rows = []
    for name, value in report["metrics"].items():
        row = [name, _fmt(value, name)]
        if compare:
            entry = compare["metrics"].get(name)
            row += [_fmt(entry["previous"], name) if entry else "n/a", _delta(entry, name)]
        if limits:
            t = limits.get(name)
            row.append("" if t is None else f"{'≥' if t['kind'] == 'under' else '≤'} {t['limit']:g} {'ok' if t['ok'] else 'FAILED'}")
        rows.append(row)
    return header, rows


def _config_line(report: dict[str, Any]) -> str:
    c = report["config"]
    keys = ("tia_version", "embedder", "k", "store", "answerer", "corpus_fingerprint", "documents")
    return ", ".join(f"{key} {c.get(key)}" for key in keys if c.get(key) is not None)


def _failed(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["records"] if not r["passed"]]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    counts = report["counts"]
    out = [
        "# tia evaluation report",
        "",
        f"{report['created']} — {counts['records']} records ({counts['answerable']} answerable, "
        f"{counts['unanswerable']} unanswerable; {counts['fr']} fr, {counts['en']} en), "
        f"{counts['passed']} passed.",
        "",
        f"Configuration: {_config_line(report)}.",
        "",
    ]
    header, rows = _summary_rows(report)
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    for title, key in (("By language", "by_lang"), ("By tag", "by_tag")):
        groups = report.get(key) or {}
        if groups:
            names = list(next(iter(groups.values())))
            out += ["", f"## {title}", "", "| group | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
            out += [f"| {g} | " + " | ".join(_fmt(v.get(n)) for n in names) + " |" for g, v in groups.items()]
    checks = report.get("thresholds") or []
    if checks:
        out += ["", "## Thresholds", ""] + [f"- {'ok' if t['ok'] else 'FAILED'}: {t['message']}" for t in checks]
    compare = report.get("compare")
    if compare:
        out += ["", f"## Compared with the run of {compare.get('previous_created')}", ""]
        for label, key in (("pass → fail", "pass_to_fail"), ("fail → pass", "fail_to_pass"), ("new records", "added"), ("removed records", "removed")):
            ids = compare.get(key) or []
            out.append(f"- {label} ({len(ids)}): {', '.join(ids) if ids else '—'}")
    failed = _failed(report)
    out += ["", f"## Failed questions ({len(failed)})"]
    for r in failed:
        out += ["", f"### {r['id']}", ""]
        for i, turn in enumerate(r["turns"], start=1):
            prefix = f"Turn {i}: " if len(r["turns"]) > 1 else "Question: "
            out.append(f"- {prefix}{turn}")
        out.append(f"- Expected: {'an answer' if r['answerable'] else 'an abstention'}"
                   + (f", sources {', '.join(r['expected_sources'])}" if r["expected_sources"] else ""))
        for f in r["facts"]:
            out.append(f"  - [{'x' if f['found'] else ' '}] {' / '.join(f['alternatives'])}")
        out.append(f"- Why: {'; '.join(r['reasons'])}")
        out += ["", "> " + (r["answer"] or "(empty answer)").replace("\n", "\n> ")]
        if r["citations"]:
            out.append("")
            for c in r["citations"]:
                name = c["source"].replace("\\", "/").rsplit("/", 1)[-1]
                page = f", p. {c['page']}" if c.get("page") else ""
                out.append(f"- [{c['n']}] {name}{page}: « {_md_cell(c['quote'])} »")
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#17643a}.bad{color:#b00020;font-weight:600}.better{color:#17643a}.worse{color:#b00020}
section.q{border-top:1px solid #ddd;margin-top:1.5rem}blockquote{background:#f7f7f7;margin:.5rem 0;padding:.5rem 1rem;white-space:pre-wrap}
li.found::marker{content:"✔ "}li.missing::marker{content:"✘ "}li.missing{color:#b00020}.muted{color:#666}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[Sequence[str]] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = classes[i][j] if classes else ""
            cells.append(f'<td class="{_e(cls)}">{_e(cell)}</td>' if cls else f"<td>{_e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page (inline CSS); every string from the dataset or the answers is escaped."""
    counts = report["counts"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>tia evaluation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>tia evaluation report</h1>",
        f"<p>{_e(report['created'])} — {counts['records']} records ({counts['answerable']} answerable, "
        f"{counts['unanswerable']} unanswerable; {counts['fr']} fr, {counts['en']} en), <b>{counts['passed']} passed</b>.</p>",
        f"<p class='muted'>Configuration: {_e(_config_line(report))}</p>",
    ]
    header, rows = _summary_rows(report)
    classes = []
    for row in rows:
        cls = ["", "num"] + [""] * (len(row) - 2)
        for j, cell in enumerate(row):
            if cell.startswith("▲"):
                cls[j] = "better"
            elif cell.startswith("▼"):
                cls[j] = "worse"
            elif cell.endswith("FAILED"):
                cls[j] = "bad"
        classes.append(cls)
    parts.append(_html_table(header, rows, classes))
    for title, key in (("By language", "by_lang"), ("By tag", "by_tag")):
        groups = report.get(key) or {}
        if groups:
            names = list(next(iter(groups.values())))
            parts.append(f"<h2>{title}</h2>")
            parts.append(_html_table(["group", *names], [[g, *(_fmt(v.get(n)) for n in names)] for g, v in groups.items()]))
    checks = report.get("thresholds") or []
    if checks:
        parts.append("<h2>Thresholds</h2><ul>")
        parts += [f"<li class='{'ok' if t['ok'] else 'bad'}'>{_e(t['message'])}</li>" for t in checks]
        parts.append("</ul>")
    compare = report.get("compare")
    if compare:
        parts.append(f"<h2>Compared with the run of {_e(compare.get('previous_created'))}</h2><ul>")
        for label, key in (("pass → fail", "pass_to_fail"), ("fail → pass", "fail_to_pass"), ("new records", "added"), ("removed records", "removed")):
            ids = compare.get(key) or []
            parts.append(f"<li>{label} ({len(ids)}): {_e(', '.join(ids)) if ids else '—'}</li>")
        parts.append("</ul>")
    failed = _failed(report)
    parts.append(f"<h2>Failed questions ({len(failed)})</h2>")
    for r in failed:
        parts.append(f"<section class='q'><h3 id='{_e(r['id'])}'>{_e(r['id'])}</h3><ol>")
        parts += [f"<li>{_e(turn)}</li>" for turn in r["turns"]]
        parts.append("</ol>")
        expected = "an answer" if r["answerable"] else "an abstention"
        sources = f", sources {', '.join(r['expected_sources'])}" if r["expected_sources"] else ""
        parts.append(f"<p>Expected: {_e(expected + sources)}</p>")
        if r["facts"]:
            parts.append("<ul>")
            parts += [
                f"<li class='{'found' if f['found'] else 'missing'}'>{_e(' / '.join(f['alternatives']))}</li>" for f in r["facts"]
            ]
            parts.append("</ul>")
        parts.append(f"<p class='bad'>{_e('; '.join(r['reasons']))}</p>")
        parts.append(f"<blockquote>{_e(r['answer'] or '(empty answer)')}</blockquote>")
        if r["citations"]:
            parts.append("<ul class='citations'>")
            for c in r["citations"]:
                name = c["source"].replace("\\", "/").rsplit("/", 1)[-1]
                page = f", p. {c['page']}" if c.get("page") else ""
                parts.append(f"<li>[{_e(c['n'])}] {_e(name + page)}: « {_e(c['quote'])} »</li>")
            parts.append("</ul>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
