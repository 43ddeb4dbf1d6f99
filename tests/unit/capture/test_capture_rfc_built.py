"""What must not produce plaintext, on sessions built from the RFC layouts (tests/helpers/synthetic_tls.py): a
compression method other than null/DEFLATE, a decompression bomb, an unknown suite. Each says why, record by record,
and never "no keys" when the keys are there."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from rich.console import Console

from tests.helpers.synthetic_tls import TLS10, TLS12, Params, build_session, write_session
from tlsstate.capture.decrypt import CaptureResult, ConnectionResult, DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.report import print_table

CLIENT_DATA = [b"GET / HTTP/1.1\r\nHost: old.example\r\n\r\n" + b"a" * 3000, b"x" * 16000]
SERVER_DATA = [b"HTTP/1.1 200 OK\r\n\r\n" + b"b" * 5000, b"hello " * 100]


def _decrypt(params: Params, tmp_path: Path, client: list[bytes], name: str) -> tuple[ConnectionResult, bytes]:
    session = build_session(params, client, SERVER_DATA)
    capture, keylog = write_session(session, tmp_path, name)
    keys = KeySource()
    keys.add_keylog_file(keylog)
    [conn] = decrypt_capture(capture, keys, DecryptOptions(keep_records=True)).connections
    return conn, session.server_data


def test_other_compression_method_gives_a_clear_reason_and_no_plaintext(tmp_path: Path) -> None:
    """LZS (64, RFC 3943) negotiated: no garbage plaintext, every protected record says why (not "no keys")."""
    params = Params(0x002F, TLS10, "AES", 16, "sha1", 16, offered_compression=(64, 0))
    params.compression = 64  # the builder sends it uncompressed; what matters is the ServerHello's method
    conn, _ = _decrypt(params, tmp_path, CLIENT_DATA, "lzs")
    got = conn.to_json()
    assert got["compression"] == "lzs"
    assert "compression method lzs is not supported" in got["reason"]
    assert got["client_to_server_bytes"] == got["server_to_client_bytes"] == 0
    protected = [r for r in conn.session.records if r.verdict != "ok"]
    assert protected and all(r.verdict == "unsupported" for r in protected)
    assert all("compression method lzs" in r.key for r in protected)


def test_decompression_bomb_stops_at_the_record_limit(tmp_path: Path) -> None:
    """One ~1 KiB compressed record that inflates to 1 MiB: stopped at 2^14 + 1 bytes of output with a note
    naming the limit (RFC 5246 §6.2.2); the records before it are kept, the server side is unaffected."""
    params = Params(0x002F, TLS10, "AES", 16, "sha1", 16, compression=1)
    conn, server_data = _decrypt(params, tmp_path, [CLIENT_DATA[0], bytes(1 << 20)], "bomb")
    got = conn.to_json()
    assert got["client_to_server_bytes"] == len(CLIENT_DATA[0])
    assert got["server_to_client_sha256"] == hashlib.sha256(server_data).hexdigest()
    assert [r.verdict for r in conn.session.records].count("decompression_failure") == 1
    assert got["records_failed"] == 1
    assert any("decompresses to more than 16384 bytes" in note for note in got["notes"]), got["notes"]


def test_unknown_suite_is_unsupported_not_no_keys(tmp_path: Path) -> None:
    """An ARIA suite (0xC03C, RFC 6209; not in the table): the verdict names the suite, never the keys."""
    conn, _ = _decrypt(Params(0xC03C, TLS12, "AES", 16, "sha256", 16), tmp_path, CLIENT_DATA, "aria")
    assert conn.to_json()["reason"] == "unknown cipher suite 0xc03c"
    undecrypted = [r for r in conn.session.records if r.verdict != "ok"]
    assert undecrypted and {r.verdict for r in undecrypted} == {"unsupported"}


def test_table_says_unsupported_not_no_keys(tmp_path: Path) -> None:
    """The report's record counts name the cause: ``unsupported``, not ``no keys`` (wide and 80-column tables)."""
    params = Params(0x002F, TLS10, "AES", 16, "sha1", 16, compression=64, offered_compression=(64, 0))
    conn, _ = _decrypt(params, tmp_path, CLIENT_DATA, "lzs-table")
    result = CaptureResult([conn], 0, None, [], KeySource())
    for width in (220, 80):
        out = io.StringIO()
        print_table(result, Console(file=out, width=width, color_system=None))
        text = out.getvalue()
        assert "unsupported" in text.split("compression method")[0], text  # in the counts, not only the note
        if width == 80:
            assert "no keys" not in text, text
