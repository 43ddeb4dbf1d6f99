"""Measure the --html pages at scale: page size and the time headless Chromium needs to open them.

Two generated captures of real TLS 1.2 (OpenSSL through CPython ``ssl``, :mod:`tlsstate.bench.captures`): one
connection carrying 100,000 client records, and 10,000 connections of two client records each. For each:
``tlsstate decrypt --html`` (wall time, in process), the page's size and bytes per record, and in Debian's
``chromium`` driven by Playwright (best of ``--repeat``): time to the load event, time to open one connection (the
10,000-connection page starts with every connection closed) and time for a selected record's details. These are
figures for docs/performance.md, not a timed test (the test of the size bound is tests/unit/html/test_render.py).

    python tools/html_benchmark.py [--records 100000] [--connections 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tlsstate.bench.captures import ssl_capture  # noqa: E402
from tlsstate.capture.decrypt import DecryptOptions, decrypt_capture  # noqa: E402
from tlsstate.capture.keysource import KeySource  # noqa: E402
from tlsstate.html.capture import capture_page  # noqa: E402
from tlsstate.html.render import write_page  # noqa: E402

TIMEOUT_MS = 180_000


def build_page(directory: Path, connections: int, records: int) -> dict[str, Any]:
    """Capture -> decrypt -> page; sizes and times."""
    directory.mkdir()
    made = ssl_capture(directory, connections=connections, records=records, payload=b"GET /x HTTP/1.1\r\n\r\n")
    keys = KeySource()
    keys.add_keylog_file(made.keylog)
    start = time.perf_counter()
    result = decrypt_capture(made.capture, keys, DecryptOptions(keep_records=True))
    decrypted = time.perf_counter()
    page = directory / "page.html"
    size = write_page(page, capture_page(result.connections, "tlsstate decrypt capture.pcap", reveal=False))
    written = time.perf_counter()
    total = sum(len(c.session.records) for c in result.connections)
    return {"page": page, "connections": len(result.connections), "records": total, "bytes": size,
            "decrypt_s": decrypted - start, "page_s": written - decrypted, "capture_bytes": made.capture.stat().st_size}


def open_times(browser: Any, page: Path, connection: str, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` seconds: load event, one connection opened and ready, one record's details shown."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        context = browser.new_context()
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
        start = time.perf_counter()
        tab.goto(page.resolve().as_uri(), wait_until="load", timeout=TIMEOUT_MS)
        loaded = time.perf_counter()
        if not tab.evaluate(f"document.getElementById('{connection}').open"):
            tab.click(f"#{connection} > summary", timeout=TIMEOUT_MS)
        tab.wait_for_selector(f"#{connection} .tools", timeout=TIMEOUT_MS)
        ready = time.perf_counter()
        tab.evaluate(f"document.getElementById('{connection}r5').click()")
        tab.wait_for_selector("#panel:not([hidden]) .seq", timeout=TIMEOUT_MS)
        shown = time.perf_counter()
        context.close()
        if errors:
            raise RuntimeError(f"page errors: {errors}")
        for name, value in (("load_s", loaded - start), ("connection_s", ready - loaded), ("select_s", shown - ready)):
            best[name] = min(best.get(name, value), value)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="tlsstate-html-bench-") as tmp:
        cases = ((f"1 connection, {args.records:,} client records", 1, args.records, "c0"),
                 (f"{args.connections:,} connections, 2 client records each", args.connections, 2,
                  f"c{args.connections // 2}"))
        built = [(name, build_page(Path(tmp) / str(i), n, r), conn) for i, (name, n, r, conn) in enumerate(cases)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu",
                                                                                        "--disable-dev-shm-usage"])
            try:
                for name, info, conn in built:
                    rows.append((name, info, open_times(browser, info["page"], conn, args.repeat)))
            finally:
                browser.close()
    print("| capture | records on the page | page size | bytes / record | decrypt + page | load event | "
          "open a connection | select a record |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, info, times in rows:
        print(f"| {name} | {info['records']:,} | {info['bytes'] / 1e6:.1f} MB | {info['bytes'] / info['records']:.0f} | "
              f"{info['decrypt_s']:.1f} s + {info['page_s']:.1f} s | {times['load_s']:.2f} s | "
              f"{times['connection_s']:.2f} s | {times['select_s']:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
