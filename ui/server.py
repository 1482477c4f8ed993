"""One FastAPI app: the JSON/OpenAI routes of `ui.api` plus the Gradio page at `/`.

Usage::

    app = create_app(Assistant(load_settings()))        # for tests or another ASGI server
    serve(load_settings(), host="127.0.0.1", port=7860)  # what `tia serve` does

Nothing is fetched from outside: no Gradio share link, no analytics, system fonts,
no CDN-hosted API docs page (the OpenAPI schema is at `/openapi.json`, the Gradio
endpoint `/ask` is documented on the page's "API" link).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from knowledge.errors import ConfigError
from knowledge.settings import Settings

__all__ = ["create_app", "serve", "run_server", "parse_auth", "BasicAuthMiddleware"]

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

Credentials = Sequence[tuple[str, str]]


def parse_auth(value: str | None) -> list[tuple[str, str]]:
    """`TIA_AUTH`: "user:password" pairs separated by commas -> [(user, password)]."""
    if value is None or not value.strip():
        return []
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise ConfigError("TIA_AUTH: expected user:password pairs separated by commas, e.g. 'ana:s3cret,bob:pw'")
        pairs.append((user, password))
    return pairs


class BasicAuthMiddleware:
    """Every request needs a known user: HTTP Basic (browsers ask once and resend it,
    also for the page's own calls) or `Authorization: Bearer user:password` (how an
    OpenAI client passes its `api_key`)."""

    def __init__(self, app: Any, users: Credentials) -> None:
        self.app = app
        self.users = [(u.encode(), p.encode()) for u, p in users]

    def _allowed(self, header: bytes) -> bool:
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() == "basic":
            try:
                token = base64.b64decode(token.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
        elif scheme.lower() != "bearer":
            return False
        user, _, password = token.strip().partition(":")
        ok = False
        for known_user, known_password in self.users:  # no early exit: same time for every user
            ok |= secrets.compare_digest(user.encode(), known_user) & secrets.compare_digest(
                password.encode(), known_password
            )
        return ok

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        if header and self._allowed(header):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return None
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Basic realm="tia", charset="UTF-8"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b'{"error": "authentication required"}'})
        return None


def create_app(
    assistant: Any,
    *,
    auth: Credentials | None = None,
    limit_mb: int = 20,
    concurrency: int = 4,
) -> Any:
    """The FastAPI app serving `assistant`: API routes first, then the Gradio page at `/`."""
    import gradio as gr
    from fastapi import FastAPI

    from ui.api import api_router, install_error_handlers
    from ui.app import build_page, page_options

    app = FastAPI(
        title="tia",
        summary="Answers questions about Territoires d'industrie from its documents, every claim cited.",
        docs_url=None,  # Swagger UI would load its scripts from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    app.include_router(api_router(assistant))
    page = build_page(assistant, limit_mb=limit_mb, concurrency=concurrency)
    gr.mount_gradio_app(
        app,
        page,
        path="/",
        footer_links=["api"],
        run_history=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        show_error=True,
        max_file_size=f"{limit_mb}mb",
        **page_options(),
    )
    if auth:
        app.add_middleware(BasicAuthMiddleware, users=list(auth))
    return app


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run_server(
    assistant: Any,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    auth: Credentials | None = None,
    concurrency: int = 4,
    open_browser: bool = False,
) -> None:
    """Warm the assistant up, then serve it until interrupted."""
    import uvicorn

    assistant.warm_up()  # the model and indexes load now, not on the first question
    if not assistant.documents():
        print("No documents yet: add some in the Documents tab, or run `tia ingest --bundled`.", file=sys.stderr)
    if not auth and not _is_loopback(host):
        print(f"Warning: serving on {host} without a login; set TIA_AUTH=user:password to require one.", file=sys.stderr)
    app = create_app(assistant, auth=auth, concurrency=concurrency)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    print(f"tia is ready: {url}  (Ctrl-C to stop)", file=sys.stderr)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, **options: Any) -> None:
    """Serve the assistant over `settings`; `TIA_AUTH` (if set) requires a login."""
    from assistant.service import Assistant

    options.setdefault("auth", parse_auth(os.environ.get("TIA_AUTH")))
    run_server(Assistant(settings), host, port, **options)
