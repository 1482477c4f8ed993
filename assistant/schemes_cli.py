"""`tia schemes [--region R] [--json]`: the catalogue of support schemes.

Loaded by the `tia` group from the `tia.commands` entry point
(`schemes = "assistant.schemes_cli:schemes"`). It reads the stored documents only:
no embedding model, no vector store.
"""

from __future__ import annotations

import json

import click

from knowledge.errors import ConfigError, TiaError

__all__ = ["schemes"]


@click.command("schemes")
@click.option("--region", help="Only schemes that apply in this region (name or acronym, e.g. CVL); national ones included.")
@click.option("--json", "as_json", is_flag=True, help="Print the schemes as a JSON list.")
@click.pass_context
def schemes(ctx: click.Context, region: str | None, as_json: bool) -> None:
    """List the support schemes (dispositifs) found in the ingested documents, with their sources."""
    from assistant.cli import TiaClickError, make_assistant
    from knowledge.regions import canonical_region
    from ingest.schemes import scheme_catalogue

    if region is not None and canonical_region(region) is None:
        raise click.BadParameter(f"unknown region {region!r}", param_hint="--region")
    assistant = make_assistant(ctx)
    try:
        found = scheme_catalogue(assistant.kb).find(region=region)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--region") from exc
    except TiaError as exc:
        raise TiaClickError(exc) from exc
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in found], ensure_ascii=False, indent=2))
        return
    if not found:
        if assistant.documents():
            click.echo("No scheme found in the ingested documents" + (f" for {region}." if region else "."))
        else:
            click.echo("No documents yet: run `tia ingest --bundled` or `tia ingest PATH`.")
        return
    for s in found:
        click.echo(s.display_name)
        details = [
            f"amount: {s.amount or '—'}",
            f"region: {s.region or 'national'}",
            f"period: {s.period or '—'}",
        ]
        click.echo("    " + " | ".join(details))
        if s.purpose:
            click.echo(f"    what: {s.purpose}")
        if s.phases:
            click.echo(f"    phase: {', '.join(str(p) for p in s.phases)}")
        if s.beneficiaries:
            # One line for each statement of who may apply (the field models may read up to three).
            first, *more = s.beneficiaries.split(" ; ")
            click.echo(f"    for: {first}")
            for piece in more:
                click.echo(f"         {piece}")
        sources = [s.source_name] + [a["source"].replace("\\", "/").rsplit("/", 1)[-1] for a in s.also]
        click.echo(f"    source: {', '.join(sources)} [{s.start}:{s.end}]")
    click.echo(f"{len(found)} schemes")
