"""The page as a user sees it: Debian's Chromium, headless, driven by Playwright
against the real tia server (one per session, see ui_helpers). Screenshots of the
main states go to test-artifacts/screenshots/.

Every page records its requests: none may leave 127.0.0.1 (no fonts, no CDN, no
analytics), and no JavaScript dialog may open.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("ui_helpers")
from ui_helpers import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, LiveServer  # noqa: E402

pytest_plugins = ["ui_helpers"]  # the shared session server (ui_server), started once
pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.browser]

TIMEOUT_MS = 90_000  # generous: answers and ingest share 2 cores with the browser
CVL = "Quels territoires du Centre-Val de Loire sont lauréats de la phase 2 ?"
GRAND_EST = "Combien de territoires d'industrie compte le Grand Est ?"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's package, not a Playwright download) per session."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    page: Any
    server: LiveServer
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def shot(self, name: str, page: Any = None) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (page or self.page).screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def ask(self, question: str, turn: int) -> str:
        """Type the question, press Enter, wait for answer `turn` and its sources; return its text."""
        box = self.page.locator("#tia-question textarea")
        box.fill(question)
        box.press("Enter")
        self.page.wait_for_selector(f"#tia-sources #turn-{turn}", timeout=TIMEOUT_MS)
        return str(self.page.locator('#tia-chat [data-testid="bot"]').last.inner_text())

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def upload(self, path: Path) -> str:
        """Add a file in the Documents tab; returns the per-file report."""
        self.tab("Documents")
        # The tab renders its panel on the click: set the file only once the upload box shows, or a slow
        # render can replace the input after the file was set (a CI run under load lost an upload so).
        self.page.wait_for_selector("#tia-upload", state="visible", timeout=TIMEOUT_MS)
        self.page.locator("#tia-upload input[type=file]").set_input_files(str(path))
        self.page.wait_for_selector(f"#tia-upload :text('{path.name}')", timeout=TIMEOUT_MS)
        self.page.locator("#tia-add").click()
        self.page.wait_for_selector("#tia-report li", timeout=TIMEOUT_MS)
        return str(self.page.locator("#tia-report").inner_text())

    def in_view(self, selector: str, page: Any = None) -> bool:
        return bool(
            (page or self.page).evaluate(
                """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                              return r.height > 0 && r.top >= 0 && r.top < window.innerHeight; }""",
                selector,
            )
        )


def _open(browser: Any, server: LiveServer, width: int, height: int) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    tab = Tab(page, server)
    context.on("request", lambda request: tab.requests.append(request.url))
    context.on("page", lambda p: p.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss())))
    page.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    page.goto(server.url)
    page.wait_for_selector("#tia-question textarea")
    yield tab
    context.close()
    outside = [u for u in tab.requests if not u.startswith(("http://127.0.0.1:", "data:", "blob:"))]
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not tab.dialogs, f"a dialog opened: {tab.dialogs}"


@pytest.fixture
def tab(browser: Any, ui_server: LiveServer) -> Iterator[Tab]:
    yield from _open(browser, ui_server, 1280, 900)


@pytest.fixture
def phone(browser: Any, ui_server: LiveServer) -> Iterator[Tab]:
    yield from _open(browser, ui_server, 390, 844)


def test_ask_see_the_streamed_answer_its_sources_and_the_document(tab: Tab) -> None:
    page = tab.page
    for example in ("Quels territoires du Centre-Val de Loire", "Je dirige une usine à Issoudun", "How many Territoires"):
        assert page.get_by_text(example).first.is_visible()
    assert page.get_by_label("Votre question").count() == 1  # the box is labelled for screen readers
    tab.shot("01-empty-chat")
    # Record what the last assistant message shows as it changes.
    page.evaluate(
        """() => { window.tiaStates = []; const chat = document.querySelector('#tia-chat');
           new MutationObserver(() => { const bots = chat.querySelectorAll('[data-testid="bot"]');
             if (!bots.length) return; const text = bots[bots.length - 1].innerText;
             if (window.tiaStates[window.tiaStates.length - 1] !== text) window.tiaStates.push(text); })
           .observe(chat, {subtree: true, childList: true, characterData: true}); }"""
    )
    text = tab.ask(CVL, 1)
    states = [s.strip() for s in page.evaluate("window.tiaStates") if s.strip()]
    assert states[0] == "…" and len(states) >= 2  # shown at once, completed as it is composed
    assert "12 territoires" in text and "Issoudun" in text and "[1]" in text

    card = page.locator("#src-1-1")
    assert "Le point sur le programme" in card.inner_text() and "2025" in card.inner_text()
    marked = card.locator("mark").inner_text()
    assert marked.startswith("En Centre-Val de Loire, 12 territoires sont lauréats")
    link = card.get_by_role("link", name="Ouvrir le document à cet endroit")
    href = link.get_attribute("href")
    doc_id, start, end = re.fullmatch(r"documents/(\w+)\?start=(\d+)&end=(\d+)#c\d+", href).groups()
    import httpx

    document = httpx.get(tab.server.url + f"api/documents/{doc_id}").json()
    assert " ".join(marked.split()) == " ".join(document["text"][int(start) : int(end)].split())
    tab.shot("02-answer-with-sources")  # docs/screenshot.png (README) is a copy of this one

    with page.context.expect_page() as opened:
        link.click()
    view = opened.value
    view.wait_for_selector(f"mark#c{start}")
    assert tab.in_view(f"mark#c{start}", view)  # opened at the cited place
    assert " ".join(view.locator(f"mark#c{start}").inner_text().split()) == " ".join(marked.split())
    tab.shot("03-document-at-the-cited-place", view)


def test_citation_link_brings_its_source_into_view_on_a_phone(phone: Tab) -> None:
    page = phone.page
    phone.ask(GRAND_EST, 1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    page.evaluate("window.scrollTo(0, 0)")
    chat_box = page.locator("#tia-chat").bounding_box()
    sources_box = page.locator("#tia-sources").bounding_box()
    assert sources_box["y"] > chat_box["y"] + chat_box["height"] - 1  # one column: sources below
    assert not phone.in_view("#src-1-1")
    phone.shot("04-phone")
    page.locator('#tia-chat [data-testid="bot"] a[href$="#src-1-1"]').click()
    page.wait_for_function(
        """() => { const r = document.getElementById('src-1-1').getBoundingClientRect();
                   return r.top >= 0 && r.top < window.innerHeight; }"""
    )
    assert page.evaluate("document.activeElement.id") == "src-1-1"
    assert len(page.context.pages) == 1  # no new tab


def test_feedback_copy_and_new_conversation(tab: Tab) -> None:
    page = tab.page
    log = tab.server.data_dir / "feedback.jsonl"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    tab.ask(GRAND_EST, 1)

    page.get_by_text("Copier la dernière réponse avec ses sources").click()
    copied = page.locator("#tia-copy textarea").input_value()
    assert "15 territoires" in copied and "Sources:" in copied and "[1] Le programme" in copied

    page.get_by_label("Commentaire (facultatif)").fill("Clair et sourcé")
    page.locator("#tia-useful").click()
    page.wait_for_selector("#tia-feedback-notice :text('Merci')")
    assert page.get_by_label("Commentaire (facultatif)").input_value() == ""
    page.locator("#tia-chat").get_by_role("button", name="Je n'aime pas").last.click()  # Gradio's thumb, in French
    records = _wait_records(log, before + 2)
    useful, disliked = records[before:]
    assert useful["question"] == GRAND_EST and useful["verdict"] == "useful" and useful["comment"] == "Clair et sourcé"
    assert "15 territoires" in useful["answer"] and useful["citations"][0]["doc_id"]
    assert useful["history"] == [] and disliked["verdict"] == "not_useful"

    page.locator("#tia-new-chat").click()
    page.wait_for_selector("#tia-sources :text('apparaîtront ici')")
    assert page.locator('#tia-chat [data-testid="bot"]').count() == 0
    assert page.get_by_text("How many Territoires").first.is_visible()  # the examples are back


def _wait_records(path: Path, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.2)
    raise AssertionError(f"{path} has fewer than {count} records")


def test_switch_the_interface_to_english_and_pick_an_example(tab: Tab) -> None:
    page = tab.page
    page.get_by_label("English").check()
    page.wait_for_selector("#tia-send:text('Ask')")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_label("Your question").is_visible()
    assert page.get_by_role("tab", name="Questions").is_visible()
    assert page.get_by_text("Narrow the search (optional)").is_visible()
    page.get_by_text("How many Territoires d'industrie are there in the Grand Est?").click()
    page.wait_for_selector("#tia-sources #turn-1")
    assert "15" in page.locator('#tia-chat [data-testid="bot"]').last.inner_text()
    assert "Answer 1" in page.locator("#tia-sources").inner_text()
    assert "Open the document at this place" in page.locator("#tia-sources").inner_text()
    tab.shot("05-english")
    page.get_by_label("Français").check()
    page.wait_for_selector("#tia-send:text('Demander')")
    assert "Réponse 1" in page.locator("#tia-sources").inner_text()


def _make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Brévilly-sur-Orne : un atelier de robotique")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(
        0, 8,
        "Brévilly-sur-Orne : un atelier de robotique\n\nLa commune de Brévilly-sur-Orne, dans le Calvados, "
        "accueille depuis longtemps des ateliers de mécanique. Ses élus ont présenté un projet de formation.",
    )  # fmt: skip
    pdf.add_page()
    pdf.multi_cell(
        0, 8,
        "Le 12 mars 2024, la commune de Brévilly-sur-Orne a reçu 3,2 millions d'euros du programme "
        "Territoires d'industrie pour ouvrir un atelier de robotique industrielle.",
    )  # fmt: skip
    pdf.output(str(path))


def test_upload_a_pdf_ask_about_it_then_remove_it(tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    pdf = tmp_path / "brevilly-robotique.pdf"
    _make_pdf(pdf)
    report = tab.upload(pdf)
    assert "brevilly-robotique.pdf : ajouté" in report, report
    page.wait_for_selector("#tia-docs-table :text('brevilly-robotique.pdf')")
    assert (tab.server.data_dir / "uploads" / pdf.name).read_bytes() == pdf.read_bytes()
    tab.shot("06-documents-after-upload")

    tab.tab("Questions")
    text = tab.ask("Combien la commune de Brévilly-sur-Orne a-t-elle reçu pour son atelier de robotique ?", 1)
    assert "3,2 millions" in text
    card = page.locator("#src-1-1").inner_text()
    assert "brevilly-robotique.pdf" in card and "page 2" in card

    tab.tab("Documents")
    page.locator("#tia-remove-choice input").click()
    page.get_by_role("option", name=re.compile("brevilly-robotique.pdf")).click()
    page.locator("#tia-remove").click()
    page.wait_for_selector("#tia-confirm :text('Retirer définitivement')")
    page.locator("#tia-remove-yes").click()
    page.wait_for_selector("#tia-remove-notice :text('Retiré')")
    page.wait_for_function("() => !document.querySelector('#tia-docs-table').innerText.includes('brevilly')")
    assert all(d.name != pdf.name for d in tab.server.assistant.documents())
    assert not (tab.server.data_dir / "uploads" / pdf.name).exists()


def test_document_text_is_shown_escaped_and_runs_nothing(tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    evil = tmp_path / "zorglub.txt"
    # The loader decodes entities, so the stored text holds real tags: the worst case.
    evil.write_text(
        "Zorglubville : la fabrique de cornichons\n\n"
        "À Zorglubville, le programme Territoires d'industrie finance la fabrique de cornichons "
        "&lt;script&gt;window.tiaXss='script';alert('xss')&lt;/script&gt; et son entrepôt "
        "&lt;img src=x onerror=\"window.tiaXss='img';alert('xss')\"&gt; depuis 2024.\n",
        encoding="utf-8",
    )
    try:
        assert "zorglub.txt : ajouté" in tab.upload(evil)
        tab.tab("Questions")
        text = tab.ask("Que finance le programme à Zorglubville ?", 1)
        assert "<script>window.tiaXss='script';alert('xss')</script>" in text
        sources = page.locator("#tia-sources").inner_text()
        assert "<img src=x onerror=\"window.tiaXss='img';alert('xss')\">" in sources
        assert page.locator("#tia-sources mark").first.inner_text().count("<script>") == 1
        tab.shot("07-escaped-document-text")
        with page.context.expect_page() as opened:
            page.locator("#src-1-1").get_by_role("link").click()
        view = opened.value
        view.wait_for_selector("mark")
        assert "<script>window.tiaXss" in view.locator("mark").inner_text()
        for p in (page, view):
            assert p.evaluate("typeof window.tiaXss") == "undefined"
            assert p.locator("img[src='x']").count() == 0
    finally:
        tab.server.assistant.remove("zorglub.txt")
