"""What following a connection leaves for the report: one line per record, one derivation per handshake.

:class:`RecordInfo` is a ``--records`` line; :class:`Derivation` is the ``--explain`` tree of one handshake: the
ordered steps from the hellos and the key material to the traffic keys, each with where it came from. Both are
plain data written by the follower (:mod:`tlsstate.capture.session`, :mod:`tlsstate.capture.tls12`,
:mod:`tlsstate.capture.tls13`) and read by :mod:`tlsstate.capture.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlsstate.wire.constants import SSLV2_CLIENT_HELLO  # the type a --records line shows for an SSLv2 ClientHello

__all__ = ["CAUSE_KINDS", "DETAIL_RECORDS", "PLAINTEXT_HEAD", "SSLV2_CLIENT_HELLO", "Cause", "Derivation", "KeyIds",
           "RecordBytes", "RecordInfo", "TcpEvent"]


@dataclass(frozen=True, slots=True)
class Cause:
    """Why records were not decrypted: the ``--records`` text and the ``--json`` fields.

    ``kind`` is one of :data:`CAUSE_KINDS`; ``label`` names the key log label that is missing or wrong (with the
    connection's ``client_random`` in hex), ``keylog_line`` the key log line a wrong key came from
    (``file line N``)."""

    kind: str
    message: str
    label: str | None = None
    client_random: str | None = None
    keylog_line: str | None = None

    def to_json(self) -> dict[str, str | None]:
        """``cause``, ``message``, ``label``, ``client_random``, ``keylog_line``."""
        return {"cause": self.kind, "message": self.message, "label": self.label, "client_random": self.client_random,
                "keylog_line": self.keylog_line}


#: every ``Cause.kind``: a key log label missing for the epoch; a key (from the named key log line) that fails the
#: first record or the Finished check; a record failing its integrity check later; a TCP gap; a capture that
#: starts after the handshake; keys that need something else (RSA key, PSK, a resumed session not in the capture);
#: a version / suite / compression this build cannot decrypt; a malformed record; the capture ending in a record; a
#: record that does not inflate (RFC 5246 §6.2.2: not DEFLATE data, or over 2^14 bytes), and the direction's later ones.
CAUSE_KINDS = ("missing_secret", "wrong_key", "bad_record_mac", "tcp_gap", "mid_stream", "missing_key_material",
               "unsupported", "record_error", "truncated", "internal_error", "decompression_failure")


@dataclass(slots=True)
class RecordInfo:
    """One record as ``--records`` shows it."""

    direction: str  # "c>s" / "s>c"
    content_type: int  # inner type when decrypted, else the outer type
    seq: int | None
    length: int  # ciphertext fragment length
    verdict: str  # ok | bad_record_mac | decompression_failure | no_keys | unsupported (suite, compression) | truncated
    key: str  # which key protected it
    plaintext_length: int = 0
    cause: Cause | None = None  # why it was not decrypted (verdict other than ok)


#: Records per connection whose bytes are kept for the page's record details (memory and page size stay bounded).
DETAIL_RECORDS = 1000
FRAGMENT_HEAD, FRAGMENT_TAIL, PLAINTEXT_HEAD = 32, 48, 64  # enough for an explicit nonce / IV and a tag / outer MAC


@dataclass(slots=True)
class TcpEvent:
    """A TCP gap or retransmission where it falls among the records kept: ``before`` records were logged when the
    capture reached it. ``arrow`` is ``c>s`` or ``s>c``; ``length`` the bytes missing or repeated at stream
    ``offset``; ``frame`` the capture frame (1-based, as tshark numbers them); ``differing`` the repeated bytes
    whose value was not the first copy's; ``control`` ``syn`` / ``fin`` for a repeated flag without data."""

    before: int
    arrow: str
    length: int
    offset: int = 0
    frame: int = 0
    differing: int = 0
    control: str = ""


@dataclass(slots=True)
class RecordBytes:
    """The bytes of one record the page's details show: the header, the fragment's two ends and the plaintext's head."""

    header: bytes
    fragment_edges: bytes  # the whole fragment when short, else its first FRAGMENT_HEAD + last FRAGMENT_TAIL bytes
    plaintext: bytes  # its head (PLAINTEXT_HEAD bytes unless asked for more); b"" when the record was not opened
    plaintext_length: int

    @classmethod
    def of(
        cls, content_type: int, version: int, fragment: bytes | memoryview, plaintext: bytes | None,
        plaintext_head: int = PLAINTEXT_HEAD,
    ) -> RecordBytes:
        """Cut what is kept from one record (RFC 5246 §6.2.1 header: type, version, length); ``plaintext_head``
        bytes of its plaintext (``decrypt --html-plaintext``)."""
        n = len(fragment)
        header = bytes((content_type,)) + version.to_bytes(2, "big") + n.to_bytes(2, "big")
        edges = bytes(fragment) if n <= FRAGMENT_HEAD + FRAGMENT_TAIL else bytes(fragment[:FRAGMENT_HEAD]) + bytes(
            fragment[n - FRAGMENT_TAIL:])
        kept = bytes(plaintext[:plaintext_head]) if plaintext is not None else b""
        return cls(header, edges, kept, len(plaintext) if plaintext is not None else 0)


@dataclass
class Derivation:
    """How one handshake's keys were obtained, for ``--explain``: ordered (name, value, source) steps."""

    handshake: int
    steps: list[tuple[str, bytes, str]] = field(default_factory=list)
    protected: dict[str, list[int]] = field(default_factory=dict)  # key label -> [first, last] record index

    def add(self, name: str, value: bytes, source: str) -> None:
        """Record one derivation step."""
        self.steps.append((name, value, source))

    def has(self, name: str) -> bool:
        """Whether a step called ``name`` was recorded already (each key is explained once per handshake)."""
        return any(step[0] == name for step in self.steps)


@dataclass
class KeyIds:
    """What key log lines for one connection are keyed by, as seen in its handshakes (``tlsstate keylog check``):
    each ClientHello's random, each ServerHello's session ID, each RSA ClientKeyExchange's first 8 bytes."""

    client_randoms: list[bytes] = field(default_factory=list)
    session_ids: list[bytes] = field(default_factory=list)
    encrypted_premasters: list[bytes] = field(default_factory=list)
