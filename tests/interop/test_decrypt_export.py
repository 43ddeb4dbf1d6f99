"""``decrypt --write-pcap`` and ``decrypt --inject-secrets`` checked with tshark (issue 13 item 8).

The reference is tshark itself on the original capture with the key log (``follow,tls,raw``): tshark must read the
same plaintext, connection by connection, as TCP payload of our plaintext pcap (same endpoints and ports, times
inside the original's, every IPv4 and TCP checksum good), and decrypt our injected pcapng with no key log given,
whose Decryption Secrets Block holds exactly the key log lines the connections use. Captures and key logs: the
Wireshark test suite's (SOURCES.md) and a live TLS 1.3 STARTTLS capture (openssl s_client, tests/interop)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers.env import require_binary
from tlsstate.capture.pcap import open_capture
from tlsstate.cli.decrypt import decrypt

pytestmark = pytest.mark.interop

WS = "wireshark-test-suite"
NAMES = ["tls12-chacha20poly1305", "tls13-20-chacha20poly1305"]


def _tshark(*args: str) -> str:
    return subprocess.run([require_binary("tshark"), *args], capture_output=True, text=True, timeout=120,
                          check=True).stdout


def _follow(path: Path, kind: str, stream: int, *options: str) -> tuple[str, bytes, bytes]:
    """(node 0 endpoint, node 0 bytes, node 1 bytes) of tshark's ``follow,<kind>,raw`` for one TCP stream."""
    out = _tshark("-r", str(path), *options, "-q", "-z", f"follow,{kind},raw,{stream}")
    node0 = out.split("Node 0:", 1)[1].split("\n", 1)[0].strip()
    body = out.split("Node 1:", 1)[1].split("\n", 1)[1]
    first, second = bytearray(), bytearray()
    for line in body.splitlines():
        if line.startswith("====="):
            break
        (second if line.startswith("\t") else first).extend(bytes.fromhex(line.strip()))
    return node0, bytes(first), bytes(second)


def _streams(path: Path) -> int:
    return len(set(_tshark("-r", str(path), "-T", "fields", "-e", "tcp.stream").split()))


def _export(vectors: Path, name: str, tmp_path: Path, extra_keylog_line: str = "") -> tuple[Path, Path, Path, Path]:
    capture = vectors / WS / "captures" / f"{name}.pcap"
    keylog = tmp_path / "keys.log"
    keylog.write_text((vectors / WS / "keys" / f"{name}.keys").read_text() + extra_keylog_line)
    plain, injected = tmp_path / "plain.pcap", tmp_path / "injected.pcapng"
    result = CliRunner().invoke(decrypt, [str(capture), "--keylog", str(keylog), "--write-pcap", str(plain),
                                          "--inject-secrets", str(injected), "-q"])
    assert result.exit_code == 0, result.output
    return capture, keylog, plain, injected


@pytest.mark.parametrize("name", NAMES)
def test_the_plaintext_pcap_carries_what_tshark_decrypts(vectors: Path, tmp_path: Path, name: str) -> None:
    capture, keylog, plain, _injected = _export(vectors, name, tmp_path)
    streams = _streams(capture)
    assert _streams(plain) == streams  # one TCP stream per TLS connection
    for stream in range(streams):
        want = _follow(capture, "tls", stream, "-o", f"tls.keylog_file:{keylog}")
        node0, first, second = _follow(plain, "tcp", stream)
        if node0 != want[0]:  # tshark's node 0 is the first sender of (decrypted) data: match by endpoint
            first, second = second, first
        assert hashlib.sha256(first).digest() == hashlib.sha256(want[1]).digest(), stream
        assert hashlib.sha256(second).digest() == hashlib.sha256(want[2]).digest(), stream
        assert want[1] and want[2], stream
    endpoints = {line for line in _tshark("-r", str(capture), "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport")
                 .splitlines()}
    assert {line for line in _tshark("-r", str(plain), "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport")
            .splitlines()} == endpoints  # the same addresses and ports
    original = [float(t) for t in _tshark("-r", str(capture), "-T", "fields", "-e", "frame.time_epoch").split()]
    fields = _tshark("-r", str(plain), "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                     "-T", "fields", "-e", "tcp.checksum.status", "-e", "ip.checksum.status", "-e", "frame.time_epoch")
    for line in fields.splitlines():
        tcp_ok, ip_ok, time = line.split("\t")
        assert (tcp_ok, ip_ok) == ("1", "1"), line  # tshark: checksum Good
        assert min(original) <= float(time) <= max(original) + 1e-6, line


@pytest.mark.parametrize("name", NAMES)
def test_tshark_decrypts_the_injected_pcapng_without_a_key_log(vectors: Path, tmp_path: Path, name: str) -> None:
    stray = f"CLIENT_RANDOM {'11' * 32} {'22' * 48}\n"  # a line for no connection of the capture: left out
    capture, keylog, _plain, injected = _export(vectors, name, tmp_path, stray)
    for stream in range(_streams(capture)):
        want = _follow(capture, "tls", stream, "-o", f"tls.keylog_file:{keylog}")
        got = _follow(injected, "tls", stream)  # no key log: only the DSB
        assert got == want and want[2], stream
    with open_capture(injected) as reader:
        assert sum(1 for _ in reader.segments()) == sum(1 for _ in open_capture(capture).segments())
        (dsb,) = reader.keylog_text
    used = set(dsb.lower().splitlines())
    written = {x.lower() for x in keylog.read_text().splitlines() if x and not x.startswith("#")}
    assert used == written - {stray.strip().lower()}  # every line the connections use, and only those


def test_ipv6_connections_are_written_with_good_checksums(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from tlsstate.capture.export import PlaintextCapture

    path = tmp_path / "v6.pcap"
    tcp = SimpleNamespace(number=0, client=("2001:db8::1", 50000), server=("2001:db8::2", 993))
    with path.open("wb") as out:
        plain = PlaintextCapture(out)
        plain.started(tcp)  # type: ignore[arg-type]
        plain.clock(1_700_000_000.25)
        plain.sink(0, "client")(b"a1 LOGIN user pass\r\n")
        plain.sink(0, "server")(b"a1 OK logged in\r\n" * 5000)  # more than one 65,000-byte segment
        plain.done(tcp, SimpleNamespace(tcp=tcp))  # type: ignore[arg-type]
        plain.close()
    fields = _tshark("-r", str(path), "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-e", "tcp.checksum.status",
                     "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "frame.time_epoch")
    rows = [line.split("\t") for line in fields.splitlines()]
    assert len(rows) == 3 + 1 + 2 + 2  # handshake, request, two response segments, two FINs
    assert all(r[0] == "1" and r[1] in ("2001:db8::1", "2001:db8::2") and r[3].startswith("1700000000.25") for r in rows)
    node0, first, second = _follow(path, "tcp", 0)
    assert node0 == "[2001:db8::1]:50000" or node0.startswith("2001:db8::1")
    assert (first, second) == (b"a1 LOGIN user pass\r\n", b"a1 OK logged in\r\n" * 5000)
