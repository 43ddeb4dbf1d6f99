"""Findings of the ``capture_tools`` fuzz target (``decrypt --write-pcap`` / ``--inject-secrets``, capture/export.py)
with their minimised inputs, and the target itself on its seeds and on mutations of them.

* A pcap file header whose 32-bit LinkType field has bits set above the low 16 (draft-ietf-opsawg-pcap §4: those hold
  the FCS length and reserved bits) made ``--inject-secrets`` die with ``struct.error`` writing a 16-bit pcapng
  LinkType; the link type is now the low 16 bits, as libpcap reads it (``LT_LINKTYPE``).
* A pcapng interface with ``if_tsresol`` 0 (one tick a second) and a 64-bit timestamp made both writers die with
  ``struct.error``: pcap's ts_sec is 32 bits, pcapng's EPB timestamp 64 bits of microseconds. Now
  ``CaptureWriteFailed`` and ``tlsstate decrypt: cannot write FILE: a packet time of ... s``, exit 2.
"""

from __future__ import annotations

import struct
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from fuzz import corpus, targets
from fuzz.strategies import mutated
from tests.helpers.synthetic_tls import TLS12, Params, build_session, write_session
from tlsstate.capture.export import inject_secrets
from tlsstate.capture.pcap import open_capture
from tlsstate.cli.decrypt import decrypt

ETHERNET_FRAME = bytes(6) + bytes(6) + b"\x08\x00"  # 14 bytes, EtherType IPv4, no payload


def _pcapng(frames: list[bytes], ticks_exponent: int, first_tick: int) -> bytes:
    """SHB, one Ethernet IDB with if_tsresol = 10^-ticks_exponent, then EPBs at first_tick, first_tick + 1, ..."""
    def block(block_type: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", block_type, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    out = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    out += block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB3x", 9, 1, ticks_exponent) + bytes(4))
    for index, frame in enumerate(frames):
        tick = first_tick + index
        out += block(6, struct.pack("<IIIII", 0, tick >> 32, tick & 0xFFFFFFFF, len(frame), len(frame)) + frame)
    return out


def test_pcap_link_type_is_its_low_16_bits(tmp_path: Path) -> None:
    """The fuzz input, minimised: a pcap header with LinkType field 0x04000001 and one Ethernet frame."""
    capture = tmp_path / "reserved-bits.pcap"
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 0x04000001)
    capture.write_bytes(header + struct.pack("<IIII", 1, 0, 14, 14) + ETHERNET_FRAME)
    with open_capture(capture) as reader:
        assert [linktype for linktype, _time, _frame in reader.frames()] == [1]
    out = tmp_path / "out.pcapng"
    assert inject_secrets(capture, out, []) == 1
    with open_capture(out) as reader:
        assert [(linktype, frame) for linktype, _time, frame in reader.frames()] == [(1, ETHERNET_FRAME)]


def test_inject_secrets_refuses_a_time_pcapng_cannot_hold(tmp_path: Path) -> None:
    capture = tmp_path / "late.pcapng"
    capture.write_bytes(_pcapng([ETHERNET_FRAME], 0, (1 << 64) - 1))  # 2^64 - 1 seconds
    keylog = tmp_path / "empty.keys"
    keylog.write_text("")
    out = tmp_path / "out.pcapng"
    result = CliRunner().invoke(decrypt, [str(capture), "--keylog", str(keylog), "--inject-secrets", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"cannot write {out}: a packet time of 1.84467e+19 s since 1970 is outside" in result.output


def test_write_pcap_refuses_a_time_pcap_cannot_hold(tmp_path: Path) -> None:
    """A decryptable TLS 1.2 session (built from the RFC layouts) whose packets are 2^33 s after 1970: beyond pcap's
    32-bit seconds, within pcapng's microseconds. --write-pcap stops with the reason; --inject-secrets writes."""
    session = build_session(Params(0x002F, TLS12, "AES", 16, "sha1", 16), [b"GET / HTTP/1.1\r\n\r\n"],
                            [b"HTTP/1.1 200 OK\r\n\r\nhi"])
    original, keylog = write_session(session, tmp_path, "session")
    with open_capture(original) as reader:
        frames = [frame for _linktype, _time, frame in reader.frames()]
    capture = tmp_path / "late.pcapng"
    capture.write_bytes(_pcapng(frames, 0, 1 << 33))
    plain, injected = tmp_path / "plain.pcap", tmp_path / "injected.pcapng"
    result = CliRunner().invoke(decrypt, [str(capture), "--keylog", str(keylog), "--write-pcap", str(plain)])
    assert result.exit_code == 2, result.output
    assert f"cannot write {plain}: a packet time of 8.58993e+09 s since 1970 is outside what a pcap" in result.output
    result = CliRunner().invoke(decrypt, [str(capture), "--keylog", str(keylog), "--inject-secrets", str(injected)])
    assert result.exit_code == 0, result.output
    with open_capture(injected) as reader:
        assert [time for _linktype, time, _frame in reader.frames()][:2] == [2.0**33, 2.0**33 + 1]


SMALL = [s for s in corpus.seeds("capture_tools") if len(s) <= 8000]


def test_capture_tools_seeds_pass_and_reach_every_tool() -> None:
    assert {s[0] for s in SMALL} == {0, 1, 2}
    for data in SMALL:
        targets.fuzz_capture_tools(data)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated(SMALL))
def test_capture_tools_on_mutated_seeds(data: bytes) -> None:
    targets.fuzz_capture_tools(data)
