"""The Gradio page: a chat with sources beside each answer, and a Documents tab.

Layout and wiring only; what the buttons do is in `ui.chat` and `ui.documents`.
The asking endpoint is published as `/ask` for `gradio_client` users:

Usage::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("Combien de territoires ?", api_name="/ask")
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry, ever

from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from knowledge.errors import TiaError  # noqa: E402
from knowledge.regions import METROPOLITAN_REGIONS, OVERSEAS_REGIONS  # noqa: E402
from ui.chat import EXAMPLES, ChatHandlers, answered  # noqa: E402
from ui.documents import DEFAULT_UPLOAD_LIMIT_MB, UPLOAD_TYPES, DocumentHandlers  # noqa: E402
from ui.feedback import FeedbackLog, feedback_path  # noqa: E402
from ui.i18n import LANGUAGES, lang_of, t  # noqa: E402
from ui.render import sources_html  # noqa: E402

__all__ = ["build_page", "page_options", "ASSETS"]

ASSETS = Path(__file__).parent / "assets"


def page_options() -> dict[str, Any]:
    """Theme, CSS and JS for `gr.mount_gradio_app` (Gradio 6 takes them at mount time).
    System fonts only: the default theme would fetch web fonts from outside."""
    theme = gr.themes.Default(
        primary_hue="blue", font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    ).set(  # white on blue-700: contrast 6.7:1 (WCAG AA); the default orange is below 3:1
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
        button_cancel_background_fill="#b91c1c",  # "stop" buttons: white on red-700, 6.5:1
        button_cancel_background_fill_hover="#991b1b",
        button_cancel_text_color="white",
    )
    return {"theme": theme, "css_paths": [ASSETS / "tia.css"], "js": (ASSETS / "tia.js").read_text(encoding="utf-8")}


def _headers(lang: str) -> list[str]:
    return [t(lang, k) for k in ("col_title", "col_date", "col_type", "col_chunks", "col_file")]


def _as_gradio_error(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A TiaError from a button becomes a visible message instead of a generic 'Error'."""

    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except TiaError as exc:
            raise gr.Error(str(exc)) from exc

    wrapper.__name__ = getattr(fn, "__name__", "handler")
    wrapper.__doc__ = fn.__doc__
    return wrapper


def build_page(
    assistant: Any, *, limit_mb: int = DEFAULT_UPLOAD_LIMIT_MB, concurrency: int = 4
) -> gr.Blocks:
    """The whole page over one `Assistant`; `concurrency` answers are computed at once."""
    chat = ChatHandlers(assistant, FeedbackLog(feedback_path(assistant.settings.data_dir)))
    docs = DocumentHandlers(assistant, limit_mb)
    fr = "fr"
    answer_pool = {"concurrency_limit": concurrency, "concurrency_id": "answer"}
    write_pool = {"concurrency_limit": 1, "concurrency_id": "write"}  # ingest and remove one at a time

    with gr.Blocks(title=t(fr, "title"), analytics_enabled=False) as page:
        lang = gr.State(fr)
        turns = gr.State([])
        with gr.Row(elem_id="tia-header", equal_height=True):
            header = gr.Markdown(f"# {t(fr, 'title')}\n{t(fr, 'intro')}")
            switch = gr.Radio(
                list(LANGUAGES), value="Français", label=t(fr, "language"), elem_id="tia-lang", scale=0, min_width=220
            )
        with gr.Tabs():
            with gr.Tab(t(fr, "tab_chat"), id="chat", elem_id="tia-tab-chat") as chat_tab:
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        chatbot = gr.Chatbot(
                            label=t(fr, "chat_label"),
                            elem_id="tia-chat",
                            height="62vh",
                            min_height=320,
                            buttons=["copy"],
                            placeholder=t(fr, "placeholder"),
                            examples=[{"text": q} for q in EXAMPLES],
                            latex_delimiters=[],
                            feedback_options=("Like", "Dislike"),
                            group_consecutive_messages=False,
                            allow_tags=False,
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                label=t(fr, "question"),
                                placeholder=t(fr, "question_ph"),
                                lines=1,
                                max_lines=6,
                                max_length=2000,
                                elem_id="tia-question",
                                scale=5,
                                autofocus=True,
                            )
                            send = gr.Button(t(fr, "send"), variant="primary", elem_id="tia-send", scale=1, min_width=100)
                        notice = gr.Markdown("", elem_id="tia-notice")
                        with gr.Accordion(t(fr, "filters"), open=False, elem_id="tia-filters") as filters_box:
                            regions = gr.Dropdown(
                                list(METROPOLITAN_REGIONS + OVERSEAS_REGIONS),
                                multiselect=True,
                                label=t(fr, "regions"),
                                elem_id="tia-regions",
                            )
                            with gr.Row():
                                date_from = gr.Textbox(label=t(fr, "date_from"), elem_id="tia-date-from", max_length=10)
                                date_to = gr.Textbox(label=t(fr, "date_to"), elem_id="tia-date-to", max_length=10)
                            only_docs = gr.Dropdown([], multiselect=True, label=t(fr, "only_docs"), elem_id="tia-only-docs")
                        with gr.Group(elem_id="tia-feedback"):
                            feedback_title = gr.Markdown(f"**{t(fr, 'feedback')}**")
                            comment = gr.Textbox(
                                label=t(fr, "comment"), placeholder=t(fr, "comment_ph"), elem_id="tia-comment", max_length=2000
                            )
                            with gr.Row():
                                useful = gr.Button(t(fr, "useful"), elem_id="tia-useful", size="md")
                                not_useful = gr.Button(t(fr, "not_useful"), elem_id="tia-not-useful", size="md")
                        feedback_notice = gr.Markdown("", elem_id="tia-feedback-notice")
                        new_chat = gr.Button(t(fr, "new_chat"), elem_id="tia-new-chat", size="md")
                        with gr.Accordion(t(fr, "copy"), open=False, elem_id="tia-copy-box") as copy_box:
                            copy_text = gr.Textbox(
                                label=t(fr, "copy_label"), lines=6, buttons=["copy"], interactive=False, elem_id="tia-copy"
                            )
                    with gr.Column(scale=2, min_width=300):
                        sources_title = gr.Markdown(f"## {t(fr, 'sources')}")
                        sources = gr.HTML(sources_html([], fr), elem_id="tia-sources", js_on_load=None)
            with gr.Tab(t(fr, "tab_docs"), id="docs", elem_id="tia-tab-docs") as docs_tab:
                docs_intro = gr.Markdown(t(fr, "docs_intro"))
                table = gr.Dataframe(
                    value=docs.rows(),
                    headers=_headers(fr),
                    datatype=["str", "str", "str", "number", "str"],
                    column_widths=["46%", "12%", "8%", "10%", "24%"],
                    interactive=False,
                    wrap=True,
                    label=t(fr, "docs_table"),
                    elem_id="tia-docs-table",
                )
                bundled = gr.Button(t(fr, "bundled_btn"), visible=False, elem_id="tia-bundled")
                upload = gr.File(
                    file_count="multiple",
                    file_types=list(UPLOAD_TYPES),
                    label=t(fr, "upload", limit=limit_mb),
                    elem_id="tia-upload",
                )
                add = gr.Button(t(fr, "upload_btn"), variant="primary", elem_id="tia-add")
                report = gr.HTML("", elem_id="tia-report", js_on_load=None)
                with gr.Row(equal_height=True):
                    to_remove = gr.Dropdown([], label=t(fr, "remove_choice"), elem_id="tia-remove-choice", scale=3)
                    remove = gr.Button(t(fr, "remove_btn"), variant="stop", elem_id="tia-remove", scale=1)
                with gr.Group(visible=False, elem_id="tia-confirm") as confirm:
                    confirm_text = gr.Markdown("")
                    with gr.Row():
                        yes = gr.Button(t(fr, "remove_yes"), variant="stop", elem_id="tia-remove-yes")
                        no = gr.Button(t(fr, "remove_no"), elem_id="tia-remove-no")
                remove_notice = gr.Markdown("", elem_id="tia-remove-notice")

        # -- chat ------------------------------------------------------------------------
        ask_inputs = [question, turns, lang, regions, date_from, date_to, only_docs]
        ask_outputs = [question, chatbot, turns, sources, copy_text, notice]
        for trigger in (question.submit, send.click):
            trigger(chat.respond, ask_inputs, ask_outputs, api_visibility="private", show_progress="minimal", **answer_pool)
        def pick_example(data: gr.SelectData) -> str:
            return str(data.value["text"])

        chatbot.example_select(pick_example, None, question, api_visibility="private", queue=False).then(chat.respond, ask_inputs, ask_outputs, api_visibility="private", show_progress="minimal", **answer_pool)

        def new_conversation(current: str) -> tuple[Any, ...]:
            return [], [], sources_html([], current), "", "", "", ""

        new_chat.click(
            new_conversation,
            [lang],
            [turns, chatbot, sources, copy_text, notice, feedback_notice, comment],
            api_visibility="private",
            queue=False,
        )
        chatbot.clear(new_conversation, [lang], [turns, chatbot, sources, copy_text, notice, feedback_notice, comment], api_visibility="private")

        for button, verdict in ((useful, "useful"), (not_useful, "not_useful")):
            button.click(
                _as_gradio_error(lambda ts, c, lg, v=verdict: chat.rate(v, ts, c, lg)),
                [turns, comment, lang],
                [feedback_notice, comment],
                api_visibility="private",
            )

        def on_like(data: gr.LikeData, ts: list[Any], c: str, lg: str) -> tuple[str, str]:
            return chat.rate_message(data.index, data.liked, ts, c, lg)

        chatbot.like(on_like, [turns, comment, lang], [feedback_notice, comment], api_visibility="private")

        # -- the documented API endpoint ---------------------------------------------------
        def ask(
            question: str,
            history: list[dict] | None = None,
            regions: list[str] | None = None,
            sources: list[str] | None = None,
            date_from: str | None = None,
            date_to: str | None = None,
            k: int | None = None,
        ) -> dict:
            """Answer a question from the ingested documents, every claim cited.

            Args:
                question: the question, in French or English.
                history: earlier turns, oldest first: [{"role": "user"|"assistant", "content": "..."}].
                regions: only documents about these regions (names or acronyms, e.g. "CVL").
                sources: only these documents (doc ids, file names or paths).
                date_from: only documents dated on or after (YYYY, YYYY-MM or YYYY-MM-DD).
                date_to: only documents dated on or before.
                k: passages to retrieve (default 8).
            Returns:
                The Answer as JSON, the same as `tia ask --json`: text with [n] marks, citations, abstained...
            """
            try:
                return chat.ask_api(question, history, regions, sources, date_from, date_to, k)
            except TiaError as exc:
                raise gr.Error(str(exc)) from exc

        gr.api(ask, api_name="ask", **answer_pool)

        # -- documents ---------------------------------------------------------------------
        def refresh(current: str) -> tuple[Any, ...]:
            choices = docs.choices()
            return (
                gr.update(value={"data": docs.rows(), "headers": _headers(current)}),
                gr.update(choices=choices, value=None),
                gr.update(choices=choices),
                gr.update(visible=not choices),
            )

        listing = [table, to_remove, only_docs, bundled]
        page.load(refresh, [lang], listing, api_visibility="private", queue=False)
        add.click(
            _as_gradio_error(docs.add), [upload, lang], [report], api_visibility="private", show_progress="full", **write_pool
        ).then(lambda: None, None, upload, api_visibility="private", queue=False).then(
            refresh, [lang], listing, api_visibility="private", queue=False
        )
        bundled.click(
            _as_gradio_error(docs.add_bundled), [lang], [report], api_visibility="private", show_progress="full", **write_pool
        ).then(refresh, [lang], listing, api_visibility="private", queue=False)

        def ask_confirm(doc_id: str | None, current: str) -> tuple[Any, ...]:
            title = docs.title_of(doc_id)
            if title is None:
                return gr.update(visible=False), "", t(current, "choose_doc")
            return gr.update(visible=True), t(current, "remove_confirm", title=title), ""

        remove.click(ask_confirm, [to_remove, lang], [confirm, confirm_text, remove_notice], api_visibility="private", queue=False)
        no.click(lambda: gr.update(visible=False), None, confirm, api_visibility="private", queue=False)
        yes.click(
            lambda doc_id, current: (gr.update(visible=False), docs.remove(doc_id, current)),
            [to_remove, lang],
            [confirm, remove_notice],
            api_visibility="private",
            **write_pool,
        ).then(refresh, [lang], listing, api_visibility="private", queue=False)

        # -- interface language ----------------------------------------------------------
        def relabel(choice: str, ts: list[Any]) -> tuple[Any, ...]:
            lg = lang_of(LANGUAGES.get(choice, choice))
            u = gr.update
            return (
                lg,
                f"# {t(lg, 'title')}\n{t(lg, 'intro')}",
                u(label=t(lg, "language")),
                u(label=t(lg, "tab_chat")),
                u(label=t(lg, "tab_docs")),
                u(label=t(lg, "chat_label"), placeholder=t(lg, "placeholder")),
                u(label=t(lg, "question"), placeholder=t(lg, "question_ph")),
                u(value=t(lg, "send")),
                u(label=t(lg, "filters")),
                u(label=t(lg, "regions")),
                u(label=t(lg, "date_from")),
                u(label=t(lg, "date_to")),
                u(label=t(lg, "only_docs")),
                f"**{t(lg, 'feedback')}**",
                u(label=t(lg, "comment"), placeholder=t(lg, "comment_ph")),
                u(value=t(lg, "useful")),
                u(value=t(lg, "not_useful")),
                u(value=t(lg, "new_chat")),
                u(label=t(lg, "copy")),
                u(label=t(lg, "copy_label")),
                f"## {t(lg, 'sources')}",
                sources_html(answered(ts), lg),
                t(lg, "docs_intro"),
                u(label=t(lg, "docs_table"), value={"data": docs.rows(), "headers": _headers(lg)}),
                u(value=t(lg, "bundled_btn")),
                u(label=t(lg, "upload", limit=limit_mb)),
                u(value=t(lg, "upload_btn")),
                u(label=t(lg, "remove_choice")),
                u(value=t(lg, "remove_btn")),
                u(value=t(lg, "remove_yes")),
                u(value=t(lg, "remove_no")),
            )

        switch.change(
            relabel,
            [switch, turns],
            [
                lang, header, switch, chat_tab, docs_tab, chatbot, question, send, filters_box, regions,
                date_from, date_to, only_docs, feedback_title, comment, useful, not_useful, new_chat, copy_box,
                copy_text, sources_title, sources, docs_intro, table, bundled, upload, add, to_remove, remove,
                yes, no,
            ],
            api_visibility="private",
            queue=False,
            js="(choice, ts) => { document.documentElement.lang = choice === 'English' ? 'en' : 'fr'; return [choice, ts]; }",
        )  # fmt: skip

    page.queue(default_concurrency_limit=concurrency)
    return page
