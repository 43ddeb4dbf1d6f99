"""Record decompression (RFC 5246 §6.2.2, RFC 3749): one zlib stream per direction and connection state,
bounded at 2^14 bytes per record, a typed DecompressionFailure (decompression_failure alert) for anything else."""

from __future__ import annotations

import zlib

import pytest

from tlsstate.record.compression import Decompressor, compression_name, decompressor_for
from tlsstate.wire.constants import AlertDescription
from tlsstate.wire.errors import ConfigurationError, DecompressionFailure


def _records(*plaintexts: bytes) -> list[bytes]:
    """What a DEFLATE sender puts in consecutive records: one stream, a sync flush after each (RFC 3749 §2)."""
    stream = zlib.compressobj()
    return [stream.compress(p) + stream.flush(zlib.Z_SYNC_FLUSH) for p in plaintexts]


def test_one_stream_runs_across_records() -> None:
    texts = [b"GET / HTTP/1.1\r\n" * 20, b"GET / HTTP/1.1\r\n" * 20, bytes(range(256)) * 64]
    records = _records(*texts)
    assert len(records[1]) < len(records[0])  # the second record refers back into the first one's history
    d = Decompressor()
    assert [d.decompress(r) for r in records] == texts
    with pytest.raises(DecompressionFailure):
        Decompressor().decompress(records[1])  # without the history of record 0 it cannot be read


def test_a_bomb_stops_at_the_limit_with_the_alert() -> None:
    [bomb] = _records(bytes(1 << 20))
    assert len(bomb) < 2048
    with pytest.raises(DecompressionFailure) as info:
        Decompressor().decompress(bomb)
    assert info.value.alert is AlertDescription.DECOMPRESSION_FAILURE
    assert "more than 16384 bytes" in str(info.value)
    assert Decompressor().decompress(_records(bytes(16384))[0]) == bytes(16384)  # exactly 2^14 is allowed


def test_garbage_and_finished_streams() -> None:
    with pytest.raises(DecompressionFailure, match="not valid DEFLATE"):
        Decompressor().decompress(b"\x00\x01garbage")
    finished = zlib.compress(b"one")
    d = Decompressor()
    assert d.decompress(finished) == b"one"
    assert d.decompress(zlib.compress(b"two")) == b"two"  # a finished stream: the next record starts a new one
    with pytest.raises(DecompressionFailure, match="after the end"):
        Decompressor().decompress(finished + b"tail")


def test_methods() -> None:
    assert decompressor_for(0) is None
    assert isinstance(decompressor_for(1), Decompressor)
    with pytest.raises(ConfigurationError, match="lzs"):
        decompressor_for(64)
    assert [compression_name(m) for m in (0, 1, 64, 7)] == ["null", "deflate", "lzs", "0x07"]
