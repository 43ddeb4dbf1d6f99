"""A real headless Chromium (Debian's ``chromium``) driven by Playwright for Python through ``executable_path``.

:func:`launch_chromium` yields the browser (wrap it in a module-scoped fixture); :func:`open_page` loads a file and
records what a page must never do: console errors, uncaught exceptions, and any request besides the file itself.
Playwright's own browser download is never used; without the system binary or the package the tests skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import require_binary

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 30_000


@dataclass
class Opened:
    """A loaded page and what it did while loading and being used."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        """Requests for anything but the page file itself."""
        return [url for url in self.requests if url != self.url]


def launch_chromium() -> Iterator[Any]:
    """One headless Chromium (skips without the ``chromium`` binary or Playwright)."""
    executable = require_binary("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, path: Path, **context_options: Any) -> Opened:
    """Open ``path`` (file://) in a fresh context; the caller closes ``opened.page.context``."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    url = path.resolve().as_uri()
    opened = Opened(page, url)
    page.on("console", lambda message: opened.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    page.on("request", lambda request: opened.requests.append(request.url))
    page.goto(url, wait_until="load")
    return opened
