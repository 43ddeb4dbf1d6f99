"""`tlsstate decrypt` on Wireshark's own test captures: byte counts and SHA-256 of each direction must equal
tshark's (expected-tshark/*.json, an independent implementation), plus the plaintext facts upstream's
test/suite_decryption.py asserts (SOURCES.md §4)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tlsstate.capture.decrypt import CaptureResult, DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource, load_rsa_key

WS = "wireshark-test-suite"
CAPTURES = ["dhe1", "dmgr", "rsa-p-lt-q", "rsasnakeoil2", "tls-renegotiation", "tls12-aes128ccm", "tls12-aes256gcm",
            "tls12-chacha20poly1305", "tls13-20-chacha20poly1305"]


def _expected(vectors: Path, name: str) -> dict[str, Any]:
    return json.loads((vectors / WS / "expected-tshark" / f"{name}.json").read_text())


def _keys(vectors: Path, options: list[str]) -> KeySource:
    """The same key material tshark was given (tshark_options in the JSON)."""
    keys = KeySource()
    for option in options:
        if option.startswith("tls.keylog_file:"):
            keys.add_keylog_file(vectors / WS / option.split(":", 1)[1])
        elif option.startswith("tls.psk:"):
            keys.psk = bytes.fromhex(option.split(":", 1)[1])
        elif option.startswith("uat:rsa_keys:"):
            match = re.match(r'uat:rsa_keys:"([^"]*)","([^"]*)"', option)
            assert match
            keys.rsa_keys.append(load_rsa_key(vectors / WS / match.group(1), match.group(2) or None))
    return keys


def _run(vectors: Path, name: str, keep_plaintext: bool = False) -> tuple[CaptureResult, dict[tuple[int, str], bytes]]:
    expected = _expected(vectors, name)
    plain: dict[tuple[int, str], bytearray] = {}

    def sink_factory(number: int, writer: str):  # type: ignore[no-untyped-def]
        if not keep_plaintext:
            return None
        buf = plain.setdefault((number, writer), bytearray())
        return buf.extend

    result = decrypt_capture(vectors / WS / "captures" / expected["capture"], _keys(vectors, expected["tshark_options"]),
                             DecryptOptions(sink_factory=sink_factory))
    return result, {k: bytes(v) for k, v in plain.items()}


@pytest.mark.parametrize("name", CAPTURES)
def test_matches_tshark(vectors: Path, name: str) -> None:
    expected = _expected(vectors, name)
    result, _ = _run(vectors, name)
    assert result.capture_error is None
    streams = {s["tcp_stream"]: s for s in expected["decrypted_streams"]}
    assert {c.tcp.number for c in result.connections} == set(streams)
    hellos = {h["tcp_stream"]: h for h in expected["server_hellos"]}
    for conn in result.connections:
        got = conn.to_json()
        want = streams[conn.tcp.number]
        for direction in ("client_to_server", "server_to_client"):
            assert got[f"{direction}_bytes"] == want[f"{direction}_bytes"], (name, conn.number, direction)
            if want[f"{direction}_sha256"] is not None:
                assert got[f"{direction}_sha256"] == want[f"{direction}_sha256"], (name, conn.number, direction)
            assert got[f"{direction}_first_line"] == want[f"{direction}_first_line"], (name, conn.number, direction)
        assert got["cipher_suite"] == hellos[conn.tcp.number]["cipher_suite"]
        assert got["records_failed"] == 0 and got["records_undecryptable"] == 0
        assert got["records_ok"] > 0
        assert got["finished_verified"] is True  # every Finished matches the handshake as we rebuilt it


def test_key_material_matches_tshark(vectors: Path) -> None:
    """The master secrets we derive (RSA-decrypted premaster, PSK premaster, SSL 3.0) equal Wireshark's."""
    for name in ("rsasnakeoil2", "tls-renegotiation", "tls12-aes128ccm", "rsa-p-lt-q", "dmgr"):
        expected = _expected(vectors, name)
        masters = {bytes.fromhex(k["master_secret"]) for k in expected["key_material"] if k.get("master_secret")}
        result, _ = _run(vectors, name)
        ours = {
            value for conn in result.connections for d in conn.session.derivations
            for step, value, _src in d.steps if step == "master_secret"
        }
        assert masters and masters <= ours, name


def test_upstream_plaintext_facts(vectors: Path) -> None:
    """What Wireshark's suite_decryption.py asserts, on our plaintext."""
    _, plain = _run(vectors, "rsasnakeoil2", keep_plaintext=True)
    requests = b"".join(v for (n, w), v in plain.items() if w == "client")
    assert b"GET /favicon.ico HTTP/1.1" in requests
    uris = re.findall(rb"GET (\S+) HTTP/1\.1", requests)
    assert set(uris) == {b"/", b"/icons/jhe061.png", b"/icons/debian/openlogo-25.jpg", b"/icons/apache_pb.png",
                         b"/favicon.ico", b"/test", b"/test/", b"/test2/", b"/icons/back.gif", b"/icons/blank.gif",
                         b"/test3/"}

    _, plain = _run(vectors, "rsa-p-lt-q", keep_plaintext=True)
    assert plain[(0, "client")].startswith(b"GET / HTTP/1.1")

    _, plain = _run(vectors, "dmgr", keep_plaintext=True)
    assert plain[(0, "client")].startswith(b"GET /ibm/console/unsecureLogon.jsp HTTP/1.1")  # "G" + "ET ..." split

    _, plain = _run(vectors, "dhe1", keep_plaintext=True)
    assert plain[(0, "client")].startswith(b"GET /test HTTP/1.0")

    _, plain = _run(vectors, "tls-renegotiation", keep_plaintext=True)
    headers = b"".join(v.split(b"\r\n\r\n", 1)[0] for v in plain.values())  # one HTTP message each way
    lengths = re.findall(rb"[Cc]ontent-[Ll]ength: (\d+)", headers)
    assert sorted(lengths) == [b"0", b"2151"]

    for name in ("tls12-aes128ccm", "tls12-aes256gcm"):
        _, plain = _run(vectors, name, keep_plaintext=True)
        assert plain[(0, "client")].startswith(b"GET / HTTP/1.1")
        assert b"http://www.gnu.org/software/gnutls" in plain[(0, "server")]

    _, plain = _run(vectors, "tls12-chacha20poly1305", keep_plaintext=True)
    ciphers = ["ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "DHE-RSA-CHACHA20-POLY1305",
               "RSA-PSK-CHACHA20-POLY1305", "DHE-PSK-CHACHA20-POLY1305", "ECDHE-PSK-CHACHA20-POLY1305",
               "PSK-CHACHA20-POLY1305"]
    for stream, cipher in enumerate(ciphers):
        text = plain[(stream, "server")]
        assert f"Cipher is {cipher}".encode() in text, stream
        assert text.count(b"Cipher is ") == 1


def test_resumption_and_renegotiation(vectors: Path) -> None:
    result, _ = _run(vectors, "rsasnakeoil2")
    assert [c.session.resumed for c in result.connections] == [False, True]  # stream 1 resumes by session ID
    assert result.connections[0].session.handshakes == 2  # SSLv2-format hello, then a renegotiation
    result, _ = _run(vectors, "tls-renegotiation")
    session = result.connections[0].session
    assert session.handshakes == 5 and session.resumed  # later handshakes resume by ticket and by session id


def test_tls13_draft20(vectors: Path) -> None:
    """TLS 1.3 draft-20 (0x7f14): draft ServerHello layout, empty AEAD additional data; the byte counts and hashes
    are checked against tshark by test_matches_tshark; here the version reporting and the key labels."""
    result, plain = _run(vectors, "tls13-20-chacha20poly1305", keep_plaintext=True)
    assert len(result.connections) == 2
    for conn in result.connections:
        got = conn.to_json()
        assert got["version"] == "TLS 1.3 draft-20" and got["version_hex"] == "0x7f14"
        assert got["cipher_suite"] == "0x1303" and got["reason"] is None
        assert got["finished_verified"] is True and len(conn.session.finished_checks) == 2
    expected = _expected(vectors, "tls13-20-chacha20poly1305")
    keys = _keys(vectors, expected["tshark_options"])
    with_records = decrypt_capture(vectors / WS / "captures" / expected["capture"], keys, DecryptOptions(keep_records=True))
    for conn in with_records.connections:
        labels = {r.key for r in conn.session.records if r.verdict == "ok"}
        assert any("SERVER_TRAFFIC_SECRET_0" in label for label in labels), labels
        assert any("CLIENT_HANDSHAKE_TRAFFIC_SECRET" in label for label in labels), labels
    for stream in (0, 1):  # what the server says (tshark's expectation records it too)
        assert b"TLS13-CHACHA20-POLY1305-SHA256" in plain[(stream, "server")]


def test_tls13_draft_before_20_still_unsupported(vectors: Path, tmp_path: Path) -> None:
    """A draft version whose labels differ ("TLS 1.3, " prefix before draft-20) is reported, not misdecrypted:
    the draft-20 capture with its ServerHello version rewritten to 0x7f13."""
    data = (vectors / WS / "captures" / "tls13-20-chacha20poly1305.pcap").read_bytes()
    assert data.count(b"\x02\x00\x00") >= 2
    patched = data.replace(b"\x7f\x14", b"\x7f\x13")
    (tmp_path / "d19.pcap").write_bytes(patched)
    keys = _keys(vectors, _expected(vectors, "tls13-20-chacha20poly1305")["tshark_options"])
    result = decrypt_capture(tmp_path / "d19.pcap", keys)
    for conn in result.connections:
        got = conn.to_json()
        assert got["version_hex"] == "0x7f13" and "draft-19" in got["reason"]
        assert got["records_failed"] == 0 and got["records_undecryptable"] > 0
        assert got["client_to_server_bytes"] == 0 and got["server_to_client_bytes"] == 0


def _cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    entry = "import sys; from tlsstate.cli.main import main; sys.exit(main(sys.argv[1:]))"
    environment = {k: v for k, v in os.environ.items() if k != "SSLKEYLOGFILE"} | (env or {})
    return subprocess.run([sys.executable, "-c", entry, *map(str, args)], capture_output=True, text=True, timeout=60,
                          env=environment)


def test_cli_json_follow_records_explain(vectors: Path, tmp_path: Path) -> None:
    capture = vectors / WS / "captures" / "tls12-aes256gcm.pcap"
    psk = "ca19e028a8a372ad2d325f950fcaceed"
    expected = _expected(vectors, "tls12-aes256gcm")["decrypted_streams"][0]
    run = _cli("decrypt", capture, "--psk", psk, "--json")
    assert run.returncode == 0, run.stderr
    [obj] = json.loads(run.stdout)
    assert obj["server_to_client_sha256"] == expected["server_to_client_sha256"]
    assert obj["client"].endswith(":" + obj["client"].rsplit(":", 1)[1]) and obj["cipher_suite"] == "0x00a9"
    run = _cli("decrypt", capture, "--psk", psk, "--follow", "0", "--raw")
    assert b"http://www.gnu.org/software/gnutls" in run.stdout.encode()
    run = _cli("decrypt", capture, "--psk", psk, "--records")
    assert "application_data" in run.stdout and "server write key (epoch 1)" in run.stdout
    run = _cli("decrypt", capture, "--psk", psk, "--explain", "0")
    assert "RFC 4279" in run.stdout and "master_secret" in run.stdout
    assert psk not in run.stdout  # secrets are abbreviated unless --show-secrets
    run = _cli("decrypt", capture, "--psk", psk, "--write-dir", tmp_path / "out")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["conn0000-client_to_server.bin", "conn0000-server_to_client.bin"]
    written = (tmp_path / "out" / "conn0000-server_to_client.bin").read_bytes()
    assert hashlib.sha256(written).hexdigest() == expected["server_to_client_sha256"]
    # no key: reported, exit 0, nothing decrypted
    run = _cli("decrypt", capture, "--json")
    [obj] = json.loads(run.stdout)
    assert obj["records_ok"] > 0 and obj["records_undecryptable"] > 0 and obj["server_to_client_bytes"] == 0
    assert obj["reason"]
    # wrong PSK: the Finished fails its check -> bad_record_mac, exit status 1
    run = _cli("decrypt", capture, "--psk", "00" * 16, "--json")
    assert run.returncode == 1
    assert json.loads(run.stdout)[0]["records_failed"] > 0


def test_cli_bad_inputs(vectors: Path, tmp_path: Path) -> None:
    capture = vectors / WS / "captures" / "rsa-p-lt-q.pcap"
    # malformed key log line: warned with its line number, the good line still used
    keylog = tmp_path / "k.log"
    good = (vectors / WS / "keys" / "dhe1_keylog.dat").read_text()
    keylog.write_text("CLIENT_RANDOM nothex\n" + good)
    run = _cli("decrypt", vectors / WS / "captures" / "dhe1.pcapng.gz", "--keylog", keylog, "--json")
    assert run.returncode == 0 and "line 1" in run.stderr
    assert json.loads(run.stdout)[0]["client_to_server_bytes"] == 19
    # SSLKEYLOGFILE is read when set
    run = _cli("decrypt", vectors / WS / "captures" / "dhe1.pcapng.gz", "--json",
               env={"SSLKEYLOGFILE": str(vectors / WS / "keys" / "dhe1_keylog.dat")})
    assert run.returncode == 0 and json.loads(run.stdout)[0]["client_to_server_bytes"] == 19
    # wrong RSA key: clear reason, no traceback
    run = _cli("decrypt", capture, "--rsa-key", vectors / WS / "keys" / "rsasnakeoil2.key", "--json")
    assert "Traceback" not in run.stderr
    assert "no RSA key matches" in json.loads(run.stdout)[0]["reason"]
    # missing / non-capture / truncated files
    run = _cli("decrypt", tmp_path / "missing.pcap")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    (tmp_path / "text.pcap").write_text("hello world, not a capture")
    run = _cli("decrypt", tmp_path / "text.pcap")
    assert run.returncode == 2 and "not a pcap" in run.stderr
    data = capture.read_bytes()
    (tmp_path / "cut.pcap").write_bytes(data[: len(data) - 100])
    run = _cli("decrypt", tmp_path / "cut.pcap", "--rsa-key", vectors / WS / "keys" / "rsa-p-lt-q.key", "--json")
    assert run.returncode == 3 and "truncated" in run.stderr and "Traceback" not in run.stderr
    assert json.loads(run.stdout)[0]["client_to_server_bytes"] == 72  # the request came before the damage
    run = _cli("decrypt", capture, "--rsa-key", tmp_path / "text.pcap")
    assert run.returncode == 2 and "cannot load RSA key" in run.stderr


def test_every_tls12_key_log_label(vectors: Path, tmp_path: Path) -> None:
    """RSA, PMS_CLIENT_RANDOM and RSA Session-ID lines made from Wireshark's derived secrets (expected-tshark)
    decrypt rsa-p-lt-q.pcap without the private key."""
    expected = _expected(vectors, "rsa-p-lt-q")
    material = expected["key_material"][0]
    want = expected["decrypted_streams"][0]
    with_key, _ = _run(vectors, "rsa-p-lt-q")
    session = with_key.connections[0].session
    encrypted = next(v for n, v, _s in session.derivations[0].steps if n == "encrypted_premaster")
    session_id = session.server_hello.session_id if session.server_hello else b""
    assert session_id
    lines = {
        "RSA": f"RSA {encrypted[:8].hex()} {material['pre_master_secret']}",
        "PMS_CLIENT_RANDOM": f"PMS_CLIENT_RANDOM {material['client_random']} {material['pre_master_secret']}",
        "RSA Session-ID": f"RSA Session-ID:{session_id.hex()} Master-Key:{material['master_secret']}",
        "CLIENT_RANDOM": f"CLIENT_RANDOM {material['client_random']} {material['master_secret']}",
    }
    for label, line in lines.items():
        path = tmp_path / f"{label.replace(' ', '_')}.log"
        path.write_text(f"# {label}\n{line}\n")
        keys = KeySource()
        keys.add_keylog_file(path)
        assert keys.warnings == []
        [conn] = decrypt_capture(vectors / WS / "captures" / expected["capture"], keys).connections
        got = conn.to_json()
        assert got["server_to_client_sha256"] == want["server_to_client_sha256"], label
        assert got["finished_verified"] is True, label
        sources = [src for n, _v, src in conn.session.derivations[0].steps if n in ("premaster_secret", "master_secret")]
        assert any(f"key log {label} line 2" in src for src in sources), (label, sources)
