"""A tiny OpenAI-compatible HTTP server for tests: it stands in for vLLM, Ollama or a
hosted API, none of which any machine here has.

It serves ``POST /v1/chat/completions`` (plain JSON, or server-sent events when the
request says ``"stream": true``) and ``GET /v1/models`` on 127.0.0.1, answers with a
canned reply (or one computed from the request), and records every request so a
test can check what the client sent: the prompt, the model name, the API key.

    with FakeOpenAIServer(reply="Quinze territoires [1].") as server:
        settings = Settings(llm_base_url=server.url, llm_model="m")   # server.url ends in /v1
        ...
        server.requests[0].body["messages"]
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAIServer", "RecordedRequest"]

Reply = str | Callable[[dict[str, Any]], str]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        """Every message's content, joined: what the model was shown."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


class FakeOpenAIServer:
    """Canned chat completions over real HTTP.

    reply: the assistant's text, or a function of the request body returning it.
    status: HTTP status to answer with (an OpenAI-style error body when not 200).
    api_key: when set, requests without ``Authorization: Bearer <api_key>`` get 401.
    delay_s: wait before answering (to make a client time out).
    chunk_delay_s: wait between streamed chunks (a server that trickles tokens).
    """

    def __init__(
        self,
        reply: Reply = "",
        *,
        status: int = 200,
        api_key: str | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
    ) -> None:
        self.reply = reply
        self.status = status
        self.api_key = api_key
        self.delay_s = delay_s
        self.chunk_delay_s = chunk_delay_s
        self.requests: list[RecordedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The base URL an OpenAI client takes (``.../v1``)."""
        return self.root + "/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for the serving loop to notice.
        httpd = self._httpd
        self._thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.05), name="fake-openai", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def text_for(self, body: dict[str, Any]) -> str:
        return self.reply(body) if callable(self.reply) else self.reply


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.0"  # one request per connection; a stream ends when it closes

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _record(self, body: dict[str, Any]) -> None:
        self.owner.requests.append(
            RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._record({})
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "tests"}]})
        else:
            self._error(404, f"no route {self.path}", "not_found_error")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        self._record(body)
        owner = self.owner
        try:
            if owner.delay_s:
                time.sleep(owner.delay_s)
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._error(404, f"no route {self.path}", "not_found_error")
            if owner.api_key is not None and self.headers.get("Authorization") != f"Bearer {owner.api_key}":
                return self._error(401, "Incorrect API key provided.", "invalid_request_error")
            if owner.status != 200:
                return self._error(owner.status, f"canned failure {owner.status}", "server_error")
            text = owner.text_for(body)
            if body.get("stream"):
                self._stream(body, text)
            else:
                self._json(200, _completion(body, text))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer to

    def _stream(self, body: dict[str, Any], text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        pieces = [{"role": "assistant", "content": ""}]
        pieces += [{"content": p} for p in re.findall(r"\S+\s*|\s+", text)]
        for i, delta in enumerate(pieces):
            if i and self.owner.chunk_delay_s:
                time.sleep(self.owner.chunk_delay_s)
            self._event(_chunk(body, delta, None))
        self._event(_chunk(body, {}, "stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(text.split()), "total_tokens": len(text.split())},
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
