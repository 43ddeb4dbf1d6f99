"""What following a connection leaves for the report: one line per record, one derivation per handshake.

:class:`RecordInfo` is a ``--records`` line; :class:`Derivation` is the ``--explain`` tree of one handshake: the
ordered steps from the hellos and the key material to the traffic keys, each with where it came from. Both are
plain data written by the follower (:mod:`tlsstate.capture.session`, :mod:`tlsstate.capture.tls12`,
:mod:`tlsstate.capture.tls13`) and read by :mod:`tlsstate.capture.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlsstate.wire.constants import SSLV2_CLIENT_HELLO  # the type a --records line shows for an SSLv2 ClientHello

__all__ = ["CAUSE_KINDS", "SSLV2_CLIENT_HELLO", "Cause", "Derivation", "KeyIds", "RecordInfo"]


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
