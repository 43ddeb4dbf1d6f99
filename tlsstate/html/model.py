"""What an HTML page shows, as plain data: connections, each with a derivation tree and a record timeline.

Builders (:mod:`tlsstate.html.live` for ``demo`` / ``connect``, :mod:`tlsstate.html.capture` for ``decrypt``) fill
these; :mod:`tlsstate.html.render` turns them into one self-contained page. Nothing here knows HTML: every text
is escaped by the template, and secret values are shortened here unless the command was given its reveal option.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "SIX_VALUES", "ConnectionView", "Fact", "KeyColour", "Page", "RecordDetail", "RecordView", "TcpMark", "TreeNode",
    "key_base", "link_keys", "nodes_for_key", "shown",
]

#: The six values of a TLS <= 1.2 connection state in key-block order (RFC 5246 §6.3).
SIX_VALUES = ("client_write_mac_key", "server_write_mac_key", "client_write_key", "server_write_key",
              "client_write_iv", "server_write_iv")
#: Bytes of plaintext a record's details show before "show all" (and at most this many are kept at all).
PLAINTEXT_PREVIEW = 256
PLAINTEXT_KEPT = 16384
#: Up to this many connections a page shows them all open; more start closed.
OPEN_CONNECTIONS = 20
#: Records of one page whose details carry their bytes (header, nonce, tag, plaintext head); later ones show their row.
DETAIL_PAGE_RECORDS = 2000
#: The page size bound docs/performance.md states and tests/unit/html/test_render.py checks: an open page is at most
#: BYTES_FIXED + BYTES_PER_CONNECTION per connection + BYTES_PER_RECORD per record + BYTES_PER_DETAIL for each of at
#: most DETAIL_PAGE_RECORDS records; a collapsed page (more than OPEN_CONNECTIONS) carries each connection of a few
#: records beyond those in at most BYTES_PER_PACKED_CONNECTION (its bodies are compressed).
BYTES_FIXED = 24 * 1024
BYTES_PER_CONNECTION = 8 * 1024
BYTES_PER_RECORD = 200
BYTES_PER_DETAIL = 640
BYTES_PER_PACKED_CONNECTION = 1024


def shown(value: bytes, secret: bool, reveal: bool) -> str:
    """A value as the page prints it: public values and revealed secrets in full hex, other secrets shortened
    to their first 4 bytes and length (like ``tlsstate decrypt --explain`` without ``--show-secrets``)."""
    if not value:
        return ""
    if not secret or reveal:
        return value.hex()
    return f"{value[:4].hex()}…<{len(value)}B>"


@dataclass
class TreeNode:
    """One value of a derivation: its name, value (as shown), length, formula and where it is specified."""

    node_id: str
    name: str
    value: str  # already shortened or revealed (see :func:`shown`); "" when the value is not known
    length: int | None
    formula: str
    secret: bool = False
    children: list[TreeNode] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)  # indexes into ConnectionView.keys this node protects with

    def walk(self) -> Iterable[TreeNode]:
        """This node and every node under it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class RecordDetail:
    """What selecting a record shows beyond its row (only where the bytes are known: live connections)."""

    header: str = ""  # the 5 header bytes in hex
    explicit_nonce: str = ""  # hex of the explicit nonce or IV the record carries, "" when none
    tag: str = ""  # hex of the AEAD tag / encrypt-then-MAC MAC when it is outside the ciphertext
    plaintext: bytes = b""  # at most PLAINTEXT_KEPT bytes
    plaintext_length: int = 0


@dataclass
class RecordView:
    """One record on the timeline."""

    index: int
    from_client: bool
    content_type: str
    seq: int | None
    length: int  # fragment bytes on the wire
    plaintext_length: int | None
    verdict: str  # ok | bad_record_mac | no_keys | truncated
    key: int  # index into ConnectionView.keys
    reason: str = ""  # why it failed / why it could not be opened
    note: str = ""  # e.g. "proof: flipped byte (its own connection)"
    detail: RecordDetail | None = None

    @property
    def failed(self) -> bool:
        """Red on the timeline: failed verification (or decompression); not a record without keys, one of a suite
        this build cannot decrypt, or one the capture cut short."""
        return self.verdict not in ("ok", "no_keys", "unsupported", "truncated")


@dataclass
class TcpMark:
    """What TCP did to one direction's stream, shown before the record at ``before`` (a timeline index): bytes
    missing (``gap``) or bytes that one segment repeated (``retransmission``), at stream ``offset``, in capture
    ``frame`` (0 when unknown); ``differing``: repeated bytes unlike the first copy (which was used); ``control``:
    ``syn`` / ``fin`` for a flag sent again without data."""

    before: int
    from_client: bool
    length: int
    kind: str = "gap"
    offset: int = 0
    frame: int = 0
    differing: int = 0
    control: str = ""


@dataclass
class KeyColour:
    """One key that protected records (or plaintext), with its colour slot on the timeline."""

    label: str
    slot: int  # 0 = plaintext (no key); 1.. cycle through the palette
    records: int = 0


@dataclass
class Fact:
    """One line of a connection's summary."""

    name: str
    value: str


@dataclass
class ConnectionView:
    """Everything one connection shows."""

    number: int
    title: str
    facts: list[Fact]
    tree: list[TreeNode]  # one branch per handshake (TLS <= 1.2) or per handshake's schedule (TLS 1.3)
    records: list[RecordView]
    keys: list[KeyColour]
    nonce_rule: str = ""  # how each record's nonce and additional data are made, with {seq} where the number goes
    notes: list[str] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)  # the --json counters
    marks: list[TcpMark] = field(default_factory=list)

    def marks_before(self, index: int) -> list[TcpMark]:
        """The TCP gaps and retransmissions that fall just before record ``index``."""
        return [mark for mark in self.marks if mark.before == index]

    def key_index(self, label: str) -> int:
        """The colour slot of ``label``, added on first sight (plaintext labels share slot 0)."""
        for index, known in enumerate(self.keys):
            if known.label == label:
                return index
        plain = "none" in label or "plaintext" in label
        slot = 0 if plain else 1 + sum(1 for k in self.keys if k.slot)
        self.keys.append(KeyColour(label, slot))
        return len(self.keys) - 1

    def add_record(self, record: RecordView) -> None:
        """Append a record to the timeline and count it for its key."""
        self.records.append(record)
        self.keys[record.key].records += 1


@dataclass
class Page:
    """One HTML page: a title, what made it, one or more connections."""

    title: str
    source: str  # "tlsstate demo" / "tlsstate connect HOST:PORT" / "tlsstate decrypt FILE"
    connections: list[ConnectionView]
    revealed: bool
    intro: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (file name, text): an index of per-connection pages
    page_size: int = 500  # timeline rows per page (the JavaScript pager; every row is in the file)

    @property
    def collapsed(self) -> bool:
        """Many connections: each starts closed (a ``<details>`` line), so the browser lays out only those opened."""
        return len(self.connections) > OPEN_CONNECTIONS


def key_base(label: str) -> str:
    """A key label without its epoch: ``client write key (epoch 1)`` -> ``client write key``."""
    return label.split(" (epoch", 1)[0]


def nodes_for_key(label: str, branch: TreeNode | None) -> list[TreeNode]:
    """The tree nodes that hold the key ``label`` names: the writer's three key-block values (TLS <= 1.2) or the
    traffic secret with its key and IV (TLS 1.3)."""
    if branch is None:
        return []
    base = key_base(label)
    found = []
    for node in branch.walk():
        if node.length == 0:
            continue  # a value this suite does not use (an AEAD's MAC keys) protects nothing
        if base in ("client write key", "server write key"):
            if node.name.startswith(base.split()[0] + "_write_"):
                found.append(node)
        elif node.name == base or node.name.startswith(base + " "):
            found.append(node)
    return found


def _epoch(label: str) -> int | None:
    """The epoch number in a key label, or None."""
    _, _, rest = label.partition(" (epoch ")
    number = rest.split(")", 1)[0].split(",", 1)[0]
    return int(number) if number.isdigit() else None


def link_keys(view: ConnectionView, branch_of: dict[str, int] | None = None) -> None:
    """Mark on each tree node the keys (timeline colours) it protected records with, for highlighting.

    A key is looked up in the branch ``branch_of`` names for its label, else (TLS <= 1.2: epoch N is the N-th
    handshake's keys) in branch N-1, else in every branch."""
    for index, key in enumerate(view.keys):
        chosen = (branch_of or {}).get(key.label)
        epoch = _epoch(key.label)
        if chosen is None and key_base(key.label) in ("client write key", "server write key") and epoch:
            chosen = min(epoch, len(view.tree)) - 1
        branches = view.tree if chosen is None or not 0 <= chosen < len(view.tree) else [view.tree[chosen]]
        for branch in branches:
            for node in nodes_for_key(key.label, branch):
                if index not in node.keys:
                    node.keys.append(index)
