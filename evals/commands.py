"""`tia eval` and `tia eval-import-ragas`, loaded by the `tia` group from the `tia.commands` entry points.

Exit status of `tia eval`: 0 when every --fail-under/--fail-over threshold holds, 1 when
one does not, 2 for a usage, dataset or configuration error (CI gates on it).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from evals.dataset import DatasetError, Record, dump_records, load_datasets
from evals.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER, Threshold, is_known_metric, lower_is_better
from knowledge.errors import TiaError

__all__ = ["eval_command", "ragas_import", "build_assistant"]

_OUT_ROOT = Path(".eval-out")


class _Exit2(click.ClickException):
    """A clean one-line error with exit status 2 (usage, dataset or configuration)."""

    exit_code = 2


def build_assistant(ctx: click.Context) -> Any:
    """The real Assistant, configured from the `tia` group's options and the TIA_* environment."""
    from assistant.cli import make_assistant

    return make_assistant(ctx)


def _valid_names() -> str:
    return ", ".join([*HIGHER_IS_BETTER, "hit@N", "mrr", *LOWER_IS_BETTER, "latency_STAGE_{p50,p95,max}"])


def _thresholds(fail_under: tuple[str, ...], fail_over: tuple[str, ...]) -> list[Threshold]:
    out: list[Threshold] = []
    for kind, specs in (("under", fail_under), ("over", fail_over)):
        option = f"--fail-{kind}"
        for spec in specs:
            name, sep, raw = spec.partition("=")
            name = name.strip()
            try:
                limit = float(raw)
            except ValueError:
                limit = None
            if not sep or limit is None:
                raise click.BadParameter(f"expected METRIC=VALUE, got {spec!r}", param_hint=option)
            if not is_known_metric(name):
                raise click.BadParameter(f"unknown metric {name!r}; valid names: {_valid_names()}", param_hint=option)
            if kind == "under" and lower_is_better(name):
                raise click.BadParameter(f"{name} is better when lower: use --fail-over {spec}", param_hint=option)
            if kind == "over" and not lower_is_better(name):
                raise click.BadParameter(f"{name} is better when higher: use --fail-under {spec}", param_hint=option)
            out.append(Threshold(name, kind, limit))
    return out


def _out_dir(out: Path | None) -> Path:
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = _OUT_ROOT / stamp
        n = 1
        while out.exists():
            n += 1
            out = _OUT_ROOT / f"{stamp}-{n}"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _Exit2(f"--out {out}: cannot create the directory: {exc}") from exc
    return out


@click.command("eval")
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Report directory (default .eval-out/TIMESTAMP).")
@click.option("--k", type=click.IntRange(1, 100), help="Passages to retrieve per question (default: the settings' k).")
@click.option("--fail-under", multiple=True, metavar="METRIC=VALUE", help="Exit 1 when METRIC < VALUE (repeatable).")
@click.option("--fail-over", multiple=True, metavar="METRIC=VALUE", help="Exit 1 when METRIC > VALUE, for lower-is-better metrics.")
@click.option("--compare", type=click.Path(exists=True, path_type=Path), help="An earlier report.json (or its directory): show deltas and flips.")
@click.option("--export-ragas", type=click.Path(dir_okay=False, path_type=Path), help="Also write the answers in RAGAS columns (.jsonl, .json or .csv).")
@click.option("--bundled", is_flag=True, help="Ingest the bundled corpus first (does nothing when it is already in).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def eval_command(
    ctx: click.Context,
    datasets: tuple[Path, ...],
    out: Path | None,
    k: int | None,
    fail_under: tuple[str, ...],
    fail_over: tuple[str, ...],
    compare: Path | None,
    export_ragas: Path | None,
    bundled: bool,
    quiet: bool,
) -> None:
    """Run evaluation DATASETs (JSONL or YAML) against the assistant and write reports.

    Writes OUT/answers.jsonl, OUT/report.json, OUT/report.md and OUT/report.html.
    """
    from evals.report import build_report, load_report, render_html, render_markdown
    from evals.runner import describe_run, run_records, write_answers

    thresholds = _thresholds(fail_under, fail_over)
    try:
        records = load_datasets(datasets)
        previous = load_report(compare) if compare is not None else None
    except TiaError as exc:
        raise _Exit2(str(exc)) from exc
    target = _out_dir(out)
    try:
        assistant = build_assistant(ctx)
        if not bundled and hasattr(assistant, "documents") and not assistant.documents():
            # Nothing to evaluate against: a fresh install evaluates the bundled corpus.
            click.echo("The knowledge base is empty: ingesting the bundled corpus first.", err=True)
            bundled = True
        if bundled:
            report = assistant.ingest_bundled(progress=not quiet and sys.stderr.isatty())
            if not report.ok:
                raise _Exit2("the bundled corpus could not be ingested: " + report.summary())
        runs = run_records(assistant, records, k=k, progress=not quiet)
        config = describe_run(assistant, k=k, datasets=datasets, records=len(records))
    except TiaError as exc:
        raise _Exit2(str(exc)) from exc

    report = build_report(runs, config, thresholds, previous)
    paths = {
        "answers": target / "answers.jsonl",
        "report.json": target / "report.json",
        "report.md": target / "report.md",
        "report.html": target / "report.html",
    }
    write_answers(paths["answers"], runs)
    paths["report.json"].write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths["report.md"].write_text(render_markdown(report), encoding="utf-8")
    paths["report.html"].write_text(render_html(report), encoding="utf-8")
    if export_ragas is not None:
        from evals.ragas import to_ragas_rows, write_ragas

        write_ragas(export_ragas, to_ragas_rows((r.record, r.answer) for r in runs))
        paths["ragas"] = export_ragas

    _summary(report)
    for path in paths.values():
        click.echo(f"wrote {path}")
    failed = [t for t in report["thresholds"] if not t["ok"]]
    for t in failed:
        click.echo(f"FAILED: {t['message']}", err=True)
    if failed:
        ctx.exit(1)


def _summary(report: dict[str, Any]) -> None:
    m, c = report["metrics"], report["counts"]

    def f(name: str) -> str:
        value = m.get(name)
        return "n/a" if value is None else f"{value:.3f}"

    click.echo(
        f"{c['passed']}/{c['records']} passed; fact_recall {f('fact_recall')}, citation_hit {f('citation_hit')}, "
        f"abstention_accuracy {f('abstention_accuracy')}, false_abstention {f('false_abstention')}, mrr {f('mrr')}"
    )
    compare = report.get("compare")
    if compare:
        click.echo(f"vs previous: {len(compare['pass_to_fail'])} pass→fail, {len(compare['fail_to_pass'])} fail→pass")


@click.command("eval-import-ragas")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the tia JSONL dataset here (default: stdout).")
def ragas_import(source: Path, output: Path | None) -> None:
    """Turn a RAGAS file (question/answer/contexts/ground_truth; .jsonl, .json or .csv) into a tia dataset."""
    from evals.ragas import read_ragas, records_from_ragas

    try:
        records: list[Record] = records_from_ragas(read_ragas(source), origin=str(source))
    except DatasetError as exc:
        raise _Exit2(str(exc)) from exc
    text = dump_records(records)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(records)} records to {output}", err=True)
