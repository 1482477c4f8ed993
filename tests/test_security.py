"""Security (issue 11): the login in front of every route and its rate limit, uploads,
escaping of document text in every output, and secrets kept out of every output.

Everything is real: the app from `ui.server.create_app` (in process through
Starlette's TestClient, or served by uvicorn on 127.0.0.1), the `tia` command as a
subprocess, the assistant over real documents. The one stand-in is the LLM
endpoint, a canned OpenAI-compatible server on 127.0.0.1 (tests/fake_openai_server.py,
or a variant below that echoes the API key it is sent) - no machine here runs an LLM.
The rate limit runs on an injected clock: no test sleeps to let a window pass.
Prompt injection is in tests/test_injection.py.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer, _Handler
from hypothesis import given, settings
from hypothesis import strategies as st
from ui_helpers import free_port, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
USERS = [("ana", "s3cret-ana"), ("bea", "pässwörd-bea"), ("cyril", "pw-cyril")]
ANA = USERS[0]


def basic(raw: bytes | str) -> str:
    raw = raw.encode() if isinstance(raw, str) else raw
    return "Basic " + base64.b64encode(raw).decode()


class Clock:
    """An injectable monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def empty_assistant(tmp_path: Path, embedder: Any = None) -> Any:
    from assistant.service import Assistant
    from knowledge.settings import Settings

    return Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)


def make_app(assistant: Any, *, limiter: Any = None, auth: Any = USERS, **options: Any) -> Any:
    from ui.server import LoginLimiter, create_app

    if limiter is None:  # the route sweeps send hundreds of wrong logins: no limit there
        limiter = LoginLimiter(max_failures=1_000_000)
    return create_app(assistant, auth=auth, login_limiter=limiter, **options)


# -- the routes, enumerated from the app itself ------------------------------------------
def app_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route `app` serves, the mounted Gradio app's included;
    websocket routes have the method "WS". A route type this does not know fails the
    test, so that a new kind of route cannot be skipped silently."""
    from starlette.routing import Host, Mount, Route, WebSocketRoute

    found: list[tuple[str, str]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if type(route).__name__ == "_IncludedRouter":  # FastAPI >= 0.16x keeps included routers
                router = route.original_router
                sub = [*router.routes, *getattr(router, "_low_priority_routes", [])]
                walk(sub, prefix + route.include_context.prefix)
            elif isinstance(route, Mount):
                if route.routes:
                    walk(route.routes, prefix + route.path)
                else:  # a mounted ASGI app (static files...): one path inside it stands for all
                    found.append(("GET", prefix + route.path + "/x"))
            elif isinstance(route, Host):
                walk(route.routes, prefix)
            elif isinstance(route, WebSocketRoute):
                found.append(("WS", prefix + route.path))
            elif isinstance(route, Route):  # fastapi.routing.APIRoute is one
                for method in sorted(route.methods or {"GET"}):
                    found.append((method, prefix + route.path))
            else:
                raise AssertionError(f"unknown route type {type(route).__name__} at {prefix}: teach app_routes")

    walk(list(app.routes), "")
    return found


def concrete(path: str) -> str:
    """A request path for a route path: every {parameter} filled in."""
    return re.sub(r"\{[^}]+\}", "x", path) or "/"


# Known routes the enumeration must find (the walk itself is checked, not only trusted).
EXPECTED_ROUTES = {
    ("GET", "/"),
    ("GET", "/config"),
    ("GET", "/openapi.json"),
    ("GET", "/gradio_api/info"),
    ("POST", "/gradio_api/upload"),
    ("POST", "/gradio_api/queue/join"),
    ("GET", "/gradio_api/queue/data"),
    ("GET", "/gradio_api/file={path_or_url:path}"),
    ("POST", "/gradio_api/call/{api_name}"),
    ("POST", "/api/ask"),
    ("GET", "/api/documents"),
    ("GET", "/api/documents/{doc_id}"),
    ("GET", "/api/status"),
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/documents/{doc_id}"),
}
# Paths no route serves: the login comes before routing, so they get 401, not 404.
UNROUTED = ["/nope", "/gradio_api/nope", "/documents/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/"]

BAD_CREDENTIALS: dict[str, str | None] = {
    "none": None,
    "wrong password": basic(f"{ANA[0]}:wrong"),
    "wrong user": basic(f"zoe:{ANA[1]}"),
    "another user's password": basic(f"{ANA[0]}:{USERS[1][1]}"),
    "user case changed": basic(f"ANA:{ANA[1]}"),
    "password prefix": basic(f"{ANA[0]}:{ANA[1][:-1]}"),
    "password with a suffix": basic(f"{ANA[0]}:{ANA[1]}x"),
    "password with a space": basic(f"{ANA[0]}:{ANA[1]} "),
    "empty password": basic(f"{ANA[0]}:"),
    "user only": basic(ANA[0]),
    "password only": basic(ANA[1]),
    "no colon": basic(ANA[0] + ANA[1]),
    "empty": "Basic ",
    "scheme only": "Basic",
    "not base64": "Basic !!!not-base64!!!",
    "base64 of non-UTF-8": "Basic " + base64.b64encode(b"ana:\xff\xfe").decode(),
    "unknown scheme": "Digest username=ana, response=x",
    "bare credentials": f"{ANA[0]}:{ANA[1]}",
    "bearer, wrong password": f"Bearer {ANA[0]}:wrong",
    "bearer, password only": f"Bearer {ANA[1]}",
    "bearer, empty": "Bearer ",
}


def _assert_refused(response: Any, what: str) -> None:
    assert response.status_code == 401, (what, response.status_code, response.text[:200])
    assert response.headers["www-authenticate"].startswith("Basic realm="), what
    if response.request.method != "HEAD":  # a HEAD answer has no body
        assert response.json() == {"error": "authentication required"}, what


def test_the_route_enumeration_finds_every_kind_of_route(tmp_path: Path) -> None:
    routes = app_routes(make_app(empty_assistant(tmp_path)))
    assert EXPECTED_ROUTES <= set(routes), EXPECTED_ROUTES - set(routes)
    assert len(routes) > 60  # the Gradio app's routes are in, not only tia's


def test_every_route_refuses_requests_without_valid_credentials(tmp_path: Path) -> None:
    """Route by route, method by method, each kind of missing, wrong or malformed
    credentials: 401 with a Basic challenge, before any route runs."""
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    app = make_app(empty_assistant(tmp_path))
    routes = app_routes(app) + [("GET", p) for p in UNROUTED] + [("OPTIONS", "/api/ask"), ("PUT", "/api/documents")]
    checked = 0
    with TestClient(app) as client:
        for method, path in routes:
            url = concrete(path)
            for case, header in BAD_CREDENTIALS.items():
                headers = {"Authorization": header} if header is not None else {}
                what = f"{method} {url} with {case} credentials"
                if method == "WS":
                    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(url, headers=headers):
                        pass
                    assert closed.value.code == 1008, what
                else:
                    _assert_refused(client.request(method, url, headers=headers, json={} if method == "POST" else None), what)
                checked += 1
        # Websockets: Gradio 6 serves none today, but the login covers them too.
        for header in (None, basic(f"{ANA[0]}:wrong")):
            with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(
                "/gradio_api/ws", headers={"Authorization": header} if header else {}
            ):
                pass
            assert closed.value.code == 1008
    assert checked == len(routes) * len(BAD_CREDENTIALS)


def test_valid_credentials_open_the_page_and_the_api(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    app = make_app(empty_assistant(tmp_path))
    with TestClient(app) as client:
        for user, password in USERS:  # every configured user, a non-ASCII password included
            assert client.get("/v1/models", headers={"Authorization": basic(f"{user}:{password}")}).status_code == 200
        ana = {"Authorization": basic(f"{ANA[0]}:{ANA[1]}")}
        assert client.get("/", headers=ana).status_code == 200
        assert client.get("/config", headers=ana).status_code == 200
        assert client.get("/gradio_api/info", headers=ana).status_code == 200
        assert client.get("/api/documents", headers=ana).json() == []
        assert "/api/ask" in client.get("/openapi.json", headers=ana).json()["paths"]
        assert client.get("/documents/nope", headers=ana).status_code == 404  # through the login, to the route
        for header in (f"Bearer {ANA[0]}:{ANA[1]}", f"bearer {ANA[0]}:{ANA[1]}", "basic " + basic(":".join(ANA))[6:]):
            assert client.get("/v1/models", headers={"Authorization": header}).status_code == 200, header
        # A websocket with credentials passes the login (no route there: closed normally, not 1008).
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/gradio_api/ws", headers=ana):
            pass
        assert closed.value.code != 1008


def test_without_tia_auth_nothing_asks_for_a_login(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from ui.server import BasicAuthMiddleware

    app = make_app(empty_assistant(tmp_path), auth=None)
    assert not any(m.cls is BasicAuthMiddleware for m in app.user_middleware)
    with TestClient(app) as client:
        assert client.get("/v1/models").status_code == 200


def test_the_login_is_the_outermost_layer(tmp_path: Path) -> None:
    from ui.server import BasicAuthMiddleware

    app = make_app(empty_assistant(tmp_path))
    assert app.user_middleware[0].cls is BasicAuthMiddleware  # index 0 wraps all the others


def test_credentials_are_compared_with_every_user_whoever_matches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Constant time by design: secrets.compare_digest, for the user name and the
    password of every configured user, in order, even when the first one matches."""
    from fastapi.testclient import TestClient

    calls: list[tuple[bytes, bytes]] = []
    real = secrets.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(secrets, "compare_digest", spy)
    every_user = [part.encode() for pair in USERS for part in pair]
    app = make_app(empty_assistant(tmp_path))
    with TestClient(app) as client:
        for raw, status in (
            (f"{ANA[0]}:{ANA[1]}", 200),  # the first user: matches at once, and still all are compared
            (":".join(USERS[-1]), 200),
            (f"{ANA[0]}:wrong", 401),
            ("zoe:nope", 401),
        ):
            calls.clear()
            assert client.get("/v1/models", headers={"Authorization": basic(raw)}).status_code == status
            assert [known for _, known in calls] == every_user, raw
            assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


# -- failed logins: rate limited per client address --------------------------------------
def test_failed_logins_are_limited_per_address_then_the_window_passes(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from ui.server import LoginLimiter

    clock = Clock(1000.0)
    limiter = LoginLimiter(max_failures=3, window_s=60, clock=clock)
    app = make_app(empty_assistant(tmp_path), limiter=limiter)
    good = {"Authorization": basic(":".join(ANA))}
    wrong = {"Authorization": basic(f"{ANA[0]}:wrong")}
    with TestClient(app, client=("203.0.113.7", 40000)) as attacker:
        neighbour = TestClient(app, client=("203.0.113.8", 40000))
        for _ in range(20):  # successful logins and requests without credentials are not failures
            assert attacker.get("/v1/models", headers=good).status_code == 200
            assert attacker.get("/v1/models").status_code == 401
        for _ in range(2):
            assert attacker.get("/v1/models", headers=wrong).status_code == 401
            clock.now += 1
        for _ in range(5):  # nor do successes in between reset the count
            assert attacker.get("/v1/models", headers=good).status_code == 200
        assert attacker.get("/v1/models", headers={"Authorization": "Basic !!!"}).status_code == 401  # 3rd, malformed
        # Locked: 429 with Retry-After, even with the right credentials, on every route.
        for headers in (good, wrong, {}, {"Authorization": f"Bearer {ANA[0]}:{ANA[1]}"}):
            refused = attacker.get("/api/documents", headers=headers)
            assert refused.status_code == 429, headers
            assert refused.headers["retry-after"] == "58"  # the first failure (t=1000) leaves the window at 1060
            assert "too many failed logins" in refused.json()["error"]
            assert "www-authenticate" not in refused.headers
        assert attacker.get("/", headers=good).status_code == 429
        with pytest.raises(WebSocketDisconnect) as closed, attacker.websocket_connect("/gradio_api/ws", headers=good):
            pass
        assert closed.value.code == 1008
        # Another address is not affected.
        assert neighbour.get("/v1/models", headers=good).status_code == 200
        assert neighbour.get("/v1/models", headers=wrong).status_code == 401
        # Attempts while locked are not counted: once the first failure is 60 s old, one try again.
        clock.now = 1059.5
        assert attacker.get("/v1/models", headers=good).headers["retry-after"] == "1"
        clock.now = 1060.0
        assert attacker.get("/v1/models", headers=good).status_code == 200
        assert attacker.get("/v1/models", headers=wrong).status_code == 401  # 3 in the window again: t=1001, 1002, 1060
        assert attacker.get("/v1/models", headers=good).status_code == 429
        clock.now = 1062.0  # both of t=1001 and t=1002 have left the window
        assert attacker.get("/v1/models", headers=good).status_code == 200
        clock.now = 5000.0
        assert attacker.get("/v1/models", headers=good).status_code == 200
        # An address whose failures have all expired is forgotten when next seen.
        assert limiter.retry_after("203.0.113.8") is None and len(limiter) == 0
        neighbour.close()


def test_the_limiter_keeps_bounded_memory() -> None:
    from ui.server import LoginLimiter

    clock = Clock()
    limiter = LoginLimiter(max_failures=3, window_s=60, max_clients=100, clock=clock)
    for i in range(10_000):  # an attacker spreading over many addresses
        limiter.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(limiter) == 100
    newest = "10.0.39.15"  # i = 9999: the newest addresses are the ones kept
    for _ in range(2):
        limiter.failed(newest)
    assert limiter.retry_after(newest) == 60
    assert limiter.retry_after("10.0.0.0") is None  # the oldest was forgotten first
    for _ in range(1000):  # one address failing forever keeps max_failures timestamps
        limiter.failed("192.0.2.1")
    assert len(limiter._failures["192.0.2.1"]) == 3
    assert len(limiter) == 100


def test_login_limits_come_from_constants_or_the_environment() -> None:
    from knowledge.errors import ConfigError
    from ui.server import (
        LOGIN_MAX_CLIENTS,
        LOGIN_MAX_FAILURES,
        LOGIN_WINDOW_S,
        LoginLimiter,
        login_limiter_from_env,
    )

    assert (LOGIN_MAX_FAILURES, LOGIN_WINDOW_S, LOGIN_MAX_CLIENTS) == (10, 60.0, 10_000)
    default = login_limiter_from_env({})
    assert (default.max_failures, default.window_s, default.max_clients) == (10, 60.0, 10_000)
    custom = login_limiter_from_env({"TIA_LOGIN_MAX_FAILURES": "3", "TIA_LOGIN_WINDOW_S": "2.5"})
    assert (custom.max_failures, custom.window_s) == (3, 2.5)
    for key, value in (
        ("TIA_LOGIN_MAX_FAILURES", "0"),
        ("TIA_LOGIN_MAX_FAILURES", "-1"),
        ("TIA_LOGIN_MAX_FAILURES", "ten"),
        ("TIA_LOGIN_MAX_FAILURES", "2.5"),
        ("TIA_LOGIN_WINDOW_S", "nan"),
        ("TIA_LOGIN_WINDOW_S", "inf"),
        ("TIA_LOGIN_WINDOW_S", "0"),
    ):
        with pytest.raises(ConfigError, match=key):
            login_limiter_from_env({key: value})
    with pytest.raises(ConfigError):
        LoginLimiter(max_clients=0)


# -- uploads: names, size, types, where copies land --------------------------------------
@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\x.txt", "x.txt"),
        ("..\\x.txt", "x.txt"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("C:\\Windows\\System32\\evil.txt", "evil.txt"),
        ("\\\\server\\share\\unc.pdf", "unc.pdf"),
        ("a\x00b.txt", "a b.txt"),
        ("new\nline\r\t.md", "new line.md"),
        ("\x1b[31mred\x7f.txt", "[31mred.txt"),
        ("evil\u202etxt.exe", "evil txt.exe"),  # a right-to-left override would show "exe.txt"
        ("<img src=x onerror=alert(1)>.html", "_img src=x onerror=alert(1)_.html"),
        ("...", "document"),
        ("..", "document"),
        (".", "document"),
        ("", "document"),
        ("....txt", "document.txt"),
        (".txt", "document.txt"),
        (" .hidden.md ", "hidden.md"),
        ("report.pdf...", "report.pdf"),
        ("Délibération n°12.pdf", "Délibération n°12.pdf"),
        ("e\u0301te\u0301.txt", "été.txt"),  # NFC
    ],
)
def test_safe_name(raw: str, stored: str) -> None:
    from ui.documents import safe_name

    assert safe_name(raw) == stored


def test_safe_name_shortens_long_names_and_keeps_the_extension() -> None:
    from ui.documents import MAX_NAME_BYTES, safe_name

    for raw, suffix in (("a" * 300 + ".txt", ".txt"), ("é" * 200 + ".pdf", ".pdf"), ("x" * 5000, "")):
        name = safe_name(raw)
        assert len(name.encode()) <= MAX_NAME_BYTES and name.endswith(suffix) and len(name) > 50
        name.encode().decode("utf-8")  # not cut inside a character
    assert safe_name("a." + "x" * 100) == "a." + "x" * 100  # too long for an extension: part of the name


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=300))
def test_any_name_stays_inside_the_uploads_folder(raw: str) -> None:
    from ui.documents import MAX_NAME_BYTES, safe_name

    uploads = Path("/srv/tia/uploads")
    name = safe_name(raw)
    assert name and name not in (".", "..") and not name.startswith(".") and not name.endswith((".", " "))
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not any(ch.isspace() and ch != " " for ch in name)
    assert all(ord(ch) >= 32 and ch != "\x7f" for ch in name)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert os.path.normpath(uploads / name) == str(uploads / name)
    assert (uploads / name).parent == uploads


def _files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file() or p.is_symlink()} if path.exists() else set()


def test_refused_uploads_write_nothing_and_never_hang(tmp_path: Path) -> None:
    """Wrong type, too big, a folder, a named pipe, a link, a missing file, a NUL in
    the path: each is reported, none is copied (no model is needed: nothing is ingested)."""
    from ui.documents import DocumentHandlers

    handlers = DocumentHandlers(empty_assistant(tmp_path), limit_mb=1)
    src = tmp_path / "src"
    src.mkdir()
    (src / "outil.exe").write_bytes(b"MZ")
    (src / "passwd").write_text("root:x:0:0")
    (src / "...").write_text("dots")
    with (src / "big.pdf").open("wb") as fh:
        fh.truncate(1024 * 1024 + 1)
    (src / "folder.txt").mkdir()
    os.mkfifo(src / "pipe.txt")  # opening it would block: it must not be opened
    (src / "target.txt").write_text("the link's target")
    (src / "link.txt").symlink_to(src / "target.txt")
    paths = [str(src / n) for n in ("outil.exe", "passwd", "...", "big.pdf", "folder.txt", "pipe.txt", "link.txt")]
    paths += [str(src / "missing.txt"), str(src / "a\x00b.txt"), "../../etc/passwd.txt"]
    before = _files_under(tmp_path)
    report = handlers.add(paths, "en")
    assert report.count("<strong>failed</strong>") == len(paths), report
    for shown in ("outil.exe: unsupported", "passwd: unsupported", "document: unsupported", "big.pdf: file too large",
                  "folder.txt: not a regular file", "pipe.txt: not a regular file", "link.txt: not a regular file",
                  "missing.txt: No such file", "a b.txt: embedded null byte", "passwd.txt: No such file"):  # fmt: skip
        assert shown in report, shown
    assert _files_under(tmp_path) == before
    assert not (tmp_path / "data" / "uploads").exists() or not any((tmp_path / "data" / "uploads").iterdir())


def test_a_copy_is_bounded_even_if_the_file_grows(tmp_path: Path) -> None:
    from ui.documents import _copy_at_most

    source, target = tmp_path / "grown.txt", tmp_path / "uploads" / "grown.txt"
    target.parent.mkdir()
    target.write_text("previous version")
    source.write_bytes(b"x" * 101)
    assert _copy_at_most(source, target, 100) is False
    assert target.read_text() == "previous version"  # untouched, and no partial file left
    assert sorted(p.name for p in target.parent.iterdir()) == ["grown.txt"]
    assert _copy_at_most(source, target, 101) is True and target.read_bytes() == b"x" * 101


@pytest.mark.slow
def test_uploads_with_hostile_names_are_stored_inside_the_uploads_folder(tmp_path: Path, e5: Any) -> None:
    from ui.documents import MAX_NAME_BYTES, DocumentHandlers

    assistant = empty_assistant(tmp_path, e5)
    handlers = DocumentHandlers(assistant, limit_mb=1)
    uploads = tmp_path / "data" / "uploads"
    src = tmp_path / "browser-temp"
    src.mkdir()
    names = {  # file names Linux allows; what each must be stored as
        "..\\..\\win.txt": "win.txt",
        "C:\\Users\\x\\abs.txt": "abs.txt",
        "ctrl\x01\x1b\x7f.txt": "ctrl.txt",
        "new\nline.md": "new line.md",
        "rtl\u202efdp.txt": "rtl fdp.txt",
        "a" * 200 + ".txt": "a" * (MAX_NAME_BYTES - 4) + ".txt",
        "é" * 100 + ".md": "é" * ((MAX_NAME_BYTES - 3) // 2) + ".md",
        "....txt": "document.txt",
        " .hidden.txt": "hidden.txt",
        "<img src=x onerror=alert(1)>.html": "_img src=x onerror=alert(1)_.html",
    }
    paths = []
    for i, raw in enumerate(names):
        path = src / raw
        body = f"Document numéro {i} : le programme finance des projets industriels dans le territoire {i}."
        path.write_text(f"<p>{body}</p>" if raw.endswith(".html") else body, encoding="utf-8")
        paths.append(str(path))
    # A link planted in the uploads folder, named like an upload: replaced, never written through.
    uploads.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("not to be overwritten")
    (uploads / "win.txt").symlink_to(outside)
    # A file of exactly the limit is not too big (it fails later, as the PDF it is not).
    exact = src / "exact.pdf"
    exact.write_bytes(b"%PDF-1.4\n" + b"0" * (1024 * 1024 - 9))
    paths.append(str(exact))

    before_outside = _files_under(tmp_path) - _files_under(tmp_path / "data")
    report = handlers.add(paths, "fr")

    assert report.count("ajouté") == len(names), report
    assert "exact.pdf" in report and "trop volumineux" not in report
    assert "<img" not in report and "_img src=x onerror=alert(1)_.html" in html.unescape(report)
    assert sorted(p.name for p in uploads.iterdir()) == sorted(names.values())  # the refused PDF was removed
    for stored in uploads.iterdir():
        assert not stored.is_symlink() and stored.resolve().parent == uploads.resolve()
    assert outside.read_text() == "not to be overwritten"
    assert _files_under(tmp_path) - _files_under(tmp_path / "data") == before_outside  # nothing new elsewhere
    docs = assistant.documents()
    assert len(docs) == len(names)
    assert all(Path(d.source).resolve().parent == uploads.resolve() for d in docs)


# -- the real Gradio upload path, on a live server with a login ----------------------------
@pytest.fixture(scope="module")
def upload_server(tmp_path_factory: pytest.TempPathFactory, e5: Any) -> Iterator[tuple[str, Any, Path, Any]]:
    """A live server (login on, 1 MB upload limit) over an empty data dir; (url, assistant, data dir, app)."""
    base = tmp_path_factory.mktemp("upload-server")
    assistant = empty_assistant(base, e5)
    app = make_app(assistant, limit_mb=1)
    with serve_in_thread(app, ready=("v1/models",), name="tia-security-server") as url:
        yield url, assistant, base / "data", app


@pytest.mark.slow
@pytest.mark.server
def test_valid_credentials_pass_the_login_on_every_route_of_a_live_server(upload_server: tuple[str, Any, Path, Any]) -> None:
    """Each route, over real HTTP, with a valid login: the route answers (whatever it
    answers to an empty request), never the login's 401 or 429."""
    import httpx

    url, _, _, app = upload_server
    statuses: dict[str, int] = {}
    with httpx.Client(auth=ANA, timeout=60) as client:
        for method, path in app_routes(app):
            target = url.rstrip("/") + concrete(path)
            with client.stream(method, target, json={} if method == "POST" else None) as response:
                statuses[f"{method} {path}"] = response.status_code  # headers only: some routes stream forever
                assert "www-authenticate" not in response.headers, (method, path)
    assert not {k: v for k, v in statuses.items() if v in (401, 429)}, statuses
    for route in ("GET /", "GET /config", "GET /gradio_api/info", "GET /api/documents", "GET /v1/models", "GET /openapi.json"):
        assert statuses[route] == 200, (route, statuses[route])


def _gradio_event(client: Any, url: str, api_name: str, data: list[Any]) -> dict[str, Any]:
    """Run one of the page's events as the browser does (queue/join, then the SSE stream)."""
    config = client.get(url + "config").json()
    [dep] = [d for d in config["dependencies"] if d.get("api_name") == api_name]
    session = secrets.token_hex(8)
    joined = client.post(
        url + "gradio_api/queue/join",
        json={"data": data, "fn_index": dep["id"], "session_hash": session, "event_data": None, "trigger_id": dep["targets"][0][0]},
    )
    assert joined.status_code == 200, joined.text
    event_id = joined.json()["event_id"]
    with client.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                    return message
    raise AssertionError("the event never completed")


@pytest.mark.slow
@pytest.mark.server
def test_the_gradio_upload_route_needs_the_login_and_refuses_big_files(upload_server: tuple[str, Any, Path, Any]) -> None:
    import httpx

    url, *_ = upload_server
    small = [("files", ("a.txt", b"hello", "text/plain"))]
    assert httpx.post(url + "gradio_api/upload", files=small).status_code == 401
    with httpx.Client(auth=ANA, timeout=60) as client:
        too_big = client.post(url + "gradio_api/upload", files=[("files", ("big.pdf", b"0" * (1024 * 1024 + 1), "application/pdf"))])
        assert too_big.status_code == 413 and "maximum allowed size" in too_big.text
        ok = client.post(url + "gradio_api/upload", files=[("files", ("fine.pdf", b"0" * (1024 * 1024), "application/pdf"))])
        assert ok.status_code == 200, ok.text


@pytest.mark.slow
@pytest.mark.server
def test_a_hostile_upload_name_lands_in_the_uploads_folder_through_gradio(
    upload_server: tuple[str, Any, Path, Any], tmp_path: Path
) -> None:
    import httpx
    from gradio.utils import get_upload_folder

    url, assistant, data_dir, _ = upload_server
    uploads = data_dir / "uploads"
    body = "Le programme Orion finance 7 projets industriels dans la vallée de l'Orne.".encode()
    with httpx.Client(auth=ANA, timeout=120) as client:
        sent = client.post(url + "gradio_api/upload", files=[("files", ("..\\../../etc/orion<x>.txt", body, "text/plain"))])
        assert sent.status_code == 200, sent.text
        [cached] = sent.json()
        assert Path(cached).resolve().is_relative_to(Path(get_upload_folder()).resolve())
        file_data = {"path": cached, "orig_name": "../../etc/passwd.txt", "meta": {"_type": "gradio.FileData"}}
        done = _gradio_event(client, url, "add", [[file_data], None])
        assert done["success"], done
        [report] = done["output"]["data"]
        assert "ajouté" in report
        stored = [p for p in uploads.iterdir() if p.read_bytes() == body]
        assert len(stored) == 1 and stored[0].resolve().parent == uploads.resolve() and "/" not in stored[0].name
        assert "etc" not in stored[0].name and not stored[0].name.startswith(".")

        # A client naming a server file it did not upload: Gradio refuses it (see create_app).
        secret = tmp_path / "server-secret.txt"
        secret.write_text("Le mot de passe du serveur est hunter2-outside.")
        for path in (str(secret), f"{get_upload_folder()}/../../{secret.relative_to('/')}"):
            forged = {"path": path, "orig_name": "x.txt", "meta": {"_type": "gradio.FileData"}}
            refused = _gradio_event(client, url, "add", [[forged], None])
            assert not refused["success"] and "not uploaded by a user" in refused["output"]["error"], refused
        assert not any("hunter2" in d.text for d in map(assistant.document, (d.doc_id for d in assistant.documents())))
        assert not any("hunter2" in p.read_text(errors="replace") for p in uploads.iterdir())

        # Gradio's file route serves neither the uploads folder nor other server files.
        for path in (stored[0], secret, Path("/etc/passwd")):
            assert client.get(url + f"gradio_api/file={path}").status_code == 403, path


# -- escaping: document text is shown as text in every output -------------------------------
PAYLOAD_SCRIPT = "<script>alert(1)</script>"
PAYLOAD_IMG = "<img src=x onerror=alert(1)>"
PAYLOAD_LINK = "[x](javascript:alert(1))"
# Ingest drops tags written as tags and decodes entities: "&lt;script&gt;" becomes the
# text "<script>", which is what a renderer must then escape. Both forms are written.
EVIL_TXT = (
    "Programme Zéphyr : note de cadrage\n\n"
    f"Le budget du programme Zéphyr est de 42 millions d'euros {PAYLOAD_SCRIPT} {PAYLOAD_IMG} "
    "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; "
    f"{PAYLOAD_LINK} &amp; &lt;b&gt;gras&lt;/b&gt; &#60;i&#62; pour la période 2024-2027.\n\n"
    "Le programme Zéphyr accompagne les entreprises industrielles de la vallée de la Durance.\n"
)
EVIL_HTML = (
    "<!doctype html><html><head><title>Programme Borée &amp;lt;img src=x onerror=alert(3)&amp;gt;</title>"
    "<script>alert('head')</script></head><body>"
    "<h1>Programme Borée &amp;lt;img src=x onerror=alert(3)&amp;gt;</h1>"
    "<p>Le budget du programme Borée est de 17 millions d'euros "
    "&lt;script&gt;alert(2)&lt;/script&gt; &amp;lt;script&amp;gt;alert(2)&amp;lt;/script&amp;gt; "
    "&amp;lt;img src=x onerror=alert(2)&amp;gt; [y](javascript:alert(2)) &amp;amp; pour la période 2025-2028.</p>"
    '<p onclick="alert(4)">Le programme Borée soutient l\'industrie du Vaucluse. '
    '<a href="javascript:alert(5)">lien</a></p><img src=x onerror=alert(6)>'
    "<script>alert('body')</script></body></html>"
)
CANDIDATE_PAYLOADS = (
    PAYLOAD_SCRIPT, PAYLOAD_IMG, PAYLOAD_LINK, "<b>gras</b>", "<i>",
    "<script>alert(2)</script>", "<img src=x onerror=alert(2)>", "[y](javascript:alert(2))",
)  # fmt: skip
ALLOWED_TAGS = {"div", "p", "details", "summary", "ol", "li", "span", "strong", "blockquote", "mark", "a", "em", "ul", "code"}
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "p", "div", "mark", "span"}


class Markup(HTMLParser):
    """The tags, attributes and visible text of an HTML fragment or page."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)

    def check(self, allowed: set[str], what: str) -> None:
        for tag, attrs in self.tags:
            assert tag in allowed, (what, tag, attrs)
            assert not any(name.startswith("on") for name in attrs), (what, tag, attrs)
            for name in ("href", "src", "action"):
                value = (attrs.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "vbscript:")), (what, tag, attrs)


def markdown_html(markdown: str) -> str:
    """Markdown as HTML, rendered with raw HTML allowed and links on: the least safe
    renderer (Gradio's own also sanitises); escaping must hold even there."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").render(markdown)


@pytest.mark.slow
def test_hostile_document_text_is_escaped_in_every_output(tmp_path: Path, e5: Any) -> None:
    from fastapi.testclient import TestClient

    from ui.chat import ChatHandlers
    from ui.documents import DocumentHandlers
    from ui.feedback import FeedbackLog
    from ui.i18n import t
    from ui.render import report_html

    assistant = empty_assistant(tmp_path, e5)
    (tmp_path / "zephyr.txt").write_text(EVIL_TXT, encoding="utf-8")
    (tmp_path / "boree.html").write_text(EVIL_HTML, encoding="utf-8")
    report = assistant.ingest([tmp_path / "zephyr.txt", tmp_path / "boree.html"])
    assert report.ok, report.files
    docs = {Path(d.source).name: d for d in assistant.documents()}
    texts = {name: assistant.document(d.doc_id).text for name, d in docs.items()}
    # What survives ingest is what a renderer must escape: from the text file, tags
    # (entities decoded) and a Markdown link; from the page, only the link (the HTML
    # loader drops markup, including entity-encoded markup and the page's own scripts).
    assert all(p in texts["zephyr.txt"] for p in (PAYLOAD_SCRIPT, PAYLOAD_IMG, PAYLOAD_LINK, "<b>gras</b>")), texts
    assert "[y](javascript:alert(2))" in texts["boree.html"]
    assert not re.search(r"alert\((?:'head'|'body'|4|5|6)\)|onclick", texts["boree.html"] + docs["boree.html"].title)
    boree_title = docs["boree.html"].title  # a double-encoded <title> keeps its tag: a hostile title
    assert "<img src=x onerror=alert(3)>" in boree_title, boree_title

    chat = ChatHandlers(assistant, FeedbackLog(tmp_path / "feedback.jsonl"))
    app = make_app(assistant, auth=None)
    with TestClient(app) as client:
        for question, name in (
            ("Quel est le budget du programme Zéphyr ?", "zephyr.txt"),
            ("Quel est le budget du programme Borée ?", "boree.html"),
        ):
            payloads = [p for p in CANDIDATE_PAYLOADS if p in texts[name]]
            *_, (_, messages, turns, sources, _, _) = chat.respond(question, [], "fr", [], "", "", [])
            answer = turns[-1].answer
            quoted = answer.text + "".join(c.quote for c in answer.citations)
            assert all(p in quoted for p in payloads), (answer.text, payloads)  # else this test checks nothing

            # The chat window: Markdown whose rendering shows the payloads as text.
            for message in messages:
                rendered = markdown_html(message["content"])
                Markup(rendered).check(ALLOWED_TAGS, "chat message")
                assert "<script" not in rendered and "<img" not in rendered
            shown = html.unescape(re.sub(r"<[^>]+>", "", markdown_html(messages[-1]["content"])))
            assert all(p in shown for p in payloads), shown  # each shown as the text it is

            # The sources panel.
            markup = Markup(sources)
            markup.check(ALLOWED_TAGS, "sources")
            assert all(a.get("href", "").startswith(("documents/", "#")) for tag, a in markup.tags if tag == "a")
            assert all(p in markup.visible for p in payloads), markup.visible
            assert docs[name].title in markup.visible  # the card's title, as text

            # The document view, linked from each card: escaped, and scripts forbidden anyway.
            for c in answer.citations:
                page = client.get(f"/documents/{c.doc_id}", params={"start": c.start, "end": c.end})
                assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
                assert "default-src 'none'" in page.headers["content-security-policy"]
                assert "script-src" not in page.headers["content-security-policy"]
                view = Markup(page.text)
                view.check(PAGE_TAGS, "document page")
                assert all(p in view.visible for p in payloads) and docs[name].title in view.visible
                assert [tag for tag, _ in view.tags].count("mark") == 1

            # The JSON routes carry the text as data, typed JSON, never sniffed as HTML.
            asked = client.post("/api/ask", json={"question": question})
            assert asked.headers["content-type"] == "application/json"
            assert asked.headers["x-content-type-options"] == "nosniff"
            assert asked.json()["text"] == answer.text
            completion = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]})
            assert completion.headers["content-type"] == "application/json"
            assert completion.json()["choices"][0]["message"]["content"] == answer.text
        for d in docs.values():
            raw = client.get(f"/api/documents/{d.doc_id}")
            assert raw.headers["content-type"] == "application/json" and raw.headers["x-content-type-options"] == "nosniff"
            assert raw.json()["text"] == assistant.document(d.doc_id).text
            listing = client.get("/api/documents")
            assert listing.headers["x-content-type-options"] == "nosniff"
        # The page's chat and HTML components: Gradio sanitises what it renders, and
        # tia asks it not to render HTML tags in messages.
        components = {c["props"].get("elem_id"): c["props"] for c in client.get("/config").json()["components"]}
        assert components["tia-chat"]["sanitize_html"] is True and components["tia-chat"]["allow_tags"] is False

    # The Documents tab: the upload report and the removal notices (Markdown) show titles as text.
    handlers = DocumentHandlers(assistant)
    title = handlers.title_of(docs["boree.html"].doc_id)
    for notice in (t("fr", "remove_confirm", title=title), handlers.remove(docs["boree.html"].doc_id, "fr")):
        rendered = markdown_html(notice)
        Markup(rendered).check({"p"}, "notice")  # no image, no link, no heading, no emphasis
        assert boree_title in html.unescape(re.sub(r"<[^>]+>", "", rendered)), rendered
    report = report_html([(PAYLOAD_IMG + ".txt", "failed", PAYLOAD_SCRIPT)], "fr")
    Markup(report).check({"ul", "li", "strong"}, "upload report")
    assert PAYLOAD_SCRIPT in Markup(report).visible


# -- secrets: TIA_LLM_API_KEY and TIA_AUTH are never printed ------------------------------
API_KEY = "sk-tia-test-SECRET-7f3a9c1e"
AUTH_PASSWORDS = ("ana-SECRET-4b2d8e", "bob-SECRET-9c1f0a")
TIA_AUTH = f"ana:{AUTH_PASSWORDS[0]},bob:{AUTH_PASSWORDS[1]}"
SECRETS = (API_KEY, *AUTH_PASSWORDS)


class KeyEchoingServer(FakeOpenAIServer):
    """An OpenAI-compatible endpoint that refuses every key and, as some proxies do,
    echoes the Authorization header it got in its error message."""

    def start(self) -> None:
        owner = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                got = self.headers.get("Authorization", "")
                self._record({})
                self._error(401, f"Incorrect API key provided: {got[7:]!r} (header: {got})", "invalid_request_error")

        Handler.owner = owner
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        httpd = self._httpd
        self._thread = threading.Thread(target=lambda: httpd.serve_forever(poll_interval=0.05), daemon=True)
        self._thread.start()


def assert_no_secret(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in SECRETS:
        for form in (secret.encode(), base64.b64encode(secret.encode())):
            assert form not in data, f"{secret!r} in {where}"
    for user, password in (("ana", AUTH_PASSWORDS[0]), ("bob", AUTH_PASSWORDS[1])):
        assert base64.b64encode(f"{user}:{password}".encode()) not in data, where


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    return env | {"TIA_DATA_DIR": str(data_dir), **extra}


def tia(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
        check=False,
    )


def assert_data_dir_clean(data_dir: Path) -> None:
    for path in _files_under(data_dir):
        if path.is_file():
            assert_no_secret(path.read_bytes(), str(path))


def test_a_refused_key_echoed_by_the_endpoint_is_not_repeated() -> None:
    from test_llm_answerer import StandInExtractive, request

    from assistant.llm import LLMAnswerer, LLMUnavailableError
    from knowledge.settings import Settings

    with KeyEchoingServer() as server:
        settings = Settings(llm_base_url=server.url, llm_model="m", llm_api_key=API_KEY, llm_timeout_s=10)
        answerer = LLMAnswerer(settings, fallback=StandInExtractive())
        with pytest.raises(LLMUnavailableError) as failed:
            list(answerer.generate(request()))
        answer = answerer.answer(request())
    assert server.requests and all(r.headers.get("authorization") == f"Bearer {API_KEY}" for r in server.requests)
    assert "refused the API key (HTTP 401)" in str(failed.value) and "***" in str(failed.value)
    for text in (str(failed.value), failed.value.reason, *answer.warnings, answer.to_markdown()):
        assert_no_secret(text, "LLM error")
    assert "TIA_LLM_API_KEY" in answer.warnings[0]


def test_a_password_in_the_llm_url_is_not_shown() -> None:
    from test_llm_answerer import StandInExtractive, request

    from assistant.llm import LLMAnswerer, openai_base_url, redact_url
    from knowledge.errors import ConfigError
    from knowledge.settings import Settings

    url = f"http://tia:{API_KEY}@127.0.0.1:{free_port()}/v1"  # nothing listens there
    answer = LLMAnswerer(Settings(llm_base_url=url, llm_model="m", llm_timeout_s=5), fallback=StandInExtractive()).answer(
        request()
    )
    [warning] = answer.warnings
    assert "unreachable" in warning and "http://***@127.0.0.1:" in warning
    assert_no_secret(warning, "warning")
    assert redact_url(url).startswith("http://***@127.0.0.1:") and redact_url("http://h:1/v1") == "http://h:1/v1"
    with pytest.raises(ConfigError) as bad:
        openai_base_url(f"ftp://tia:{API_KEY}@host")
    assert_no_secret(str(bad.value), "ConfigError")


def test_malformed_settings_do_not_print_the_secrets(tmp_path: Path) -> None:
    """Config errors that exit before any model loads: the message names the setting, not its value."""
    data_dir = tmp_path / "data"
    cases = [
        (["serve", "--port", str(free_port())], {"TIA_AUTH": f"ana:{AUTH_PASSWORDS[0]},bob"}, "TIA_AUTH"),
        (["serve", "--port", str(free_port())], {"TIA_AUTH": f"ana:{AUTH_PASSWORDS[0]}", "TIA_LOGIN_MAX_FAILURES": "x"}, "TIA_LOGIN_MAX_FAILURES"),
        (["ask", "Combien ?"], {"TIA_LLM_BASE_URL": "ftp://llm.example.org", "TIA_LLM_MODEL": "m", "TIA_LLM_API_KEY": API_KEY, "TIA_AUTH": TIA_AUTH}, "TIA_LLM_BASE_URL"),
        (["status"], {"TIA_K": "0", "TIA_LLM_API_KEY": API_KEY}, "invalid configuration: k"),
    ]  # fmt: skip
    for args, extra, named in cases:
        out = tia(args, _env(data_dir, **extra))
        assert out.returncode != 0, (args, extra, out.stdout)
        assert named in out.stderr, out.stderr
        assert_no_secret(out.stdout + out.stderr, f"tia {args[0]} with {sorted(extra)}")
    assert_data_dir_clean(data_dir)


@pytest.mark.slow
def test_tia_ask_with_a_refused_key_prints_no_secret(tmp_path: Path, corpus_data_dir: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data_dir)
    with KeyEchoingServer() as server:
        env = _env(data_dir, TIA_LLM_BASE_URL=server.url, TIA_LLM_MODEL="m", TIA_LLM_API_KEY=API_KEY, TIA_AUTH=TIA_AUTH)
        plain = tia(["ask", "Combien de territoires d'industrie compte le Grand Est ?"], env)
        as_json = tia(["ask", "--json", "Combien de territoires d'industrie compte le Grand Est ?"], env)
    assert server.requests, "the LLM endpoint was not called"
    for out in (plain, as_json):
        assert out.returncode == 0, out.stderr
        assert "refused the API key (HTTP 401)" in out.stderr, out.stderr  # the failure is reported...
        assert_no_secret(out.stdout + out.stderr, "tia ask")  # ...without the key it echoed
    assert "15 territoires" in plain.stdout  # the extractive answer was shown instead
    assert_data_dir_clean(data_dir)


@pytest.mark.slow
@pytest.mark.server
def test_tia_serve_prints_no_secret_and_limits_failed_logins(tmp_path: Path, corpus_data_dir: Path) -> None:
    """The real command in its own process, with TIA_AUTH, an LLM key the endpoint
    refuses, and TIA_LOGIN_MAX_FAILURES=2."""
    import httpx

    data_dir = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data_dir)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with KeyEchoingServer() as llm, log_path.open("w") as log:
        env = _env(
            data_dir, TIA_AUTH=TIA_AUTH, TIA_LLM_BASE_URL=llm.url, TIA_LLM_MODEL="m", TIA_LLM_API_KEY=API_KEY,
            TIA_LOGIN_MAX_FAILURES="2",
        )  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    httpx.get(url + "v1/models", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "tia serve did not start"
                    time.sleep(0.5)
            auth = ("ana", AUTH_PASSWORDS[0])
            outputs = []
            asked = httpx.post(url + "api/ask", json={"question": "Combien de territoires d'industrie compte le Grand Est ?"}, auth=auth, timeout=120)
            assert asked.status_code == 200, asked.text
            assert any("refused the API key" in w for w in asked.json()["warnings"]), asked.json()["warnings"]
            outputs.append(asked.text)
            for path in ("api/status", "config", "gradio_api/info", "openapi.json", ""):
                response = httpx.get(url + path, auth=auth, timeout=60)
                assert response.status_code == 200, path
                outputs.append(response.text)
            streamed = httpx.post(url + "v1/chat/completions", auth=auth, timeout=120,
                                  json={"messages": [{"role": "user", "content": "Combien de territoires compte le Grand Est ?"}], "stream": True})  # fmt: skip
            outputs.append(streamed.text)
            for text in outputs:
                assert_no_secret(text, "a response")
            # Two wrong logins, then 429, even with the right password.
            assert httpx.get(url + "v1/models", auth=("ana", "wrong")).status_code == 401
            assert httpx.get(url + "v1/models", auth=("bob", AUTH_PASSWORDS[0])).status_code == 401
            locked = httpx.get(url + "v1/models", auth=auth)
            assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    printed = log_path.read_text()
    assert "tia is ready: http://127.0.0.1:" in printed
    assert_no_secret(printed, "tia serve's output")
    assert_data_dir_clean(data_dir)


def test_the_llm_client_reads_the_key_as_str_or_secretstr() -> None:
    from pydantic import SecretStr

    from assistant.llm import secret_value

    assert secret_value(SecretStr(API_KEY)) == secret_value(API_KEY) == API_KEY and secret_value(None) is None
    assert API_KEY not in repr(SecretStr(API_KEY))


def test_the_settings_repr_hides_the_api_key() -> None:
    from knowledge.settings import Settings

    settings = Settings(llm_api_key=API_KEY)
    assert API_KEY not in repr(settings) and API_KEY not in str(settings.model_dump())


def test_a_password_in_the_chroma_url_is_not_shown(tmp_path: Path) -> None:
    """A server that cannot be reached: the error names it, without the password in its URL."""
    from knowledge.errors import StoreError
    from knowledge.settings import Settings
    from knowledge.store import ChunkStore

    settings = Settings(data_dir=tmp_path, chroma_url="http://ana:hunter2-secret@127.0.0.1:9/")
    store = ChunkStore(settings, embedder=None)  # type: ignore[arg-type] - it fails before embedding
    with pytest.raises(StoreError) as info:
        store.open()
    assert "http://***@127.0.0.1:9/" in str(info.value) and "hunter2-secret" not in str(info.value)
    assert "hunter2-secret" not in store.shown_location
