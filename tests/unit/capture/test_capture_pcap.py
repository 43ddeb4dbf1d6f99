"""Capture reading: pcap/pcapng framing, every supported link type, IPv6, Decryption Secrets Blocks (written by
Wireshark's editcap), damage handling. Each variant is derived from a Wireshark test capture and must decrypt
to tshark's byte counts and hashes."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import dpkt
import pytest

from tests.helpers.env import require_binary
from tlsstate.capture.decrypt import decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.pcap import CaptureError, open_capture
from tlsstate.capture.writer import read_frames, write_frames

WS = "wireshark-test-suite"


def _chacha(vectors: Path) -> tuple[Path, Path, dict[int, dict[str, object]]]:
    expected = json.loads((vectors / WS / "expected-tshark" / "tls12-chacha20poly1305.json").read_text())
    streams = {s["tcp_stream"]: s for s in expected["decrypted_streams"]}
    return (vectors / WS / "captures" / "tls12-chacha20poly1305.pcap",
            vectors / WS / "keys" / "tls12-chacha20poly1305.keys", streams)


def _check(path: Path, keylog: Path | None, streams: dict[int, dict[str, object]]) -> None:
    keys = KeySource()
    if keylog is not None:
        keys.add_keylog_file(keylog)
    result = decrypt_capture(path, keys)
    assert result.capture_error is None
    assert len(result.connections) == len(streams)
    for conn in result.connections:
        got, want = conn.to_json(), streams[conn.tcp.number]
        assert got["client_to_server_sha256"] == want["client_to_server_sha256"]
        assert got["server_to_client_sha256"] == want["server_to_client_sha256"]
        assert got["records_failed"] == 0


def _ipv4(frame: bytes) -> dpkt.ip.IP:
    ip = dpkt.ethernet.Ethernet(frame).data
    assert isinstance(ip, dpkt.ip.IP)
    return ip


def _ipv6(frame: bytes) -> bytes:
    """The same TCP segment carried in IPv6 (addresses ::ffff:a.b.c.d style, unique per IPv4 address)."""
    ip4 = _ipv4(frame)
    tcp = bytes(ip4.data)
    header = struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64)
    return header + b"\x20\x01\x0d\xb8" + bytes(8) + ip4.src + b"\x20\x01\x0d\xb8" + bytes(8) + ip4.dst + tcp


@pytest.mark.parametrize("variant", ["raw", "raw-ipv6", "null", "loop", "sll", "sll2", "ipv4-linktype", "ethernet-ipv6"])
def test_link_types(vectors: Path, tmp_path: Path, variant: str) -> None:
    capture, keylog, streams = _chacha(vectors)
    _linktype, frames = read_frames(capture)
    out = tmp_path / f"{variant}.pcap"
    converted: list[tuple[float, bytes]] = []
    for ts, frame in frames:
        ip4 = bytes(_ipv4(frame))
        if variant == "raw":
            converted.append((ts, ip4))
        elif variant == "raw-ipv6":
            converted.append((ts, _ipv6(frame)))
        elif variant == "null":
            converted.append((ts, struct.pack("<I", 2) + ip4))  # AF_INET in host (little-endian) order
        elif variant == "loop":
            converted.append((ts, struct.pack(">I", 2) + ip4))
        elif variant == "sll":
            converted.append((ts, struct.pack(">HHH8sH", 0, 772, 6, bytes(8), 0x0800) + ip4))
        elif variant == "sll2":
            converted.append((ts, struct.pack(">HHIHBB8s", 0x0800, 0, 1, 772, 0, 6, bytes(8)) + ip4))
        elif variant == "ipv4-linktype":
            converted.append((ts, ip4))
        elif variant == "ethernet-ipv6":
            converted.append((ts, frame[:12] + b"\x86\xdd" + _ipv6(frame)))
    linktype = {"raw": 101, "raw-ipv6": 101, "null": 0, "loop": 108, "sll": 113, "sll2": 276, "ipv4-linktype": 228,
                "ethernet-ipv6": 1}[variant]
    write_frames(out, converted, linktype)
    _check(out, keylog, streams)
    if variant.endswith("ipv6"):
        conn = decrypt_capture(out, KeySource()).connections[0]
        assert conn.client.startswith("[2001:db8::")


def test_pcapng_with_decryption_secrets_block(vectors: Path, tmp_path: Path) -> None:
    """editcap (Wireshark) embeds the key log as a DSB; we decrypt without --keylog."""
    editcap = require_binary("editcap")
    capture, keylog, streams = _chacha(vectors)
    out = tmp_path / "with-secrets.pcapng"
    subprocess.run([editcap, "--inject-secrets", f"tls,{keylog}", str(capture), str(out)], check=True, timeout=60)
    reader = open_capture(out)
    list(reader.segments())
    assert reader.keylog_text and "CLIENT_RANDOM" in reader.keylog_text[0]
    _check(out, None, streams)


def test_gzip_pcapng_and_nanosecond_pcap(vectors: Path, tmp_path: Path) -> None:
    editcap = require_binary("editcap")
    capture, keylog, streams = _chacha(vectors)
    out = tmp_path / "nano.pcap"
    subprocess.run([editcap, "-F", "nsecpcap", str(capture), str(out)], check=True, timeout=60)
    assert out.read_bytes()[:4] == struct.pack("<I", 0xA1B23C4D)
    _check(out, keylog, streams)
    big_endian = tmp_path / "be.pcap"
    data = capture.read_bytes()
    header = struct.unpack("<IHHiIII", data[:24])
    body = bytearray(struct.pack(">IHHiIII", *header))
    pos = 24
    while pos < len(data):
        sec, usec, caplen, orig = struct.unpack_from("<IIII", data, pos)
        body += struct.pack(">IIII", sec, usec, caplen, orig) + data[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen
    big_endian.write_bytes(bytes(body))
    _check(big_endian, keylog, streams)


def test_damage_is_reported_and_partial_results_kept(vectors: Path, tmp_path: Path) -> None:
    capture, keylog, streams = _chacha(vectors)
    data = capture.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2])
    keys = KeySource()
    keys.add_keylog_file(keylog)
    result = decrypt_capture(cut, keys)
    assert result.capture_error and "truncated" in result.capture_error
    assert 0 < len(result.connections) < len(streams) + 1
    assert result.connections[0].to_json()["server_to_client_sha256"] == streams[0]["server_to_client_sha256"]
    # corrupt length field of the 10th packet
    bad = bytearray(data)
    pos = 24
    for _ in range(9):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    struct.pack_into("<I", bad, pos + 8, 0x7FFFFFFF)
    (tmp_path / "bad.pcap").write_bytes(bytes(bad))
    result = decrypt_capture(tmp_path / "bad.pcap", keys)
    assert result.capture_error and "corrupt" in result.capture_error and f"byte {pos}" in result.capture_error
    assert result.packets == 9
    (tmp_path / "bad0.pcap").write_bytes(bytes(bad[:24]) + struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 0))
    with pytest.raises(CaptureError, match="corrupt packet length"):
        decrypt_capture(tmp_path / "bad0.pcap", keys)
    # not a capture at all
    (tmp_path / "junk").write_bytes(b"\x00" * 100)
    with pytest.raises(CaptureError):
        decrypt_capture(tmp_path / "junk", keys)
    # unknown link type: warned, nothing decoded
    write_frames(tmp_path / "unknown.pcap", read_frames(capture)[1], 147)
    result = decrypt_capture(tmp_path / "unknown.pcap", keys)
    assert result.connections == [] and any("link type 147" in w for w in result.warnings)


def test_tls_detected_on_any_port_and_non_tls_skipped(vectors: Path, tmp_path: Path) -> None:
    """Ports are rewritten to 1234/5678: still found by content; a plain-text TCP connection is skipped."""
    capture, keylog, streams = _chacha(vectors)
    frames = []
    for ts, frame in read_frames(capture)[1]:
        eth = dpkt.ethernet.Ethernet(frame)
        tcp = eth.data.data
        tcp.sport = 5678 if tcp.sport == 443 else tcp.sport + 1000
        tcp.dport = 5678 if tcp.dport == 443 else tcp.dport + 1000
        tcp.sum = 0
        frames.append((ts, bytes(eth)))
    # a non-TLS connection (HTTP) on another port
    ts = frames[-1][0] + 1
    for seq, flags, payload in ((100, dpkt.tcp.TH_SYN, b""), (101, dpkt.tcp.TH_ACK, b"GET / HTTP/1.0\r\n\r\n")):
        tcp = dpkt.tcp.TCP(sport=40000, dport=80, seq=seq, flags=flags, data=payload)
        ip = dpkt.ip.IP(src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02", p=6, data=tcp)
        ip.len = len(ip)
        frames.append((ts, bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))))
    out = tmp_path / "ports.pcap"
    write_frames(out, frames, 1)
    keys = KeySource()
    keys.add_keylog_file(keylog)
    result = decrypt_capture(out, keys)
    assert result.non_tls_connections == 1
    assert all(c.server.endswith(":5678") for c in result.connections)
    _check(out, keylog, streams)


def test_tshark_reads_our_synthetic_capture(tmp_path: Path) -> None:
    """The benchmark's pcap writer makes frames tshark accepts (and decrypts to the same length)."""
    tshark = require_binary("tshark")
    if shutil.which("tshark") is None:
        pytest.skip("tshark missing")
    from tlsstate.bench.decrypt import build_gcm_capture

    info = build_gcm_capture(tmp_path, 1)
    run = subprocess.run([tshark, "-r", str(info["capture"]), "-o", f"tls.keylog_file:{info['keylog']}", "-q",
                          "-z", "io,stat,0,SUM(data.len)data.len"], capture_output=True, text=True, timeout=60)
    assert str(info["server_bytes"]) in run.stdout
    keys = KeySource()
    keys.add_keylog_file(info["keylog"])
    [conn] = decrypt_capture(info["capture"], keys).connections
    assert conn.session.server.app_bytes == info["server_bytes"]


def test_capture_starting_mid_connection(vectors: Path, tmp_path: Path) -> None:
    """Packets before the first application data are cut off: no handshake, so no keys — reported, no failure;
    a capture starting in the middle of a record resynchronises on the next record boundary."""
    capture, keylog, _streams = _chacha(vectors)
    _linktype, frames = read_frames(capture)
    stream0 = [(ts, f) for ts, f in frames if 41832 in (dpkt.ethernet.Ethernet(f).data.data.sport,
                                                       dpkt.ethernet.Ethernet(f).data.data.dport)]
    late = tmp_path / "late.pcap"
    write_frames(late, stream0[6:], 1)
    keys = KeySource()
    keys.add_keylog_file(keylog)
    [conn] = decrypt_capture(late, keys).connections
    got = conn.to_json()
    assert got["records_failed"] == 0 and got["records_ok"] == 0 and got["records_undecryptable"] > 0
    assert got["reason"]
    # cut the first bytes off a segment: the stream starts mid-record
    eth = dpkt.ethernet.Ethernet(stream0[1][1])
    eth.data.data.seq += 7
    eth.data.data.data = eth.data.data.data[7:]
    eth.data.len = len(eth.data)
    partial = tmp_path / "partial.pcap"
    write_frames(partial, [(stream0[1][0], bytes(eth)), *stream0[2:]], 1)
    [conn] = decrypt_capture(partial, keys).connections
    got = conn.to_json()
    assert got["records_failed"] == 0 and got["records_undecryptable"] > 0
    assert any("resynchronise" in note for note in got["notes"])


@pytest.mark.parametrize("name", ["rsasnakeoil2.pcap", "tls12-chacha20poly1305.pcap", "dmgr.pcapng",
                                  "tls13-20-chacha20poly1305.pcap"])
def test_corrupted_captures_never_raise(vectors: Path, tmp_path: Path, name: str) -> None:
    """Random byte flips, truncations and splices: a result or a CaptureError, never another exception."""
    import random

    from tlsstate.capture.keysource import load_rsa_key

    rng = random.Random(name)
    data = (vectors / WS / "captures" / name).read_bytes()
    keys = KeySource()
    keys.add_keylog_file(vectors / WS / "keys" / "tls12-chacha20poly1305.keys")
    keys.rsa_keys.append(load_rsa_key(vectors / WS / "keys" / "rsasnakeoil2.key"))
    target = tmp_path / name
    for _ in range(25):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 40)):
            mutated[rng.randrange(24, len(mutated))] = rng.randrange(256)
        if rng.random() < 0.3:
            start = rng.randrange(24, len(mutated))
            del mutated[start : start + rng.randint(1, 3000)]
        target.write_bytes(bytes(mutated))
        try:
            result = decrypt_capture(target, keys)
        except CaptureError:
            continue
        for conn in result.connections:
            conn.to_json()


def _pcapng_block(block_type: int, body: bytes) -> bytes:
    """A pcapng block (draft-ietf-opsawg-pcapng §3.1): type, total length, body padded to 32 bits, length again."""
    body += bytes(-len(body) % 4)
    return struct.pack("<II", block_type, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _epb(if_id: int, ticks: int, frame: bytes, caplen: int | None = None) -> bytes:
    """An Enhanced Packet Block (§4.3): interface id, timestamp high and low, captured and original length, data."""
    length = len(frame) if caplen is None else caplen
    return _pcapng_block(6, struct.pack("<IIIII", if_id, ticks >> 32, ticks & 0xFFFFFFFF, length, len(frame)) + frame)


def test_pcapng_enhanced_packet_blocks(vectors: Path, tmp_path: Path) -> None:
    """Every frame of a shared capture in EPBs of odd lengths (padding), as dpkt's pcapng reader reads them too;
    damaged EPBs (an interface that does not exist, a captured length past the data, even into the trailing length)
    are warnings and skipped, a block too short to be an EPB is skipped."""
    _linktype, frames = read_frames(vectors / WS / "captures" / "tls12-chacha20poly1305.pcap")
    shb = _pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _pcapng_block(1, struct.pack("<HHI", 1, 0, 0))
    blocks = [_epb(0, round(ts * 1e6), frame) for ts, frame in frames]
    path = tmp_path / "epb.pcapng"
    path.write_bytes(shb + idb + b"".join(blocks))
    with path.open("rb") as handle:
        expected = [(round(ts, 6), bytes(frame)) for ts, frame in dpkt.pcapng.Reader(handle)]
    assert expected and any(len(frame) % 4 for _ts, frame in expected)
    damaged = [blocks[0], _epb(1, 0, b"no interface 1"), _epb(0, 0, b"short", caplen=100),
               _epb(0, 0, b"abcd", caplen=8), _pcapng_block(6, bytes(12)), *blocks[1:]]
    path.write_bytes(shb + idb + b"".join(damaged))
    with open_capture(path) as reader:
        got = [(round(ts, 6), frame) for _linktype, ts, frame in reader.frames()]
    assert got == expected
    assert reader.error is None
    assert len(reader.warnings) == 3 and all("malformed packet block" in w for w in reader.warnings)
