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
import math
import os
import secrets
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Any

from knowledge.errors import ConfigError
from knowledge.settings import Settings

__all__ = [
    "create_app",
    "serve",
    "run_server",
    "parse_auth",
    "BasicAuthMiddleware",
    "LoginLimiter",
    "login_limiter_from_env",
    "LOGIN_MAX_FAILURES",
    "LOGIN_WINDOW_S",
    "LOGIN_MAX_CLIENTS",
]

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

Credentials = Sequence[tuple[str, str]]

# Failed logins: after LOGIN_MAX_FAILURES wrong credentials from one client address
# within LOGIN_WINDOW_S seconds, that address gets 429 (even with the right
# credentials) until the oldest of those failures is LOGIN_WINDOW_S old. At most
# LOGIN_MAX_CLIENTS addresses are tracked (the one whose last failure is oldest is
# forgotten first), each with at most LOGIN_MAX_FAILURES timestamps.
# TIA_LOGIN_MAX_FAILURES and TIA_LOGIN_WINDOW_S override the first two for `tia serve`.
LOGIN_MAX_FAILURES = 10
LOGIN_WINDOW_S = 60.0
LOGIN_MAX_CLIENTS = 10_000


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


class LoginLimiter:
    """Failed logins per client address, in a sliding window of `window_s` seconds.

    >>> limiter = LoginLimiter(max_failures=2, window_s=60, clock=lambda: 0.0)
    >>> limiter.failed("10.0.0.1"); limiter.failed("10.0.0.1")
    >>> limiter.retry_after("10.0.0.1")   # seconds to wait; None when it may try
    60

    `clock` (monotonic seconds) is injectable for tests.
    """

    def __init__(
        self,
        max_failures: int = LOGIN_MAX_FAILURES,
        window_s: float = LOGIN_WINDOW_S,
        *,
        max_clients: int = LOGIN_MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or window_s <= 0 or max_clients < 1:
            raise ConfigError("login limits: max_failures, window_s and max_clients must be positive")
        self.max_failures = int(max_failures)
        self.window_s = float(window_s)
        self.max_clients = int(max_clients)
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()  # oldest last failure first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many client addresses are tracked now."""
        return len(self._failures)

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until `client` may try again, or None when it may try now."""
        with self._lock:
            now = self.clock()
            times = self._recent(client, now)
            if times is None or len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[0] + self.window_s - now))

    def failed(self, client: str) -> None:
        """Count one failed login from `client`."""
        with self._lock:
            now = self.clock()
            times = self._recent(client, now)
            if times is None:
                times = deque(maxlen=self.max_failures)
            else:
                del self._failures[client]  # re-inserted last: the most recent failure
            times.append(now)
            self._failures[client] = times
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


def login_limiter_from_env(environ: Any = None) -> LoginLimiter:
    """A `LoginLimiter` from TIA_LOGIN_MAX_FAILURES / TIA_LOGIN_WINDOW_S (defaults: the constants)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for key, name, kind in (
        ("TIA_LOGIN_MAX_FAILURES", "max_failures", int),
        ("TIA_LOGIN_WINDOW_S", "window_s", float),
    ):
        raw = (env.get(key) or "").strip()
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{key}: expected a positive number, got {raw!r}") from None
        if not value > 0 or (kind is float and not math.isfinite(value)):
            raise ConfigError(f"{key}: expected a positive number, got {raw!r}")
        values[name] = value
    return LoginLimiter(**values)


class BasicAuthMiddleware:
    """Every request needs a known user: HTTP Basic (browsers ask once and resend it,
    also for the page's own calls) or `Authorization: Bearer user:password` (how an
    OpenAI client passes its `api_key`).

    Wrong or malformed credentials count as failed logins of the client address
    (`LoginLimiter`); a request without any credentials does not (a browser's first
    request has none). An address over the limit gets 429 with Retry-After, whatever
    it sends. The address is the client's as uvicorn gives it: the TCP peer's, or the
    X-Forwarded-For of a trusted proxy (127.0.0.1 unless FORWARDED_ALLOW_IPS says
    otherwise); behind a proxy that does not send it, every client shares its address."""

    def __init__(self, app: Any, users: Credentials, limiter: LoginLimiter | None = None) -> None:
        self.app = app
        self.users = [(u.encode(), p.encode()) for u, p in users]
        self.limiter = limiter if limiter is not None else LoginLimiter()

    def _allowed(self, header: bytes) -> bool:
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() == "basic":
            try:  # the decoded "user:password" is taken as is: " pw" is not "pw"
                token = base64.b64decode(token.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
        elif scheme.lower() == "bearer":
            token = token.strip()
        else:
            return False
        user, sep, password = token.partition(":")
        ok = False
        for known_user, known_password in self.users:  # no early exit: same time for every user
            ok |= secrets.compare_digest(user.encode(), known_user) & secrets.compare_digest(
                password.encode(), known_password
            )
        return ok and bool(sep)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        client = str((scope.get("client") or ("unknown", 0))[0])
        wait = self.limiter.retry_after(client)
        if wait is not None:  # credentials are not even looked at
            return await _refuse(scope, send, 429, b'{"error": "too many failed logins; try again later"}', wait)
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        if header and self._allowed(header):
            return await self.app(scope, receive, send)
        if header:
            self.limiter.failed(client)
        return await _refuse(scope, send, 401, b'{"error": "authentication required"}')


async def _refuse(scope: dict[str, Any], send: Any, status: int, body: bytes, retry_after: int | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})  # policy violation
        return
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    if status == 401:
        headers.append((b"www-authenticate", b'Basic realm="tia", charset="UTF-8"'))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(
    assistant: Any,
    *,
    auth: Credentials | None = None,
    limit_mb: int = 20,
    concurrency: int = 4,
    login_limiter: LoginLimiter | None = None,
) -> Any:
    """The FastAPI app serving `assistant`: API routes first, then the Gradio page at `/`.

    With `auth`, every route (the API's, the page's, Gradio's) needs one of those
    logins, and failed logins are limited by `login_limiter` (default: `LoginLimiter()`).
    """
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
    # Gradio checks that a file a client names in an event (an upload's FileData path)
    # is one the client uploaded, but only once `launch()` has set this flag, which a
    # mounted app never calls: without it, a request could hand the Documents tab's
    # handler any readable server file to ingest (and then read it back).
    page.has_launched = True
    if auth:  # added last: the outermost layer, in front of every route
        app.add_middleware(BasicAuthMiddleware, users=list(auth), limiter=login_limiter)
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
    login_limiter: LoginLimiter | None = None,
) -> None:
    """Warm the assistant up, then serve it until interrupted."""
    import uvicorn

    assistant.warm_up()  # the model and indexes load now, not on the first question
    if not assistant.documents():
        print("No documents yet: add some in the Documents tab, or run `tia ingest --bundled`.", file=sys.stderr)
    if not auth and not _is_loopback(host):
        print(f"Warning: serving on {host} without a login; set TIA_AUTH=user:password to require one.", file=sys.stderr)
    app = create_app(assistant, auth=auth, concurrency=concurrency, login_limiter=login_limiter)
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
    options.setdefault("login_limiter", login_limiter_from_env())
    run_server(Assistant(settings), host, port, **options)
