"""`tia serve` and `tia feedback export`, loaded by the `tia` group from the
`tia.commands` entry points. Importing this module imports neither Gradio nor the
assistant stack: they load when a command runs."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from knowledge.errors import TiaError

if TYPE_CHECKING:
    from knowledge.settings import Settings

__all__ = ["serve", "feedback"]


def _settings(ctx: click.Context) -> Settings:
    from assistant.cli import settings_from_context

    return settings_from_context(ctx)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535))
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64), help="Questions answered at once.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, concurrency: int, open_browser: bool) -> None:
    """Open the assistant in the browser: chat with sources, documents, and the HTTP API.

    Set TIA_AUTH="user:password,user2:password2" to require a login. After
    TIA_LOGIN_MAX_FAILURES (10) failed logins from one address within
    TIA_LOGIN_WINDOW_S (60) seconds, that address must wait.
    """
    from ui.server import login_limiter_from_env, parse_auth, run_server

    try:
        auth = parse_auth(os.environ.get("TIA_AUTH"))
        login_limiter = login_limiter_from_env()
        from assistant.service import Assistant

        run_server(
            Assistant(_settings(ctx)),
            host,
            port,
            auth=auth,
            concurrency=concurrency,
            open_browser=open_browser,
            login_limiter=login_limiter,
        )
    except TiaError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def feedback() -> None:
    """Users' verdicts on answers, kept in <data dir>/feedback.jsonl."""


@feedback.command("export")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file instead of stdout.")
@click.pass_context
def export(ctx: click.Context, out: str | None) -> None:
    """Turn the feedback into a draft evaluation dataset (JSONL, see evals/README.md).

    Useful answers give expected_sources; expected_facts are left empty. Review each
    record (a # line above it shows the user's verdict, comment and the answer), fill
    expected_facts, then delete "draft": true so that `tia eval` runs it.
    """
    from ui.feedback import FeedbackLog, export_jsonl, export_records, feedback_path

    try:
        settings = _settings(ctx)
        records = FeedbackLog(feedback_path(settings.data_dir)).read()
    except TiaError as exc:
        raise click.ClickException(str(exc)) from exc
    items = export_records(records)
    text = export_jsonl(records)
    if out:
        try:
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
    else:
        sys.stdout.write(text)
    useful = sum(1 for i in items if "useful" in i["tags"])
    click.echo(
        f"{len(items)} draft records ({useful} from useful answers) from {len(records)} feedback entries"
        + (f" written to {out}" if out else ""),
        err=True,
    )
