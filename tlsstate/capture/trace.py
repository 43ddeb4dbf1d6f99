"""What following a connection leaves for the report: one line per record, one derivation per handshake.

:class:`RecordInfo` is a ``--records`` line; :class:`Derivation` is the ``--explain`` tree of one handshake: the
ordered steps from the hellos and the key material to the traffic keys, each with where it came from. Both are
plain data written by the follower (:mod:`tlsstate.capture.session`, :mod:`tlsstate.capture.tls12`,
:mod:`tlsstate.capture.tls13`) and read by :mod:`tlsstate.capture.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DETAIL_RECORDS", "SSLV2_CLIENT_HELLO", "Derivation", "RecordBytes", "RecordInfo"]

#: The content type a ``--records`` line shows for an SSLv2-format ClientHello (RFC 5246 Appendix E.2: its
#: header is a 2-byte length with the top bit set, not a TLS record header; 0x80 is that bit, no TLS type).
SSLV2_CLIENT_HELLO = 0x80


@dataclass(slots=True)
class RecordInfo:
    """One record as ``--records`` shows it."""

    direction: str  # "c>s" / "s>c"
    content_type: int  # inner type when decrypted, else the outer type
    seq: int | None
    length: int  # ciphertext fragment length
    verdict: str  # ok | bad_record_mac | no_keys | truncated
    key: str  # which key protected it
    plaintext_length: int = 0


#: Records per connection whose bytes are kept for the page's record details (memory and page size stay bounded).
DETAIL_RECORDS = 1000
FRAGMENT_HEAD, FRAGMENT_TAIL, PLAINTEXT_HEAD = 32, 48, 64  # enough for an explicit nonce / IV and a tag / outer MAC


@dataclass(slots=True)
class RecordBytes:
    """The bytes of one record the page's details show: the header, the fragment's two ends and the plaintext's head."""

    header: bytes
    fragment_edges: bytes  # the whole fragment when short, else its first FRAGMENT_HEAD + last FRAGMENT_TAIL bytes
    plaintext: bytes  # at most PLAINTEXT_HEAD bytes; b"" when the record was not opened
    plaintext_length: int

    @classmethod
    def of(cls, content_type: int, version: int, fragment: bytes | memoryview, plaintext: bytes | None) -> RecordBytes:
        """Cut what is kept from one record (RFC 5246 §6.2.1 header: type, version, length)."""
        n = len(fragment)
        header = bytes((content_type,)) + version.to_bytes(2, "big") + n.to_bytes(2, "big")
        edges = bytes(fragment) if n <= FRAGMENT_HEAD + FRAGMENT_TAIL else bytes(fragment[:FRAGMENT_HEAD]) + bytes(
            fragment[n - FRAGMENT_TAIL:])
        kept = bytes(plaintext[:PLAINTEXT_HEAD]) if plaintext is not None else b""
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
