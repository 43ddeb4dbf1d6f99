"""What ``tlsstate demo`` found, as plain data: one :class:`Run` per suite with its records and proofs.

Shared by the terminal screen and ``--json`` (:mod:`tlsstate.cli.demo`) and the page (:mod:`tlsstate.cli.demo_html`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlsstate.crypto.keys import SecurityParameters

__all__ = ["Epoch", "Proof", "RecordRow", "Run"]


@dataclass
class RecordRow:
    """One application data record as seen on the wire by the client."""

    direction: str
    seq: int
    key_label: str
    plaintext_length: int
    wire_length: int
    content_type: str = "application_data"
    wire: bytes = field(default=b"", repr=False)  # the record as on the wire (for --html; not in --json)
    plaintext: bytes = field(default=b"", repr=False)


@dataclass
class Proof:
    """One tampering experiment on a live connection state."""

    attack: str
    action: str
    rejected: bool
    error: str
    alert: str
    server_saw: str
    why: str
    key_tried: str = ""  # the read state's key the tampered record met
    seq_expected: int | None = None  # and the sequence number it expected
    wire: bytes = field(default=b"", repr=False)  # the tampered record (for --html; not in --json)


@dataclass
class Epoch:
    """One handshake's connection state on the demo connection: the first, then the secure renegotiation's
    (RFC 5746): new randoms, master secret and six values; the sequence numbers start again at 0."""

    number: int
    client_random: bytes
    server_random: bytes
    master_secret: bytes
    keys: dict[str, bytes]


@dataclass
class Run:
    """Everything the demo shows for one suite."""

    suite: str
    openssl_name: str
    version: str
    key_exchange: str
    group: str | None
    extended_master_secret: bool
    encrypt_then_mac: bool
    premaster_secret: bytes
    master_secret: bytes
    client_random: bytes
    server_random: bytes
    derivation: str
    master_recomputed: bool | None
    key_block_length: int
    keys: dict[str, bytes]
    session_hash: bytes | None = None
    handshake_transcript: bytes = b""
    keys_recomputed: bool | None = None
    records: list[RecordRow] = field(default_factory=list)
    proofs: list[Proof] = field(default_factory=list)
    epochs: list[Epoch] = field(default_factory=list)  # the handshake, then the secure renegotiation's
    security: SecurityParameters | None = field(default=None, repr=False)  # what the connection installed
    wire: list[tuple[bool, bytes]] = field(default_factory=list, repr=False)  # the handshake bytes, in order
