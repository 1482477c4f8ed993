"""The browser page and HTTP API of tia (`tia serve`).

Modules: `server` (`create_app`, `serve`), `app` (the Gradio page), `api` (JSON and
OpenAI-compatible routes), `chat` and `documents` (what the page's buttons do),
`render` (escaped HTML of answers, sources and documents), `feedback`, `i18n`,
`commands` (the `serve` and `feedback` click commands).

Nothing outside `ui/` imports this package, and importing it imports nothing heavy:
`tia ask` never pays for Gradio.
"""

from __future__ import annotations

__all__: list[str] = []
