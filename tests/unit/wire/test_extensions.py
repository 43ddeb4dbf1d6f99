"""Extension helpers (RFC 6066, 7301, 8422, 5246 §7.4.1.4.1, 7627, 7366, 5746, 5077, 8449, 8446 §4.2).

External bytes: the RFC 8448 §3 ClientHello/ServerHello extensions and a live OpenSSL ClientHello.
"""

from __future__ import annotations

import contextlib
import re
import ssl
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsstate.wire import extensions as x
from tlsstate.wire import messages as m
from tlsstate.wire.constants import ExtensionType, NamedGroup, SignatureScheme
from tlsstate.wire.errors import DecodeError, IllegalParameter


def _rfc8448_hello(vectors: Path, name: str) -> bytes:
    text = (vectors / "botan" / "tls_13_rfc8448" / "transcripts.vec").read_text()
    match = re.search(rf"^{name}\s*=\s*([0-9A-Fa-f]+)", text, re.M)
    assert match
    return bytes.fromhex(match.group(1))[9:]  # record header (5) + handshake header (4)


def test_rfc8448_client_hello_extensions(vectors: Path) -> None:
    """Values as printed in RFC 8448 §3 ("{client} send handshake record")."""
    ch = m.ClientHello.parse(_rfc8448_hello(vectors, "Record_ClientHello_1"))
    exts = ch.extensions
    sni = x.find_extension(exts, ExtensionType.SERVER_NAME)
    assert sni is not None and x.parse_server_name(sni.data) == "server"
    assert x.build_server_name("server") == sni
    groups = x.find_extension(exts, ExtensionType.SUPPORTED_GROUPS)
    assert groups is not None
    assert x.parse_supported_groups(groups.data) == [29, 23, 24, 25, 256, 257, 258, 259, 260]
    assert x.build_supported_groups([29, 23, 24, 25, 256, 257, 258, 259, 260]) == groups
    sigalgs = x.find_extension(exts, ExtensionType.SIGNATURE_ALGORITHMS)
    assert sigalgs is not None
    assert x.parse_signature_algorithms(sigalgs.data) == [
        0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201,
        0x0402, 0x0502, 0x0602, 0x0202,
    ]
    key_share = x.find_extension(exts, ExtensionType.KEY_SHARE)
    assert key_share is not None
    (entry,) = x.parse_key_share_client(key_share.data)
    assert entry.group == NamedGroup.X25519
    assert entry.key_exchange.hex() == "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c"
    assert x.build_key_share_client([entry]) == key_share
    versions = x.find_extension(exts, ExtensionType.SUPPORTED_VERSIONS)
    assert versions is not None and x.parse_supported_versions_client(versions.data) == [0x0304]
    assert x.build_supported_versions_client([0x0304]) == versions
    modes = x.find_extension(exts, ExtensionType.PSK_KEY_EXCHANGE_MODES)
    assert modes is not None and x.parse_psk_key_exchange_modes(modes.data) == [x.PSK_DHE_KE]
    limit = x.find_extension(exts, ExtensionType.RECORD_SIZE_LIMIT)
    assert limit is not None and x.parse_record_size_limit(limit.data) == 0x4001
    assert x.build_record_size_limit(0x4001) == limit
    reneg = x.find_extension(exts, ExtensionType.RENEGOTIATION_INFO)
    assert reneg is not None and x.parse_renegotiation_info(reneg.data) == b""
    assert x.build_renegotiation_info() == reneg
    ticket = x.find_extension(exts, ExtensionType.SESSION_TICKET)
    assert ticket is not None and x.parse_session_ticket(ticket.data) == b""
    assert x.build_session_ticket() == ticket
    assert x.find_extension(exts, ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION) is None
    assert x.find_extension(None, ExtensionType.SERVER_NAME) is None


def test_rfc8448_server_hello_extensions(vectors: Path) -> None:
    sh = m.ServerHello.parse(_rfc8448_hello(vectors, "Record_ServerHello"))
    share = x.find_extension(sh.extensions, ExtensionType.KEY_SHARE)
    assert share is not None
    entry = x.parse_key_share_server(share.data)
    assert entry.group == NamedGroup.X25519
    assert entry.key_exchange.hex() == "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f"
    assert x.build_key_share_server(entry) == share
    versions = x.find_extension(sh.extensions, ExtensionType.SUPPORTED_VERSIONS)
    assert versions is not None and x.parse_supported_versions_server(versions.data) == 0x0304
    assert x.build_supported_versions_server(0x0304) == versions


def test_rfc8448_hello_retry_request_key_share(vectors: Path) -> None:
    hrr = m.ServerHello.parse(_rfc8448_hello(vectors, "Record_HelloRetryRequest"))
    assert hrr.is_hello_retry_request
    share = x.find_extension(hrr.extensions, ExtensionType.KEY_SHARE)
    assert share is not None and x.parse_key_share_hello_retry(share.data) == NamedGroup.SECP256R1


def test_openssl_client_hello_extensions() -> None:
    """A live OpenSSL ClientHello: SNI, ALPN, groups, point formats, signature algorithms, EMS, ETM."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname="example.test")
    with contextlib.suppress(ssl.SSLWantReadError):
        conn.do_handshake()
    record = outgoing.read()
    ch = m.ClientHello.parse(record[9:])
    exts = ch.extensions
    x.check_no_duplicates(exts)
    sni = x.find_extension(exts, ExtensionType.SERVER_NAME)
    assert sni is not None and x.parse_server_name(sni.data) == "example.test"
    alpn = x.find_extension(exts, ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)
    assert alpn is not None and x.parse_alpn(alpn.data) == [b"h2", b"http/1.1"]
    assert x.build_alpn(["h2", "http/1.1"]) == alpn
    groups = x.find_extension(exts, ExtensionType.SUPPORTED_GROUPS)
    assert groups is not None and NamedGroup.X25519 in x.parse_supported_groups(groups.data)
    formats = x.find_extension(exts, ExtensionType.EC_POINT_FORMATS)
    assert formats is not None and x.EC_POINT_FORMAT_UNCOMPRESSED in x.parse_ec_point_formats(formats.data)
    sigalgs = x.find_extension(exts, ExtensionType.SIGNATURE_ALGORITHMS)
    assert sigalgs is not None
    assert SignatureScheme.RSA_PSS_RSAE_SHA256 in x.parse_signature_algorithms(sigalgs.data)
    ems = x.find_extension(exts, ExtensionType.EXTENDED_MASTER_SECRET)
    assert ems is not None and ems == x.build_extended_master_secret()
    x.parse_extended_master_secret(ems.data)
    etm = x.find_extension(exts, ExtensionType.ENCRYPT_THEN_MAC)
    assert etm is not None and etm == x.build_encrypt_then_mac()
    x.parse_encrypt_then_mac(etm.data)


@pytest.mark.parametrize(
    ("parse", "data", "error"),
    [
        (x.parse_server_name, b"\x00\x00", DecodeError),  # empty list
        (x.parse_server_name, b"\x00\x05\x00\x00\x03ab", DecodeError),  # inner length past the list
        (x.parse_server_name, b"\x00\x0a\x00\x00\x02ab\x00\x00\x02cd", IllegalParameter),  # two host_names
        (x.parse_server_name, b"\x00\x05\x00\x00\x02\xff\xfe", IllegalParameter),  # not ASCII (RFC 6066 §3)
        (x.parse_server_name, b"", DecodeError),  # the empty form is the ServerHello's
        (x.parse_server_name, b"\x00\x03\x00\x00\x00", DecodeError),  # empty HostName
        (x.parse_alpn, b"\x00\x00", DecodeError),
        (x.parse_alpn, b"\x00\x01\x00", DecodeError),  # list < 2 bytes
        (x.parse_alpn, b"\x00\x03\x00\x01a", DecodeError),  # empty protocol name
        (x.parse_alpn_selected, b"\x00\x06\x02h2\x02h3", DecodeError),  # server picks two
        (x.parse_supported_groups, b"\x00\x00", DecodeError),
        (x.parse_supported_groups, b"\x00\x03\x00\x1d\x00", DecodeError),
        (x.parse_supported_groups, b"\x00\x02\x00\x1d\x00", DecodeError),  # trailing
        (x.parse_ec_point_formats, b"\x00", DecodeError),
        (x.parse_ec_point_formats, b"\x01\x01", IllegalParameter),  # no uncompressed
        (x.parse_signature_algorithms, b"\x00\x00", DecodeError),
        (x.parse_extended_master_secret, b"\x00", DecodeError),
        (x.parse_encrypt_then_mac, b"\x00", DecodeError),
        (x.parse_renegotiation_info, b"", DecodeError),
        (x.parse_renegotiation_info, b"\x02a", DecodeError),
        (x.parse_record_size_limit, b"\x00\x3f", IllegalParameter),  # below 64
        (x.parse_record_size_limit, b"\x40", DecodeError),
        (x.parse_max_fragment_length, b"\x05", IllegalParameter),
        (x.parse_max_fragment_length, b"\x00", IllegalParameter),
        (x.parse_max_fragment_length, b"\x01\x01", DecodeError),
        (x.parse_supported_versions_client, b"\x00", DecodeError),
        (x.parse_supported_versions_client, b"\x03\x03\x04\x03", DecodeError),
        (x.parse_supported_versions_server, b"\x03\x04\x00", DecodeError),
        (x.parse_key_share_client, b"\x00\x08\x00\x1d\x00\x00\x00\x1d\x00\x00", DecodeError),  # empty key
        (x.parse_key_share_client, b"\x00\x0a\x00\x1d\x00\x01a\x00\x1d\x00\x01b", IllegalParameter),  # group twice
        (x.parse_key_share_server, b"\x00\x1d\x00\x02a", DecodeError),
        (x.parse_key_share_hello_retry, b"\x00", DecodeError),
        (x.parse_psk_key_exchange_modes, b"\x00", DecodeError),
    ],
)
def test_strict_parsing(parse: object, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse(data)  # type: ignore[operator]


def test_server_name_empty_server_form_and_max_fragment_length() -> None:
    assert x.parse_server_name(x.build_server_name("Bücher.example.").data) == "xn--bcher-kva.example"
    assert x.build_empty(ExtensionType.SERVER_NAME) == m.Extension(0, b"")
    for code, size in x.MAX_FRAGMENT_LENGTHS.items():
        ext = x.build_max_fragment_length(code)
        assert ext.data == bytes([code]) and x.parse_max_fragment_length(ext.data) == code
        assert size == 2 ** (8 + code)
    assert x.parse_alpn_selected(x.build_alpn([b"h2"]).data) == b"h2"
    assert x.parse_renegotiation_info(x.build_renegotiation_info(bytes(24)).data) == bytes(24)


def test_duplicates_and_names() -> None:
    exts = (m.Extension(23, b""), m.Extension(22, b""), m.Extension(23, b""))
    with pytest.raises(IllegalParameter, match="extended_master_secret"):
        x.check_no_duplicates(exts)
    x.check_no_duplicates(exts[:2])
    assert x.extension_name(0xFF01) == "renegotiation_info"
    assert x.extension_name(0x1234) == "unknown(0x1234)"


def test_builders_refuse_bad_input() -> None:
    for bad in (
        lambda: x.build_server_name(""),
        lambda: x.build_server_name("127.0.0.1"),
        lambda: x.build_server_name("::1"),
        lambda: x.build_alpn([]),
        lambda: x.build_alpn([""]),
        lambda: x.build_supported_groups([]),
        lambda: x.build_record_size_limit(63),
        lambda: x.build_max_fragment_length(0),
        lambda: x.build_psk_key_exchange_modes([]),
    ):
        with pytest.raises(ValueError):
            bad()


u16s = st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(
    u16s,
    u16s,
    st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=5),
    st.binary(max_size=255),
    st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", fullmatch=True), min_size=1, max_size=4)
    .map(".".join)
    .filter(lambda s: not s.rsplit(".", 1)[-1].isdigit()),
)
def test_round_trips(groups: list[int], schemes: list[int], protocols: list[bytes], reneg: bytes, host: str) -> None:
    assert x.parse_supported_groups(x.build_supported_groups(groups).data) == groups
    assert x.parse_signature_algorithms(x.build_signature_algorithms(schemes).data) == schemes
    assert x.parse_alpn(x.build_alpn(protocols).data) == protocols
    assert x.parse_renegotiation_info(x.build_renegotiation_info(reneg).data) == reneg
    assert x.parse_server_name(x.build_server_name(host).data) == host
    versions = groups[:127]
    assert x.parse_supported_versions_client(x.build_supported_versions_client(versions).data) == versions
    entries = [x.KeyShareEntry(g, bytes([g & 0xFF]) * 3) for g in dict.fromkeys(groups)]
    assert x.parse_key_share_client(x.build_key_share_client(entries).data) == entries
    data = x.build_alpn(protocols).data
    for cut in range(len(data)):
        with pytest.raises(DecodeError):
            x.parse_alpn(data[:cut])


def _sni(host: bytes, *others: bytes) -> bytes:
    entries = b"".join([b"\x00" + len(host).to_bytes(2, "big") + host, *others])
    return len(entries).to_bytes(2, "big") + entries


REFUSED_HOST_NAMES = [
    b"a\x00b.example", b"bell\x07.example", b"esc\x1b.example", b"tab\t.example", b"del\x7f.example",
    "bücher.example".encode(), b"example.com.", b"127.0.0.1", b"::1", b"[::1]", b"a..b", b".example", b"-a.example",
    b"a-.example", b"a b.example", b"a/b.example", b"x" * 64 + b".example", b"a." * 127 + b"ab", b"example.123",
]


@pytest.mark.parametrize("host", REFUSED_HOST_NAMES)
def test_server_name_host_name_refused(host: bytes) -> None:
    """RFC 6066 §3: a HostName with control characters, UTF-8, a trailing dot, an IP literal or no valid DNS host
    name syntax is illegal_parameter; our client refuses to send them, except the two it can write correctly
    (UTF-8 -> A-labels, the trailing dot dropped)."""
    with pytest.raises(IllegalParameter, match="server_name host_name"):
        x.parse_server_name(_sni(host))
    name = host.decode()
    if name in ("bücher.example", "example.com."):
        assert x.parse_server_name(x.build_server_name(name).data) in ("xn--bcher-kva.example", "example.com")
        return
    with pytest.raises(ValueError):
        x.build_server_name(name)


@pytest.mark.parametrize(
    "host", [b"localhost", b"a.b", b"xn--bcher-kva.example", b"_dmarc.example", b"A-1.Example.COM", b"x" * 63 + b".io",
             b"1.example", (b"a" * 61 + b".") * 4 + b"a"],
)
def test_server_name_host_name_accepted(host: bytes) -> None:
    assert x.parse_server_name(_sni(host)) == host.decode()
    assert x.parse_server_name(_sni(host, b"\x07\x00\x01z")) == host.decode()  # another name type: skipped
    assert x.parse_server_name(x.build_server_name(host.decode()).data) == host.decode()
