"""In-band upgrades to TLS (STARTTLS and friends): a TCP stream that begins in plaintext and switches to TLS.

Found by content, not by port: a direction that does not start with a TLS record is searched, up to
:data:`PRELUDE_LIMIT` bytes, for the first record that can be its hello (RFC 5246 §6.2.1 header, then a
ClientHello from the client or a ServerHello from the server, RFC 5246 §7.4.1.2-3, RFC 8446 §4.1.2-3); the bytes
before it are the *prelude*, counted and kept out of the decrypted data. The protocol that asked for the upgrade is
named from the start of both preludes when it is recognisable:

=============== =====================================================================================
``smtp``        RFC 3207: banner ``220``, client ``EHLO``/``HELO`` … ``STARTTLS`` (``lmtp``: ``LHLO``, RFC 2033)
``imap``        RFC 3501 §6.2.1: greeting ``* OK``, ``<tag> STARTTLS``
``pop3``        RFC 2595 §4: greeting ``+OK``, ``STLS``
``ftp``         RFC 4217 §4: ``AUTH TLS`` (or ``AUTH SSL``)
``nntp``        RFC 4642: greeting ``200``/``201``, ``STARTTLS``
``sieve``       RFC 5804 §2.2: capability lines, ``STARTTLS``
``xmpp``        RFC 6120 §5: ``<stream:stream`` … ``<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>``
``ldap``        RFC 4511 §4.14: ExtendedRequest with requestName ``1.3.6.1.4.1.1466.20037``
``postgresql``  PostgreSQL protocol "SSLRequest": length 8, code 80877103 (0x04d2162f), answered ``S``
``mysql``       MySQL client/server protocol: server greeting (protocol 10), client SSLRequest with CLIENT_SSL
``http-connect`` RFC 9110 §9.3.6: ``CONNECT host:port``, then TLS through the tunnel
``irc``         IRCv3 ``STARTTLS`` (numeric 670)
=============== =====================================================================================

Anything else with a TLS hello after plaintext is still decrypted, with the protocol ``None``.
"""

from __future__ import annotations

import re

__all__ = ["HEAD_KEPT", "PRELUDE_LIMIT", "find_hello", "identify"]

#: bytes of plaintext a direction may carry before its first TLS record (beyond this it is not TLS)
PRELUDE_LIMIT = 64 * 1024
#: bytes of each prelude kept for :func:`identify`
HEAD_KEPT = 4096
HELLO_PROBE = 11  # record header (5) + handshake type and length (4) + the hello's version (2)
MAX_RECORD = 16384 + 2048  # TLSCiphertext.length limit (RFC 5246 §6.2.3)
CLIENT_HELLO, SERVER_HELLO = 1, 2
PG_SSL_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"  # length 8, request code 1234 << 16 | 5679
LDAP_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
MYSQL_CLIENT_SSL = 0x0800
_TAGGED_STARTTLS = re.compile(rb"^[!-~]+ STARTTLS\r?$", re.IGNORECASE | re.MULTILINE)


def find_hello(data: bytes | bytearray, from_client: bool, start: int = 0) -> int:
    """Offset of the first record in ``data[start:]`` that can be this direction's hello, or -1.

    A match needs the whole probe: handshake record header (type 22, version 3.0-3.4, length 4..2^14+2048), the
    handshake type (ClientHello or ServerHello), a body length of at least 38 bytes, and a hello version 3.x."""
    wanted = CLIENT_HELLO if from_client else SERVER_HELLO
    pos = data.find(b"\x16\x03", start)
    while 0 <= pos <= len(data) - HELLO_PROBE:
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        body = int.from_bytes(data[pos + 6 : pos + 9], "big")
        if (
            data[pos + 2] <= 4 and 4 <= length <= MAX_RECORD and data[pos + 5] == wanted and body >= 38
            and data[pos + 9] == 3 and data[pos + 10] <= 4
        ):
            return pos
        pos = data.find(b"\x16\x03", pos + 1)
    return -1


def _mysql(client: bytes, server: bytes) -> bool:
    """Server greeting packet (sequence 0, protocol version 10) and client packet 1 with the CLIENT_SSL flag."""
    return (
        len(server) >= 5 and server[3] == 0 and server[4] == 10
        and len(client) >= 8 and client[3] == 1 and bool(int.from_bytes(client[4:6], "little") & MYSQL_CLIENT_SSL)
    )


def identify(client: bytes, server: bytes) -> str | None:
    """The protocol of an upgraded connection from the start of its two preludes (see the module table)."""
    if PG_SSL_REQUEST in client[:16]:  # after an optional GSSENCRequest answered "N"
        return "postgresql"
    if client[:1] == b"\x30" and LDAP_STARTTLS_OID in client[:64]:
        return "ldap"
    if _mysql(client, server):
        return "mysql"
    if b"<stream:stream" in client or b"<starttls" in client:
        return "xmpp"
    upper = client.upper()
    if upper.startswith(b"CONNECT "):
        return "http-connect"
    if upper.startswith((b"EHLO", b"HELO")) and server.startswith(b"220"):
        return "smtp"
    if upper.startswith(b"LHLO"):
        return "lmtp"
    if re.search(rb"^AUTH (TLS|SSL)\r?$", upper, re.MULTILINE):
        return "ftp"
    if server.startswith(b"+OK") and re.search(rb"^STLS\r?$", upper, re.MULTILINE):
        return "pop3"
    if server.startswith(b"* OK") or server.startswith(b"* PREAUTH") or _TAGGED_STARTTLS.search(client):
        return "imap"
    if server.startswith(b'"IMPLEMENTATION"') or server.startswith(b'"SIEVE"'):
        return "sieve"
    if re.search(rb"^STARTTLS\r?$", upper, re.MULTILINE):
        if server.startswith((b"200", b"201")):
            return "nntp"
        if b" 670 " in server or server.startswith(b":"):
            return "irc"
    return None
