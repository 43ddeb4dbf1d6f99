"""One self-contained HTML page from a :class:`~tlsstate.html.model.Page`: Jinja2 with autoescaping on.

Capture data is hostile input (a record's plaintext, an SNI, a first line of application data can hold markup), so
every value reaches the page through an escaping Jinja2 expression, the page's own script fills its selection panel
with ``textContent`` only, and a Content-Security-Policy allows only the page's own inline style and script (by
a fresh nonce) and no network request at all (``default-src 'none'``). The CSS and JavaScript are inlined from
``templates/``; the page needs no file or server besides itself.
"""

from __future__ import annotations

import base64
import gzip
import secrets
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from tlsstate.html.model import PLAINTEXT_PREVIEW, Page

__all__ = ["render_page", "write_page"]

PALETTE = 9  # colours of protected keys; slot 0 is plaintext
#: Between two packed connection bodies: escaped markup never holds a "<" from the data, so this cannot occur in it.
SEPARATOR = "<!--connection-->"
PACK_GROUP = 100  # connections per packed block


def hex_spaced(data: bytes) -> str:
    """Bytes as hex, a space every byte and a line break every 16 (the page wraps it in <pre>)."""
    lines = [data[i:i + 16].hex(" ") for i in range(0, len(data), 16)]
    return "\n".join(lines)


def printable(data: bytes) -> str:
    """Bytes as text: printable ASCII as it is, line breaks kept, every other byte as ``·``."""
    return "".join(chr(b) if 32 <= b < 127 or b in (10, 9) else "·" for b in data)


def colour(slot: int) -> int:
    """The CSS colour class of a key's slot (0 plaintext, 1..PALETTE cycling)."""
    return 0 if slot == 0 else 1 + (slot - 1) % PALETTE


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("tlsstate.html", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.filters["hex_spaced"] = hex_spaced
    env.filters["printable"] = printable
    env.globals["colour"] = colour
    env.globals["PREVIEW"] = PLAINTEXT_PREVIEW
    return env


_ENV: Environment | None = None


def _packed(template: Template, page: Page) -> list[str]:
    """A collapsed page's connection bodies, PACK_GROUP connections per block: the same escaped markup an open page
    carries, joined by SEPARATOR, gzip-compressed and base64-encoded. The page's script unpacks a block with the
    browser's DecompressionStream when one of its connections is first opened: creating the elements of 10,000
    connections up front is what would make a large page slow."""
    module = template.environment.get_template("connection.html.j2").make_module({"page": page})
    body = getattr(module, "connection_body")  # noqa: B009 (a macro: TemplateModule's attributes are dynamic)
    blocks = []
    for start in range(0, len(page.connections), PACK_GROUP):
        group = page.connections[start:start + PACK_GROUP]
        bodies = SEPARATOR.join(str(body(c, f"c{c.number}")) for c in group)
        blocks.append(base64.b64encode(gzip.compress(bodies.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii"))
    return blocks


def render_page(page: Page) -> str:
    """The page as one HTML string."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    template = _ENV.get_template("page.html.j2")
    packed = _packed(template, page) if page.collapsed else []
    return template.render(page=page, nonce=secrets.token_urlsafe(16), packed=packed, separator=SEPARATOR,
                           group=PACK_GROUP)


def write_page(path: Path | str, page: Page) -> int:
    """Write the page to ``path`` (UTF-8); returns its size in bytes. Raises OSError when it cannot be written."""
    data = render_page(page).encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)
