"""`tlsstate decrypt` output: --follow in one decryption pass, the default table at 80 columns and wide.

Expected values are tshark's (expected-tshark/tls12-chacha20poly1305.json: per-direction byte counts and SHA-256,
the cipher the server names in its own plaintext), not ours.
"""

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
from click.testing import CliRunner

import tlsstate.capture.decrypt as capture_decrypt
from tlsstate.cli.decrypt import decrypt

WS = "wireshark-test-suite"
NAME = "tls12-chacha20poly1305"


def _expected(vectors: Path) -> dict[str, Any]:
    return json.loads((vectors / WS / "expected-tshark" / f"{NAME}.json").read_text())


def _args(vectors: Path) -> list[str]:
    return [str(vectors / WS / "captures" / f"{NAME}.pcap"), "--keylog", str(vectors / WS / "keys" / f"{NAME}.keys")]


def _unescape(text: str) -> bytes:
    """Inverse of the CLI's escaping: printable ASCII, \\n \\r \\t as they are, ``\\\\`` and ``\\xNN``."""
    out = bytearray()
    pos = 0
    while pos < len(text):
        if text.startswith("\\\\", pos):
            out.append(92)
            pos += 2
        elif text.startswith("\\x", pos):
            out.append(int(text[pos + 2 : pos + 4], 16))
            pos += 4
        else:
            out += text[pos].encode("latin-1")
            pos += 1
    return bytes(out)


def _follow_chunks(stdout: bytes) -> list[tuple[str, bytes]]:
    chunks = []
    pos = 0
    header = re.compile(rb"(>>>|<<<) (\d+) bytes\n")
    while pos < len(stdout):
        match = header.match(stdout, pos)
        assert match, stdout[pos : pos + 80]
        arrow, length = match.group(1).decode(), int(match.group(2))
        # the escaped text may itself contain newlines: take escaped characters until `length` bytes decode
        pos = match.end()
        text = bytearray()
        for _ in range(length):  # each escape sequence or character is one byte
            step = 4 if stdout.startswith(b"\\x", pos) else 2 if stdout.startswith(b"\\\\", pos) else 1
            text += stdout[pos : pos + step]
            pos += step
        assert stdout[pos : pos + 1] == b"\n"
        pos += 1
        chunks.append((arrow, _unescape(text.decode("latin-1"))))
    return chunks


@pytest.mark.parametrize("number", [0, 4, 6])
def test_follow_decrypts_once_and_matches_tshark(vectors: Path, monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    calls = []
    real = capture_decrypt.decrypt_capture

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(capture_decrypt, "decrypt_capture", counting)
    want = next(s for s in _expected(vectors)["decrypted_streams"] if s["tcp_stream"] == number)
    result = CliRunner().invoke(decrypt, [*_args(vectors), "--follow", str(number), "-q"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    chunks = _follow_chunks(result.stdout_bytes)
    client = b"".join(data for arrow, data in chunks if arrow == ">>>")
    server = b"".join(data for arrow, data in chunks if arrow == "<<<")
    assert len(client) == want["client_to_server_bytes"] and len(server) == want["server_to_client_bytes"]
    assert hashlib.sha256(client).hexdigest() == want["client_to_server_sha256"]
    assert hashlib.sha256(server).hexdigest() == want["server_to_client_sha256"]
    assert chunks[0][0] == ">>>"  # the request comes first

    calls.clear()
    raw = CliRunner().invoke(decrypt, [*_args(vectors), "--follow", str(number), "--raw", "-q"])
    assert raw.exit_code == 0 and len(calls) == 1
    assert raw.stdout_bytes == b"".join(data for _arrow, data in chunks)


def test_follow_out_of_range_is_a_usage_error(vectors: Path) -> None:
    result = CliRunner().invoke(decrypt, [*_args(vectors), "--follow", "7", "-q"])
    assert result.exit_code == 2 and "7 TLS connection(s)" in result.output


def _table(vectors: Path, columns: int) -> list[str]:
    entry = "import sys; from tlsstate.cli.main import main; sys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if k != "SSLKEYLOGFILE"} | {"COLUMNS": str(columns)}
    run = subprocess.run([sys.executable, "-c", entry, "decrypt", *_args(vectors), "-q"], capture_output=True,
                         text=True, timeout=60, env=env, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_table_is_readable_at_80_columns(vectors: Path) -> None:
    """COLUMNS=80: no line longer than 80, and every value whole on one line (not folded): endpoints, the
    cipher the server names, tshark's byte counts."""
    lines = _table(vectors, 80)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert text.startswith("7 TLS connection(s), 64 packets")
    for stream in _expected(vectors)["decrypted_streams"]:
        row = [i for i, line in enumerate(lines) if re.search(rf"^\s*{stream['tcp_stream']}\s+10\.42\.0\.1:\d+\s", line)]
        assert len(row) == 1, stream["tcp_stream"]
        block = "\n".join(lines[row[0] : row[0] + 3])
        assert "-> 10.42.0.243:443" in block
        assert re.search(rf"\b{re.escape(stream['server_says_cipher_is'])}\b", block), block
        assert f"c>s {stream['client_to_server_bytes']:,}" in block
        assert f"s>c {stream['server_to_client_bytes']:,}" in block
        assert re.search(r"ok \d+", block) and "failed 0" in block and "no keys 0" in block
        assert f"#{stream['tcp_stream']}: Finished verified" in lines


def test_table_is_one_line_per_connection_when_wide(vectors: Path) -> None:
    lines = _table(vectors, 250)
    for stream in _expected(vectors)["decrypted_streams"]:
        [line] = [line for line in lines if re.search(rf"\b{stream['tcp_stream']} │ 10\.42\.0\.1:", line)]
        assert stream["server_says_cipher_is"] in line and "Finished verified" in line
        assert f"{stream['client_to_server_bytes']:,} / {stream['server_to_client_bytes']:,}" in line


def test_malformed_key_log_lines_inside_the_capture_are_reported(vectors: Path, tmp_path: Path) -> None:
    """A pcapng Decryption Secrets Block read during decryption adds key log warnings; they reach stderr
    (they were dropped before: the loop printed ``warnings[len(warnings):]``). ``--quiet`` keeps them off."""
    from tests.helpers.env import require_binary

    editcap = require_binary("editcap")
    ws = vectors / "wireshark-test-suite"
    keylog = tmp_path / "with-bad-line.keys"
    keylog.write_text((ws / "keys" / "tls12-chacha20poly1305.keys").read_text() + "CLIENT_RANDOM zz-not-hex\n")
    out = tmp_path / "with-secrets.pcapng"
    subprocess.run([editcap, "--inject-secrets", f"tls,{keylog}", str(ws / "captures" / "tls12-chacha20poly1305.pcap"),
                    str(out)], check=True, timeout=60)
    noisy = CliRunner().invoke(decrypt, [str(out)])
    assert noisy.exit_code == 0, noisy.output
    assert noisy.stderr.splitlines() == [
        f"warning: {out} (Decryption Secrets Block) line 10: expected '<label> <hex> <hex>', got 2 fields"
    ]
    quiet = CliRunner().invoke(decrypt, [str(out), "--quiet"])
    assert quiet.exit_code == 0 and "warning:" not in quiet.stderr
