"""What ``tlsstate demo`` found, as plain data: one :class:`Run` per TLS 1.0/1.2 suite with its records and proofs,
and one :class:`Run13` for the TLS 1.3 part (its key schedule, records, KeyUpdate and proofs).

Shared by the terminal screen and ``--json`` (:mod:`tlsstate.cli.demo`) and the page (:mod:`tlsstate.cli.demo_html`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tlsstate.crypto.keys import SecurityParameters

if TYPE_CHECKING:
    from tlsstate.handshake.outputs import Tls13Secrets

__all__ = ["Epoch", "KeyUpdate13", "Proof", "RecordRow", "Run", "Run13"]


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
    key: bytes = field(default=b"", repr=False)  # TLS 1.3: the write key of key_tried, and the nonce it was
    nonce: bytes = field(default=b"", repr=False)  # tried with (write_iv XOR seq_expected, RFC 9846 §5.3)


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


@dataclass
class KeyUpdate13:
    """The live KeyUpdate of the TLS 1.3 part (RFC 9846 §4.6.3): one direction moves to its next traffic secret."""

    direction: str
    sent_under: str  # the key label the KeyUpdate message itself was protected with
    seq: int  # its sequence number there
    old_label: str
    new_label: str
    secret: bytes = field(repr=False)  # application_traffic_secret_N+1 (RFC 9846 §7.2)
    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)
    formula: str
    first_seq: int  # the sequence number of the first record under the new key (0, RFC 9846 §5.3)
    checked: bool  # the first record after it opened with the key and IV derived here


@dataclass
class Run13:
    """Everything the demo shows for its TLS 1.3 connection (RFC 9846)."""

    suite: str
    group: str
    version: str
    shared_secret: bytes = field(repr=False)
    shared_parts: list[tuple[str, bytes]] = field(repr=False)  # (name, bytes) in the order they are concatenated
    schedule: list[tuple[str, bytes, str]] = field(repr=False)  # (name, value, formula), RFC 9846 §7.1 order
    transcript: bytes = field(repr=False)  # ClientHello .. client Finished, the plaintext handshake messages
    transcript_hashes: list[tuple[str, bytes]] = field(repr=False)
    schedule_recomputed: bool
    keylog: list[str] = field(repr=False)  # the client's NSS key log lines for this connection
    keylog_matches: bool
    records: list[RecordRow] = field(default_factory=list)
    key_update: KeyUpdate13 | None = None
    proofs: list[Proof] = field(default_factory=list)
    server_log: list[str] = field(default_factory=list)
    proof_keylogs: list[list[str]] = field(default_factory=list, repr=False)  # each proof connection's key log
    secrets: Tls13Secrets | None = field(default=None, repr=False)  # what the connection derived (for --html)
    wire: list[tuple[bool, bytes]] = field(default_factory=list, repr=False)  # handshake then records, in order
