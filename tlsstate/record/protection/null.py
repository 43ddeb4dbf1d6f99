"""TLS_NULL_WITH_NULL_NULL: the initial state, no cipher and no MAC (RFC 5246 §6.1, §6.2.3)."""

from __future__ import annotations

from tlsstate.record.protection.base import RECORD_HEADER, Buffer, RecordProtection

_PACK_HEADER = RECORD_HEADER.pack


class NullProtection(RecordProtection):
    """The identity transform of the state before the first ChangeCipherSpec (RFC 5246 §6.1)."""

    name = "NULL"

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + the plaintext as it is."""
        return _PACK_HEADER(content_type, version, len(plaintext)) + plaintext

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """The fragment as it is."""
        return bytes(fragment)
