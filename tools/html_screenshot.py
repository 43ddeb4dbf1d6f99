"""Regenerate docs/demo-page.png: ``tlsstate demo --html`` opened in headless Chromium, a red proof record selected.

The README shows this picture; it is made, never edited by hand. Run from the repository root (needs the system
``chromium`` and the ``playwright`` package of the test extra; Playwright's own browser download is not used)::

    python tools/html_screenshot.py                  # rewrite docs/demo-page.png
    python tools/html_screenshot.py --out shot.png   # somewhere else
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "demo-page.png"
VIEWPORT = {"width": 1280, "height": 1900}
TIMEOUT_MS = 60_000


def make_page(directory: Path) -> Path:
    """Run the demo with --html (real handshakes on loopback) and return the page."""
    page = directory / "demo.html"
    subprocess.run([sys.executable, "-m", "tlsstate", "demo", "--html", str(page)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    return page


def screenshot(page_path: Path, out: Path, chromium: str) -> None:
    """Open the page, scroll to the TLS 1.2 connection's timeline, select its flipped-byte record, save a PNG."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport=VIEWPORT, color_scheme="light")
            page.goto(page_path.resolve().as_uri(), timeout=TIMEOUT_MS)
            page.locator("#c1 .tree").scroll_into_view_if_needed()
            flipped = page.locator("#c1 tr.bad").first
            flipped.click()
            page.evaluate("document.querySelector('#c1 .tree').scrollIntoView()")
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tlsstate-shot-") as tmp:
        screenshot(make_page(Path(tmp)), args.out, args.chromium)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
