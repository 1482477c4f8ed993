"""The `tia` command.

Core commands live here; `serve`, `eval` and other presenters are loaded from the
`tia.commands` entry-point group only when called (the way `llm` loads plugins), so
`tia ask` never imports Gradio or torch.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from typing import Any

import click

from knowledge.errors import ConfigError, NotFoundError, TiaError

__all__ = ["main", "cli", "make_assistant", "settings_from_context"]


def settings_from_context(ctx: click.Context) -> Any:
    """The settings the `tia` group's options and the TIA_* environment describe (resolved once, here)."""
    from knowledge.settings import load_settings

    opts = ctx.find_root().params
    # `tia ingest --device` (the command's own option) wins over `tia --device`.
    device = ctx.params.get("device") or opts.get("device")
    return load_settings(
        data_dir=opts.get("data_dir"), chroma_url=opts.get("chroma_url"), embedder=opts.get("embedder"), device=device
    )


def make_assistant(ctx: click.Context) -> Any:
    from assistant.service import Assistant

    return Assistant(settings_from_context(ctx))


DEVICE_HELP = (
    "Where a sentence-transformers embedder runs: auto (default: cuda, else mps, else cpu), "
    "cpu, cuda, cuda:N or mps; fp16 on cuda. e5-small runs on the CPU only."
)


class LazyGroup(click.Group):
    """A click group whose extra subcommands come from the `tia.commands` entry points."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="tia.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = self._plugins().get(cmd_name)
        if ep is None:
            return None
        try:
            return ep.load()
        except ImportError as exc:
            message = f"the command {cmd_name!r} is not available: {exc}"

            @click.command(cmd_name, help=f"(unavailable: {exc})", context_settings={"ignore_unknown_options": True})
            @click.argument("args", nargs=-1, type=click.UNPROCESSED)
            def unavailable(args: tuple[str, ...]) -> None:
                raise click.ClickException(message)

            return unavailable


@click.group(cls=LazyGroup)
@click.option("--data-dir", envvar="TIA_DATA_DIR", type=click.Path(file_okay=False), help="Where tia keeps its data.")
@click.option("--chroma-url", envvar="TIA_CHROMA_URL", help="Use a `chroma run` server instead of the embedded store.")
@click.option("--embedder", envvar="TIA_EMBEDDER", help="e5-small (default), minilm, or st:PATH.")
@click.option("--device", envvar="TIA_DEVICE", help=DEVICE_HELP)
@click.version_option(package_name="tia")
def cli(data_dir: str | None, chroma_url: str | None, embedder: str | None, device: str | None) -> None:
    """tia: answers questions about Territoires d'industrie from its documents, with sources."""


class TiaClickError(click.ClickException):
    """A TiaError at the CLI edge: configuration errors exit 2, the others 1."""

    def __init__(self, exc: TiaError) -> None:
        super().__init__(str(exc))
        self.exit_code = 2 if isinstance(exc, ConfigError) else 1


def _fail(exc: TiaError) -> None:
    raise TiaClickError(exc) from exc


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--bundled", is_flag=True, help="Ingest the bundled Territoires d'industrie corpus.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, only the summary.")
@click.option("--device", help=DEVICE_HELP + " Overrides tia --device / TIA_DEVICE.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True,
    help="Processes reading and chunking files in parallel (PDF parsing); embedding stays in one.",
)
@click.pass_context
def ingest(
    ctx: click.Context, paths: tuple[str, ...], bundled: bool, quiet: bool, device: str | None, workers: int
) -> None:
    """Ingest files or folders (txt, md, html, pdf). Re-ingesting unchanged files does nothing."""
    from knowledge.base import BUNDLED_CORPUS

    targets = list(paths) + ([str(BUNDLED_CORPUS)] if bundled else [])
    if not targets:
        raise click.UsageError("give files or folders to ingest, or --bundled")
    assistant = make_assistant(ctx)
    try:
        report = assistant.ingest(targets, progress=not quiet and sys.stderr.isatty(), workers=workers)
    except TiaError as exc:
        _fail(exc)
    for f in report.files:
        if f.status == "failed":
            click.echo(f"failed: {f.error}", err=True)
        elif not quiet:
            note = f" ({f.error})" if f.error else ""
            click.echo(f"{f.status}: {f.path} [{f.chunks} chunks]{note}")
    if report.skipped:
        from pathlib import Path

        from ingest.loaders import SUPPORTED_EXTENSIONS

        readable = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        for path in report.skipped:
            kind = Path(path).suffix or "no extension"
            click.echo(f"skipped: {path} (unsupported type {kind}; tia reads {readable})", err=True)
    click.echo(report.summary())
    if not report.ok:
        ctx.exit(1)


def _filters(region: tuple[str, ...], source: tuple[str, ...], date_from: str | None, date_to: str | None) -> Any:
    from knowledge.filters import Filters
    from knowledge.regions import canonical_region

    regions = []
    for r in region:
        name = canonical_region(r)
        if name is None:
            raise click.BadParameter(f"unknown region {r!r}", param_hint="--region")
        regions.append(name)
    return Filters(sources=tuple(source), regions=tuple(regions), date_from=date_from, date_to=date_to)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the whole Answer as one JSON object.")
@click.option("--region", multiple=True, help="Only documents about this region (name or acronym, e.g. CVL).")
@click.option("--source", multiple=True, help="Only this document (path, file name or doc id).")
@click.option("--from", "date_from", help="Only documents dated on or after (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", help="Only documents dated on or before (YYYY[-MM[-DD]]).")
@click.option("--k", type=click.IntRange(1, 100), help="Passages to retrieve (default 8).")
@click.pass_context
def ask(
    ctx: click.Context,
    question: str,
    as_json: bool,
    region: tuple[str, ...],
    source: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
    k: int | None,
) -> None:
    """Ask one question; prints the answer and its sources."""
    filters = _filters(region, source, date_from, date_to)
    assistant = make_assistant(ctx)
    try:
        answer = assistant.answer(question, filters=filters, k=k)
    except TiaError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        click.echo(answer.to_markdown().rstrip())
    for warning in answer.warnings:
        if not warning.startswith("abstained:"):
            click.echo(f"Warning: {warning}", err=True)


@cli.command()
@click.option("--region", multiple=True, help="Only documents about this region.")
@click.pass_context
def chat(ctx: click.Context, region: tuple[str, ...]) -> None:
    """A conversation in the terminal (follow-up questions understood). Empty line or Ctrl-D to quit."""
    filters = _filters(region, (), None, None)
    assistant = make_assistant(ctx)
    history: list[dict[str, str]] = []
    try:
        assistant.warm_up()
    except TiaError as exc:
        _fail(exc)
    click.echo("tia — posez votre question / ask your question (empty line to quit).")
    while True:
        try:
            question = click.prompt("?", default="", show_default=False, prompt_suffix=" ")
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        try:
            answer = assistant.answer(question, history=history, filters=filters)
        except TiaError as exc:
            click.echo(f"Error: {exc}", err=True)
            continue
        click.echo(answer.to_markdown())
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """List the ingested documents with their chunk counts and dates."""
    docs = make_assistant(ctx).documents()
    if as_json:
        rows = [
            {"doc_id": d.doc_id, "source": d.source, "title": d.title, "date": d.date, "format": d.format, "chunks": d.chunks, "regions": d.regions}
            for d in docs
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not docs:
        click.echo("No documents yet: run `tia ingest --bundled` or `tia ingest PATH`.")
        return
    for d in docs:
        click.echo(f"{d.doc_id}  {d.date or '—':10}  {d.chunks:3} chunks  {d.name}  {d.title[:70]}")
    click.echo(f"{len(docs)} documents, {sum(d.chunks for d in docs)} chunks")


@cli.command()
@click.argument("source")
@click.pass_context
def remove(ctx: click.Context, source: str) -> None:
    """Delete a document (path, file name or doc id) and all its chunks."""
    try:
        doc = make_assistant(ctx).remove(source)
    except NotFoundError as exc:
        _fail(exc)
    click.echo(f"removed: {doc.source} ({doc.chunks} chunks)")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Where the store is, which embedder, how many documents and chunks."""
    try:
        info = make_assistant(ctx).status()
    except TiaError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        for key, value in info.items():
            click.echo(f"{key:12} {value}")


def main() -> None:
    try:
        cli(prog_name="tia")
    except ConfigError as exc:  # raised while building settings, before a command's own handler
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except TiaError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
