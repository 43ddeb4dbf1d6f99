"""The page writer: hostile text stays text, nothing is fetched, and the page size has a stated linear bound.

The markup is checked with the standard library's HTML parser (not with our template's own assumptions): it must
find exactly the elements the template writes, whatever the data holds. The size bound is the one
docs/performance.md states (``BYTES_PER_RECORD``, ``BYTES_PER_CONNECTION``, ``BYTES_FIXED``, and the packed bound of a
collapsed page), measured on real TLS captures made by OpenSSL (CPython ``ssl``).
"""

from __future__ import annotations

import base64
import gzip
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from tlsstate.bench.captures import ssl_capture
from tlsstate.capture.decrypt import DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.html.capture import capture_page
from tlsstate.html.model import (
    BYTES_FIXED,
    BYTES_PER_CONNECTION,
    BYTES_PER_DETAIL,
    BYTES_PER_PACKED_CONNECTION,
    BYTES_PER_RECORD,
    DETAIL_PAGE_RECORDS,
    ConnectionView,
    Fact,
    KeyColour,
    Page,
    RecordDetail,
    RecordView,
    TreeNode,
)
from tlsstate.html.render import SEPARATOR, render_page

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>{{ 7*7 }}&amp;</textarea><!--'


class Elements(HTMLParser):
    """Counts start tags and collects the text of <script> elements and every attribute value."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.attributes: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def hostile_page(collapsed: bool = False) -> Page:
    view = ConnectionView(0, HOSTILE, [Fact(HOSTILE, HOSTILE)], [], [], [KeyColour(HOSTILE, 1)],
                          nonce_rule=HOSTILE + " {seq}", notes=[HOSTILE])
    view.tree = [TreeNode("c0-h1", HOSTILE, HOSTILE, 3, HOSTILE, children=[TreeNode("c0-x", "x", "", None, HOSTILE)],
                          keys=[0])]
    view.add_record(RecordView(0, True, HOSTILE, 0, 10, 10, "bad_record_mac", 0, reason=HOSTILE, note=HOSTILE,
                               detail=RecordDetail(HOSTILE, HOSTILE, HOSTILE, HOSTILE.encode() * 20, 20 * len(HOSTILE))))
    connections = [view] * (25 if collapsed else 1)
    return Page(HOSTILE, HOSTILE, connections, False, intro=HOSTILE, links=[(HOSTILE, HOSTILE)])


def parse(markup: str) -> Elements:
    elements = Elements()
    elements.feed(markup)
    elements.close()
    return elements


def test_hostile_text_is_escaped_everywhere() -> None:
    markup = render_page(hostile_page())
    elements = parse(markup)
    assert elements.tags["script"] == 1 and elements.tags["img"] == 0 and elements.tags["textarea"] == 0
    assert not any(name.startswith("on") for _tag, name, _value in elements.attributes)
    assert "<!--" not in markup  # no comment opened
    assert HOSTILE in "".join(elements.text)  # shown as the very text it is (so "{{ 7*7 }}" was not evaluated)
    assert markup.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 10


def test_collapsed_page_packs_the_same_escaped_markup() -> None:
    markup = render_page(hostile_page(collapsed=True))
    blocks = re.findall(r'<script type="application/octet-stream">([^<]*)</script>', markup)
    assert len(blocks) == 1  # 25 connections, 100 per block
    bodies = gzip.decompress(base64.b64decode(blocks[0])).decode().split(SEPARATOR)
    assert len(bodies) == 25
    elements = parse(bodies[3])
    assert elements.tags["script"] == elements.tags["img"] == 0 and elements.tags["tr"] == 2  # head + the record
    assert HOSTILE in "".join(elements.text)
    outer = parse(markup)
    assert outer.tags["details"] == 25 and outer.tags["tr"] == 0  # no connection body parsed before it is opened


def test_the_page_loads_nothing() -> None:
    markup = render_page(hostile_page())
    elements = parse(markup)
    csp = next(value for tag, name, value in elements.attributes if tag == "meta" and name == "content"
               and value and "default-src" in value)
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    urls = [value for _tag, name, value in elements.attributes if name in ("src", "href") and value
            and not value.startswith("#") and value != HOSTILE]
    assert urls == []
    assert not re.search(r"https?://|@import|url\(", markup.replace(HOSTILE, ""))


def _page_bytes(directory: Path, connections: int, records: int) -> tuple[int, int]:
    directory.mkdir()
    made = ssl_capture(directory, connections=connections, records=records, payload=b"x" * 32, reply=b"y")
    keys = KeySource()
    keys.add_keylog_file(made.keylog)
    result = decrypt_capture(made.capture, keys, DecryptOptions(keep_records=True))
    total_records = sum(len(c.session.records) for c in result.connections)
    return len(render_page(capture_page(result.connections, "test", reveal=False)).encode()), total_records


def test_page_size_is_linear_within_the_stated_bound(tmp_path: Path) -> None:
    sizes = [_page_bytes(tmp_path / str(n), 1, n) for n in (1000, 3000)]
    (small, small_records), (large, large_records) = sizes
    per_record = (large - small) / (large_records - small_records)
    assert per_record <= BYTES_PER_RECORD
    for size, records in sizes:  # (the first DETAIL_PAGE_RECORDS records' details are within both)
        details = min(records, DETAIL_PAGE_RECORDS, 1000)  # capture.trace.DETAIL_RECORDS per connection
        assert size <= BYTES_FIXED + BYTES_PER_CONNECTION + BYTES_PER_RECORD * records + BYTES_PER_DETAIL * details


def test_collapsed_page_size_per_connection(tmp_path: Path) -> None:
    # 150 and 210 connections of 14 records: both beyond the page's DETAIL_PAGE_RECORDS records with details
    (few, few_records), (many, _) = (_page_bytes(tmp_path / str(n), n, 2) for n in (150, 210))
    assert few_records > DETAIL_PAGE_RECORDS
    assert (many - few) / 60 <= BYTES_PER_PACKED_CONNECTION
    assert few <= BYTES_FIXED + 150 * BYTES_PER_PACKED_CONNECTION + DETAIL_PAGE_RECORDS * BYTES_PER_DETAIL
