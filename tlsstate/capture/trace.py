"""What following a connection leaves for the report: one line per record, one derivation per handshake.

:class:`RecordInfo` is a ``--records`` line; :class:`Derivation` is the ``--explain`` tree of one handshake: the
ordered steps from the hellos and the key material to the traffic keys, each with where it came from. Both are
plain data written by the follower (:mod:`tlsstate.capture.session`, :mod:`tlsstate.capture.tls12`,
:mod:`tlsstate.capture.tls13`) and read by :mod:`tlsstate.capture.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SSLV2_CLIENT_HELLO", "Derivation", "RecordInfo"]

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
    verdict: str  # ok | bad_record_mac | decompression_failure | no_keys | unsupported (suite, compression) | truncated
    key: str  # which key protected it
    plaintext_length: int = 0


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
