"""In-band upgrades: the hello probe and the protocol names (tlsstate.capture.starttls), and a plaintext-only
connection still counted as not TLS. The live upgrades (openssl s_client -starttls, compared with tshark) are in
tests/interop/test_decrypt_starttls.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsstate.capture.decrypt import decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.starttls import PRELUDE_LIMIT, find_hello, identify
from tlsstate.capture.writer import write_tcp_capture

# a ClientHello record header as on the wire: type 22, version 3.1, length 0x00c8; ClientHello, length 0xc4, 3.3
CLIENT_HELLO = bytes.fromhex("16030100c8 01 0000c4 0303") + bytes(0xC4 - 2)
SERVER_HELLO = bytes.fromhex("1603030058 02 000054 0303") + bytes(0x54 - 2)


def test_the_hello_is_found_after_a_prelude() -> None:
    prelude = b"220 mail ESMTP\r\n\x16\x03 not a record\r\n"
    assert find_hello(prelude + CLIENT_HELLO, True) == len(prelude)
    assert find_hello(prelude + SERVER_HELLO, False) == len(prelude)


def test_the_probe_needs_the_right_hello_and_a_whole_header() -> None:
    assert find_hello(SERVER_HELLO, True) == -1  # a ServerHello is not the client's hello
    assert find_hello(CLIENT_HELLO, False) == -1
    assert find_hello(CLIENT_HELLO[:10], True) == -1  # the probe is incomplete: wait for more bytes
    assert find_hello(bytes.fromhex("16030100c8 01 000010 0303"), True) == -1  # too short for a ClientHello
    assert find_hello(bytes.fromhex("16030900c8 01 0000c4 0303"), True) == -1  # record version 3.9


@pytest.mark.parametrize(("client", "server", "name"), [
    (b"EHLO client\r\nSTARTTLS\r\n", b"220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n", "smtp"),
    (b"LHLO client\r\nSTARTTLS\r\n", b"220 lmtp ready\r\n", "lmtp"),
    (b"a1 CAPABILITY\r\na2 STARTTLS\r\n", b"* OK IMAP4rev1\r\n", "imap"),
    (b"CAPA\r\nSTLS\r\n", b"+OK POP3\r\n+OK go\r\n", "pop3"),
    (b"AUTH TLS\r\n", b"220 FTP\r\n234 ok\r\n", "ftp"),
    (b"CAPABILITIES\r\nSTARTTLS\r\n", b"200 news\r\n382 go\r\n", "nntp"),
    (b"STARTTLS\r\n", b":irc.example 670 nick :STARTTLS successful\r\n", "irc"),
    (b'STARTTLS\r\n', b'"IMPLEMENTATION" "x"\r\n"STARTTLS"\r\nOK\r\n', "sieve"),
    (b"<?xml version='1.0'?><stream:stream to='x'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
     b"<stream:stream><proceed/>", "xmpp"),
    (bytes.fromhex("301d02010177188016") + b"1.3.6.1.4.1.1466.20037", bytes.fromhex("300c02010178070a010004000400"),
     "ldap"),
    (bytes.fromhex("0000000804d2162f"), b"S", "postgresql"),
    (bytes.fromhex("0000000804d21630") + bytes.fromhex("0000000804d2162f"), b"NS", "postgresql"),  # GSSENC refused
    (bytes.fromhex("200000010f8a0000"), bytes.fromhex("4a0000000a") + b"8.0.0\x00", "mysql"),
    (b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 Connection established\r\n\r\n", "http-connect"),
    (b"\x05\x01\x00", b"\x05\x00", None),  # SOCKS5: decrypted, but not named
])
def test_protocols_are_named_by_content(client: bytes, server: bytes, name: str | None) -> None:
    assert identify(client, server) == name


def test_a_plaintext_connection_is_still_not_tls(tmp_path: Path) -> None:
    path = tmp_path / "http.pcap"
    body = b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * (PRELUDE_LIMIT + 10)
    write_tcp_capture(path, [(True, b"GET / HTTP/1.1\r\n\r\n"), (False, body)], segment_size=1400)
    result = decrypt_capture(path, KeySource())
    assert result.connections == [] and result.non_tls_connections == 1
