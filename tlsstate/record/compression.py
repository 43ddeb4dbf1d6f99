"""Record compression: TLSCompressed.fragment → TLSPlaintext.fragment (RFC 5246 §6.2.2, RFC 3749 DEFLATE).

A connection state (RFC 5246 §6.1) includes its compression state: one :class:`Decompressor` per direction and
connection state, so one zlib stream runs across all records of that direction until the next ChangeCipherSpec
(RFC 3749 §2: the compressor's history carries over from record to record; each record ends on a sync flush).
Decompression is bounded: a record that would decompress to more than 2^14 bytes, or is not valid DEFLATE data,
raises :class:`~tlsstate.wire.errors.DecompressionFailure` (the decompression_failure alert, RFC 5246 §6.2.2), so
a decompression bomb costs at most 2^14 bytes per record of input at most 2^14 + 1024 bytes.
"""

from __future__ import annotations

import zlib

from tlsstate.wire.constants import MAX_PLAINTEXT_LENGTH, CompressionMethod
from tlsstate.wire.errors import ConfigurationError, DecompressionFailure

__all__ = ["COMPRESSION_NAMES", "Decompressor", "compression_name", "decompressor_for"]

#: IANA TLS Compression Method Identifiers (RFC 3749 §2, RFC 3943 §2): the names reports use.
COMPRESSION_NAMES: dict[int, str] = {0: "null", 1: "deflate", 64: "lzs"}


def compression_name(method: int) -> str:
    """``null``, ``deflate``, ``lzs`` or ``0xNN`` for an unassigned method."""
    return COMPRESSION_NAMES.get(method, f"0x{method:02x}")


class Decompressor:
    """DEFLATE decompression of one direction's records in one connection state (RFC 3749 §2)."""

    __slots__ = ("_stream", "limit", "records")

    def __init__(self, limit: int = MAX_PLAINTEXT_LENGTH) -> None:
        self._stream = zlib.decompressobj()  # zlib format (RFC 1950), as RFC 3749 §2 specifies
        self.limit = limit
        self.records = 0

    def decompress(self, fragment: bytes) -> bytes:
        """One record's TLSCompressed.fragment → its plaintext, at most :attr:`limit` bytes."""
        self.records += 1
        try:
            out = self._stream.decompress(fragment, self.limit + 1)
        except zlib.error as exc:
            raise DecompressionFailure(f"record {self.records} is not valid DEFLATE data ({exc})") from None
        if len(out) > self.limit or self._stream.unconsumed_tail:
            raise DecompressionFailure(
                f"record {self.records} decompresses to more than {self.limit} bytes (RFC 5246 §6.2.2); stopped there"
            )
        if self._stream.eof:  # the sender finished its stream (RFC 3749 §2 keeps it open): the next record starts one
            if self._stream.unused_data:
                raise DecompressionFailure(f"record {self.records} has data after the end of its DEFLATE stream")
            self._stream = zlib.decompressobj()
        return out


def decompressor_for(method: int) -> Decompressor | None:
    """The decompressor of a new connection state: None for the null method, one zlib stream for DEFLATE;
    ConfigurationError for any other method (no garbage plaintext is produced from it)."""
    if method == CompressionMethod.NULL:
        return None
    if method == CompressionMethod.DEFLATE:
        return Decompressor()
    raise ConfigurationError(f"compression method {compression_name(method)} is not supported (null and DEFLATE are)")
