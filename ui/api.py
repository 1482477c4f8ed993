"""Plain HTTP routes served beside the Gradio page, for programs and evaluators.

- `POST /api/ask`: `AskRequest` -> the `Answer` JSON (the same as `tia ask --json`);
  multi-turn through an explicit `history`.
- `POST /v1/chat/completions`: an OpenAI-compatible facade (answer text with `[n]`
  marks; citations in the extra `citations` field; `stream: true` gives SSE chunks).
- `GET /v1/models`, `GET /api/documents`, `GET /api/documents/{doc_id}`, `GET /api/status`.
- `GET /documents/{doc_id}?start=&end=#c{start}`: the document's text as an HTML page,
  the cited span marked and scrolled into view.

Errors: a `TiaError` becomes `{"error": message}` with a 4xx/5xx status.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.answer import Answer
from knowledge.errors import (
    AnswerError,
    ConfigError,
    IngestError,
    NotFoundError,
    StoreError,
    TiaError,
)
from knowledge.filters import Filters
from ui.render import document_html

__all__ = [
    "AskRequest",
    "ChatCompletionRequest",
    "FiltersModel",
    "Turn",
    "api_router",
    "install_error_handlers",
    "to_filters",
]

MODEL_NAME = "tia"
# The document view is text only: no script, no image, no frame, no form may load
# there, should escaping ever miss something; its CSS is inline.
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"


def _no_sniffing(response: Response) -> None:
    """Every tia route's response is what its Content-Type says (JSON is never sniffed as HTML)."""
    response.headers["X-Content-Type-Options"] = "nosniff"


class Turn(BaseModel):
    """One earlier message of the conversation, oldest first."""

    role: Literal["user", "assistant"]
    content: str


class FiltersModel(BaseModel):
    """Restrict the search; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(default_factory=list, description="Region names or acronyms, e.g. 'Grand Est', 'CVL'.")
    sources: list[str] = Field(default_factory=list, description="Document ids, file names or paths.")
    date_from: str | None = Field(default=None, description="YYYY, YYYY-MM or YYYY-MM-DD (inclusive).")
    date_to: str | None = Field(default=None, description="YYYY, YYYY-MM or YYYY-MM-DD (inclusive).")


class AskRequest(BaseModel):
    """A question, with the conversation so far for follow-ups."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    history: list[Turn] = Field(default_factory=list)
    filters: FiltersModel | None = None
    k: int | None = Field(default=None, ge=1, le=100, description="Passages to retrieve (default: the server's).")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI chat completion request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_NAME
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    filters: FiltersModel | None = None
    k: int | None = Field(default=None, ge=1, le=100)


def to_filters(model: FiltersModel | None) -> Filters | None:
    """Pydantic filters -> `Filters`, with region names made canonical (unknown -> ConfigError)."""
    if model is None:
        return None
    from knowledge.regions import canonical_region

    regions = []
    for name in model.regions:
        canonical = canonical_region(name)
        if canonical is None:
            raise ConfigError(f"filters.regions: unknown region {name!r}")
        regions.append(canonical)
    filters = Filters(
        sources=tuple(model.sources), regions=tuple(regions), date_from=model.date_from, date_to=model.date_to
    )
    return None if filters.is_empty else filters


def _split_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """The last user message is the question; earlier user/assistant messages the history."""
    if messages[-1].role != "user":
        raise ConfigError("messages: the last message must have the role 'user'")
    history = [{"role": m.role, "content": m.text()} for m in messages[:-1] if m.role in ("user", "assistant")]
    return messages[-1].text(), history


def _status_of(exc: TiaError) -> int:
    for kind, status in (
        (NotFoundError, 404),
        (ConfigError, 400),
        (IngestError, 422),
        (AnswerError, 502),
        (StoreError, 503),
    ):
        if isinstance(exc, kind):
            return status
    return 500


def install_error_handlers(app: FastAPI) -> None:
    """TiaError -> {"error": ...} with its status; validation errors -> 422 {"error": ...}."""

    @app.exception_handler(TiaError)
    async def _tia_error(request: Request, exc: TiaError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=_status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "; ".join(parts), "detail": json.loads(json.dumps(exc.errors(), default=str))}, status_code=422)


def _completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [c.__dict__ | {"source_name": c.source_name} for c in answer.citations]


def _tia_extra(answer: Answer) -> dict[str, Any]:
    keys = ("abstained", "language", "query", "answerer", "warnings", "timings")
    return {k: getattr(answer, k) for k in keys}


def _sse(payload: dict[str, Any] | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"


def api_router(assistant: Any) -> APIRouter:
    """The JSON/HTML routes over one `Assistant` (sync handlers: FastAPI runs them in threads)."""
    router = APIRouter(dependencies=[Depends(_no_sniffing)])

    @router.post("/api/ask", response_model=Answer, tags=["ask"], summary="Ask a question")
    def ask(request: AskRequest) -> dict[str, Any]:
        """Answer a question from the ingested documents, every claim cited.

        Pass the earlier turns in `history` for follow-up questions. The response is
        the same `Answer` JSON as `tia ask --json`.
        """
        answer = assistant.answer(
            request.question,
            history=[t.model_dump() for t in request.history],
            filters=to_filters(request.filters),
            k=request.k,
        )
        return answer.to_dict()

    @router.get("/v1/models", tags=["openai"])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "tia"}]}

    @router.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-compatible chat completion")
    def chat_completions(request: ChatCompletionRequest) -> Any:
        """The last user message is the question, earlier messages the history.

        The answer text carries `[n]` marks; `citations` (an extra field) lists them.
        With `stream: true` the answer comes as server-sent `chat.completion.chunk` events.
        """
        question, history = _split_messages(request.messages)
        filters = to_filters(request.filters)
        cid, created, model = _completion_id(), int(time.time()), request.model or MODEL_NAME
        if not request.stream:
            answer = assistant.answer(question, history=history, filters=filters, k=request.k)
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.text},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": _citations(answer),
                "tia": _tia_extra(answer),
            }
        pieces = assistant.stream(question, history=history, filters=filters, k=request.k)
        first = next(pieces)  # bad input raises here, before the 200 is sent

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            body = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return _sse(body | extra)

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            try:
                item = first
                while True:
                    if isinstance(item, Answer):
                        yield chunk({}, "stop", citations=_citations(item), tia=_tia_extra(item) | {"text": item.text})
                        break
                    yield chunk({"content": item})
                    item = next(pieces)
            except TiaError as exc:  # the status line is sent: report the error in-band
                yield _sse({"error": {"message": str(exc), "type": type(exc).__name__}})
            yield _sse("[DONE]")

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @router.get("/api/documents", tags=["documents"])
    def documents() -> list[dict[str, Any]]:
        return [_doc_info(d) for d in assistant.documents()]

    @router.get("/api/documents/{doc_id}", tags=["documents"])
    def document(doc_id: str) -> dict[str, Any]:
        doc = assistant.document(doc_id)
        return _doc_info(doc) | {"text": doc.text, "pages": [list(p) for p in doc.pages]}

    @router.get("/api/status", tags=["documents"])
    def status() -> dict[str, Any]:
        return assistant.status()

    @router.get("/documents/{doc_id}", response_class=HTMLResponse, tags=["documents"])
    def document_page(
        doc_id: str,
        start: int | None = Query(default=None, ge=0),
        end: int | None = Query(default=None, ge=0),
        lang: Literal["fr", "en"] = "fr",
    ) -> HTMLResponse:
        """The document's normalised text (escaped), the span [start, end) marked as `#c{start}`."""
        return HTMLResponse(
            document_html(assistant.document(doc_id), start, end, lang),
            headers={"Content-Security-Policy": DOCUMENT_CSP},
        )

    return router


def _doc_info(d: Any) -> dict[str, Any]:
    return {
        "doc_id": d.doc_id,
        "source": d.source,
        "name": d.name,
        "title": d.title,
        "date": d.date,
        "format": d.format,
        "chunks": d.chunks,
        "regions": list(d.regions),
    }
