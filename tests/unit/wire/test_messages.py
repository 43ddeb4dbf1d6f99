"""Handshake message parse/serialize (RFC 5246 §7.4): external bytes, properties, strictness.

External bytes: the RFC 8448 hellos (Botan's transcripts.vec records; the TLS 1.3 hello wire format is
the TLS 1.2 one) and live messages produced by CPython's ``ssl`` (OpenSSL) through MemoryBIO.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.env import require_binary
from tlsstate.crypto import dh, signatures
from tlsstate.crypto.suites import KeyExchange, by_id
from tlsstate.wire import messages as m
from tlsstate.wire.constants import ExtensionType, HandshakeType
from tlsstate.wire.errors import DecodeError, DecryptError, IllegalParameter, ProtocolVersionError, UnexpectedMessage

# ----------------------------------------------------------------------------------------------
# RFC 8448 hellos
# ----------------------------------------------------------------------------------------------


def _rfc8448_records(vectors: Path) -> list[tuple[str, str, bytes]]:
    text = (vectors / "botan" / "tls_13_rfc8448" / "transcripts.vec").read_text()
    out = []
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        match = re.match(r"^(Record_(?:ClientHello_\d|ServerHello|HelloRetryRequest))\s*=\s*([0-9A-Fa-f]+)", line)
        if match:
            out.append((section, match.group(1), bytes.fromhex(match.group(2))))
    return out


def _single_message(record: bytes) -> m.RawHandshake:
    assert record[0] == 22
    reasm = m.HandshakeReassembler()
    reasm.feed(record[5:])
    raw = reasm.next_message()
    assert raw is not None and reasm.next_message() is None and reasm.empty
    return raw


def test_rfc8448_simple_1rtt_client_hello(vectors: Path) -> None:
    """RFC 8448 §3: ClientHello random cb34ecb1...dece7, suites 1301 1303 1302, x25519 share 99381de5..."""
    section, _name, record = next(r for r in _rfc8448_records(vectors) if r[1] == "Record_ClientHello_1")
    assert section == "Simple_1RTT_Handshake"
    raw = _single_message(record)
    ch = m.parse_message(raw, m.ParseContext(0x0303))
    assert isinstance(ch, m.ClientHello)
    assert ch.version == 0x0303
    assert ch.random.hex() == "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"
    assert ch.session_id == b""
    assert ch.cipher_suites == (0x1301, 0x1303, 0x1302)
    assert ch.compression_methods == b"\x00"
    assert ch.extensions is not None
    assert [e.type for e in ch.extensions] == [0, 0xFF01, 10, 35, 51, 43, 13, 45, 28]
    assert m.encode_handshake(ch) == raw.raw


def test_rfc8448_server_hello_and_hrr(vectors: Path) -> None:
    records = _rfc8448_records(vectors)
    simple_sh = next(r for r in records if r[1] == "Record_ServerHello")
    sh = m.ServerHello.parse(_single_message(simple_sh[2]).body)
    assert sh.random.hex() == "a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e26928"
    assert sh.cipher_suite == 0x1301 and sh.version == 0x0303
    assert sh.selected_version == 0x0304
    assert not sh.is_hello_retry_request and not m.is_hello_retry_request(sh)
    hrr_record = next(r for r in records if r[1] == "Record_HelloRetryRequest")
    hrr = m.ServerHello.parse(_single_message(hrr_record[2]).body)
    assert hrr.is_hello_retry_request and m.is_hello_retry_request(hrr)
    assert hrr.selected_version == 0x0304
    assert [e.type for e in hrr.extensions or ()] == [51, 44, 43]


def test_every_rfc8448_hello_round_trips(vectors: Path) -> None:
    records = _rfc8448_records(vectors)
    assert len(records) >= 14
    for _section, _name, record in records:
        raw = _single_message(record)
        msg = m.parse_message(raw, m.ParseContext(0x0303))
        assert m.encode_handshake(msg) == raw.raw


# ----------------------------------------------------------------------------------------------
# Live bytes from CPython ssl (OpenSSL) over MemoryBIO
# ----------------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path, key_kind: str) -> tuple[Path, Path]:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    key = rsa.generate_private_key(65537, 2048) if key_kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{key_kind}.crt", tmp_path / f"{key_kind}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _records(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        out.append((data[pos], data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    assert pos == len(data)
    return out


def _handshake_plaintext(data: bytes) -> bytes:
    """Handshake record payloads before the first ChangeCipherSpec."""
    out = bytearray()
    for ctype, fragment in _records(data):
        if ctype == 20:
            break
        if ctype == 22:
            out += fragment
    return bytes(out)


def _openssl_flights(
    tmp_path: Path, key_kind: str, ciphers: str, version: ssl.TLSVersion
) -> tuple[bytes, bytes, bytes]:
    """Run an OpenSSL client and server through MemoryBIO; return (ClientHello flight, server first
    flight, client second flight) as raw record bytes."""
    cert, key = _self_signed(tmp_path, key_kind)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    if ciphers.startswith("DHE-"):  # OpenSSL's own copy of the RFC 7919 group
        dh_params = tmp_path / "ffdhe2048.pem"
        subprocess.run(
            [require_binary("openssl"), "genpkey", "-genparam", "-algorithm", "DH",
             "-pkeyopt", "group:ffdhe2048", "-out", str(dh_params)],
            check=True, capture_output=True, timeout=60,
        )
        server_ctx.load_dh_params(str(dh_params))
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    for ctx in (server_ctx, client_ctx):
        ctx.minimum_version = version
        ctx.maximum_version = version
        ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = client_ctx.wrap_bio(bios[0], bios[1], server_hostname="localhost")
    server = server_ctx.wrap_bio(bios[2], bios[3], server_side=True)
    flights: list[bytes] = []
    for step in range(6):
        side, out_bio, in_bio = (client, bios[1], bios[2]) if step % 2 == 0 else (server, bios[3], bios[0])
        with contextlib.suppress(ssl.SSLWantReadError):
            side.do_handshake()
        data = out_bio.read()
        flights.append(data)
        in_bio.write(data)
        if len(flights) == 3:
            break
    return flights[0], flights[1], flights[2]


def _parse_flight(data: bytes, ctx: m.ParseContext) -> list[tuple[m.RawHandshake, m.HandshakeMessage]]:
    reasm = m.HandshakeReassembler()
    reasm.feed(_handshake_plaintext(data))
    out = []
    while (raw := reasm.next_message()) is not None:
        out.append((raw, m.parse_message(raw, ctx)))
    assert reasm.empty
    return out


LIVE_CASES = [
    ("rsa", "ECDHE-RSA-AES128-GCM-SHA256", ssl.TLSVersion.TLSv1_2),
    ("ecdsa", "ECDHE-ECDSA-AES256-GCM-SHA384", ssl.TLSVersion.TLSv1_2),
    ("rsa", "AES128-SHA", ssl.TLSVersion.TLSv1_2),
    ("rsa", "AES128-SHA", ssl.TLSVersion.TLSv1),
    ("rsa", "ECDHE-RSA-AES128-SHA", ssl.TLSVersion.TLSv1_1),
    ("ecdsa", "ECDHE-ECDSA-AES128-SHA", ssl.TLSVersion.TLSv1),
    ("rsa", "DHE-RSA-AES128-GCM-SHA256", ssl.TLSVersion.TLSv1_2),
    ("rsa", "DHE-RSA-AES256-SHA", ssl.TLSVersion.TLSv1),
]


_HASHES: dict[int, type[hashes.HashAlgorithm]] = {2: hashes.SHA1, 4: hashes.SHA256, 5: hashes.SHA384, 6: hashes.SHA512}


def _pyca_verify(public: object, scheme: int, signature: bytes, data: bytes) -> None:
    """Verify a TLS 1.2 signature directly with pyca (independent of tlsstate.crypto.signatures)."""
    if scheme >> 8 == 8:  # rsa_pss_rsae_sha256/384/512 = 0x0804..0x0806
        algorithm = _HASHES[scheme & 0xFF]()
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PSS(padding.MGF1(algorithm), padding.PSS.DIGEST_LENGTH), algorithm)
        return
    algorithm = _HASHES[scheme >> 8]()
    if scheme & 0xFF == 1:
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PKCS1v15(), algorithm)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, data, ec.ECDSA(algorithm))


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize(("key_kind", "ciphers", "version"), LIVE_CASES)
def test_openssl_handshake_messages_parse(tmp_path: Path, key_kind: str, ciphers: str, version: ssl.TLSVersion) -> None:
    try:
        client_hello, server_flight, client_flight = _openssl_flights(tmp_path, key_kind, ciphers, version)
    except ssl.SSLError as exc:  # pragma: no cover - depends on the local OpenSSL policy
        pytest.skip(f"local OpenSSL refuses {version.name} {ciphers}: {exc}")
    ((ch_raw, ch),) = _parse_flight(client_hello, m.ParseContext(0x0303))
    assert isinstance(ch, m.ClientHello)
    assert ch.extensions is not None
    assert m.encode_handshake(ch) == ch_raw.raw
    sh_reasm = m.HandshakeReassembler()
    sh_reasm.feed(_handshake_plaintext(server_flight))
    first = sh_reasm.next_message()
    assert first is not None
    sh = m.ServerHello.parse(first.body)
    assert sh.version == int(version.value) and sh.cipher_suite in ch.cipher_suites
    suite = by_id(sh.cipher_suite)
    assert suite is not None
    ctx = m.ParseContext(sh.version, suite.key_exchange)
    server_msgs = _parse_flight(server_flight, ctx)
    assert [type(msg).__name__ for _r, msg in server_msgs][-1] == "ServerHelloDone"
    for raw, msg in server_msgs:
        assert m.encode_handshake(msg) == raw.raw
    cert_msg = next(msg for _r, msg in server_msgs if isinstance(msg, m.Certificate))
    leaf = x509.load_der_x509_certificate(cert_msg.certificates[0])
    if suite.key_exchange.is_ephemeral:
        ske = next(msg for _r, msg in server_msgs if isinstance(msg, m.ServerKeyExchange))
        if suite.key_exchange == KeyExchange.DHE_RSA:
            assert dh.ffdhe_group_of(ske.dh_p, ske.dh_g) == 256  # ffdhe2048, equal to our RFC 7919 constant
            dh.check_dh_public(int.from_bytes(ske.dh_p, "big"), ske.dh_public)
        else:
            assert ske.named_group is not None
            dh.validate_ec_public(ske.named_group, ske.ec_public)
        # The parsed `params` are exactly the signed bytes: OpenSSL's signature verifies over them.
        signed = ch.random + sh.random + ske.params
        public = leaf.public_key()
        if sh.version == 0x0303:
            assert ske.signature_scheme is not None
            _pyca_verify(public, ske.signature_scheme, ske.signature, signed)
        else:
            assert ske.signature_scheme is None and ske.signature
        # tlsstate.crypto.signatures accepts OpenSSL's signature (TLS 1.1: RSA over MD5||SHA-1, no DigestInfo)...
        assert isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        signatures.verify(public, signed, ske.signature, sh.version, ske.signature_scheme)
        # ...and refuses it over other bytes.
        with pytest.raises(DecryptError):
            signatures.verify(public, signed[::-1], ske.signature, sh.version, ske.signature_scheme)
    client_msgs = _parse_flight(client_flight, ctx)
    assert [type(msg).__name__ for _r, msg in client_msgs] == ["ClientKeyExchange"]
    cke_raw, cke = client_msgs[0]
    assert isinstance(cke, m.ClientKeyExchange)
    assert m.encode_handshake(cke, version=sh.version) == cke_raw.raw
    if suite.key_exchange == KeyExchange.RSA:
        assert len(cke.encrypted_premaster) == 256
    elif suite.key_exchange == KeyExchange.DHE_RSA:
        dh.check_dh_public(dh.FFDHE_PRIMES[256], cke.dh_public)
    else:
        assert ske.named_group is not None
        dh.validate_ec_public(ske.named_group, cke.ec_public)


# ----------------------------------------------------------------------------------------------
# Hypothesis: serialize∘parse = id, no strict prefix parses
# ----------------------------------------------------------------------------------------------

u16 = st.integers(0, 0xFFFF)
opaque = st.binary(max_size=40)
nonempty = st.binary(min_size=1, max_size=40)


@st.composite
def extension_lists(draw: st.DrawFn) -> tuple[m.Extension, ...] | None:
    if draw(st.booleans()):
        return None
    types = draw(st.lists(u16, unique=True, max_size=6))
    return tuple(m.Extension(t, draw(opaque)) for t in types)


client_hellos = st.builds(
    m.ClientHello,
    version=u16,
    random=st.binary(min_size=32, max_size=32),
    session_id=st.binary(max_size=32),
    cipher_suites=st.lists(u16, min_size=1, max_size=20).map(tuple),
    compression_methods=st.binary(max_size=5).map(lambda b: b + b"\x00"),
    extensions=extension_lists(),
)
server_hellos = st.builds(
    m.ServerHello,
    version=u16,
    random=st.binary(min_size=32, max_size=32),
    session_id=st.binary(max_size=32),
    cipher_suite=u16,
    compression_method=st.integers(0, 255),
    extensions=extension_lists(),
)
certificates = st.builds(m.Certificate, certificates=st.lists(nonempty, max_size=4).map(tuple))
versions = st.sampled_from([0x0300, 0x0301, 0x0302, 0x0303])


@st.composite
def server_key_exchanges(draw: st.DrawFn) -> tuple[m.ServerKeyExchange, int, KeyExchange]:
    # every key exchange whose ServerKeyExchange carries (EC)DH params or a PSK hint (RSA_EXPORT: see below)
    kx = draw(st.sampled_from([k for k in KeyExchange if k.server_params is not None or k.uses_psk]))
    version = draw(versions)
    signed = kx.signed
    msg = m.ServerKeyExchange.build(
        kx,
        psk_identity_hint=draw(opaque) if kx.uses_psk else None,
        dh_p=draw(nonempty), dh_g=draw(nonempty), dh_public=draw(nonempty),
        named_group=draw(u16), ec_public=draw(nonempty),
        signature_scheme=draw(u16) if signed and version == 0x0303 else None,
        signature=draw(nonempty) if signed else b"",
    )
    if kx.server_params == "dh":
        msg = replace(msg, named_group=None, ec_public=b"")
    elif kx.server_params == "ecdh":
        msg = replace(msg, dh_p=b"", dh_g=b"", dh_public=b"")
    else:
        msg = replace(msg, named_group=None, ec_public=b"", dh_p=b"", dh_g=b"", dh_public=b"")
    return msg, version, kx


@st.composite
def client_key_exchanges(draw: st.DrawFn) -> tuple[m.ClientKeyExchange, int, KeyExchange]:
    kx = draw(st.sampled_from([k for k in KeyExchange if k != KeyExchange.TLS13]))
    version = draw(versions)
    identity = draw(opaque) if kx.uses_psk else None
    if kx.client_public == "rsa":
        msg = m.ClientKeyExchange(encrypted_premaster=draw(nonempty), psk_identity=identity)
    elif kx.client_public == "dh":
        msg = m.ClientKeyExchange(dh_public=draw(nonempty), psk_identity=identity)
    elif kx.uses_srp:
        msg = m.ClientKeyExchange(srp_public=draw(nonempty))
    elif kx == KeyExchange.PSK:
        msg = m.ClientKeyExchange(psk_identity=identity)
    else:
        msg = m.ClientKeyExchange(ec_public=draw(nonempty), psk_identity=identity)
    return msg, version, kx


@st.composite
def certificate_requests(draw: st.DrawFn) -> tuple[m.CertificateRequest, int]:
    version = draw(versions)
    schemes = tuple(draw(st.lists(u16, min_size=1, max_size=8))) if version == 0x0303 else ()
    msg = m.CertificateRequest(draw(nonempty), schemes, tuple(draw(st.lists(nonempty, max_size=3))))
    return msg, version


@st.composite
def certificate_verifies(draw: st.DrawFn) -> tuple[m.CertificateVerify, int]:
    version = draw(versions)
    return m.CertificateVerify(draw(nonempty), draw(u16) if version == 0x0303 else None), version


@st.composite
def finisheds(draw: st.DrawFn) -> tuple[m.Finished, int]:
    version = draw(versions)
    length = 36 if version == 0x0300 else 12
    return m.Finished(draw(st.binary(min_size=length, max_size=length))), version


Case = tuple[m.HandshakeMessage, m.ParseContext]


def _cases() -> st.SearchStrategy[Case]:
    def ctx(version: int = 0x0303, kx: KeyExchange | None = None) -> m.ParseContext:
        return m.ParseContext(version, kx)

    return st.one_of(
        client_hellos.map(lambda msg: (msg, ctx())),
        server_hellos.map(lambda msg: (msg, ctx())),
        certificates.map(lambda msg: (msg, ctx())),
        server_key_exchanges().map(lambda t: (t[0], ctx(t[1], t[2]))),
        certificate_requests().map(lambda t: (t[0], ctx(t[1]))),
        st.just((m.ServerHelloDone(), ctx())),
        client_key_exchanges().map(lambda t: (t[0], ctx(t[1], t[2]))),
        certificate_verifies().map(lambda t: (t[0], ctx(t[1]))),
        finisheds().map(lambda t: (t[0], ctx(t[1]))),
        st.builds(m.NewSessionTicket, st.integers(0, 2**32 - 1), opaque).map(lambda msg: (msg, ctx())),
        st.just((m.HelloRequest(), ctx())),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_parse_inverts_serialize(case: Case) -> None:
    msg, ctx = case
    wire = m.encode_handshake(msg, version=ctx.version)
    raw = m.RawHandshake(wire[0], wire[4:], wire)
    assert m.parse_message(raw, ctx) == msg
    assert len(wire) - 4 == int.from_bytes(wire[1:4], "big")


@settings(max_examples=250, deadline=None)
@given(_cases(), st.data())
def test_no_strict_prefix_parses(case: Case, data: st.DataObject) -> None:
    msg, ctx = case
    body = m.encode_handshake(msg, version=ctx.version)[4:]
    if not body:
        return
    # An SSL 3.0 RSA ClientKeyExchange is the bare ciphertext: any non-empty prefix is "well formed".
    if isinstance(msg, m.ClientKeyExchange) and ctx.version == 0x0300 and ctx.key_exchange in (
        KeyExchange.RSA, KeyExchange.RSA_EXPORT,
    ):
        return
    cut = data.draw(st.integers(0, len(body) - 1))
    prefix = m.RawHandshake(msg.msg_type, body[:cut], b"")
    static_dh = (KeyExchange.DH_DSS, KeyExchange.DH_RSA, KeyExchange.ECDH_ECDSA, KeyExchange.ECDH_RSA)
    if isinstance(msg, m.ClientKeyExchange) and ctx.key_exchange in static_dh and cut == 0:
        # RFC 5246 §7.4.7.2, RFC 4492 §5.7: an empty body is the implicit encoding, a different, valid message
        assert m.parse_message(prefix, ctx) == m.ClientKeyExchange()
        return
    if isinstance(msg, m.ClientHello | m.ServerHello) and msg.extensions is not None:
        boundary = len(replace(msg, extensions=None).serialize())
        if cut == boundary:  # the extensions block is optional (RFC 5246 §7.4.1.2): a different, valid hello
            assert m.parse_message(prefix, ctx) == replace(msg, extensions=None)
            return
    with pytest.raises((DecodeError, IllegalParameter)):
        m.parse_message(prefix, ctx)


@settings(max_examples=150, deadline=None)
@given(_cases(), st.binary(min_size=1, max_size=3))
def test_trailing_bytes_rejected(case: Case, extra: bytes) -> None:
    msg, ctx = case
    body = m.encode_handshake(msg, version=ctx.version)[4:]
    if isinstance(msg, m.ClientKeyExchange) and ctx.version == 0x0300 and ctx.key_exchange in (
        KeyExchange.RSA, KeyExchange.RSA_EXPORT,
    ):
        return
    if isinstance(msg, m.ClientHello | m.ServerHello) and msg.extensions is None:
        return  # bytes after the compression method are an extensions block, covered below
    with pytest.raises(DecodeError):
        m.parse_message(m.RawHandshake(msg.msg_type, body + extra, b""), ctx)


def test_rsa_export_server_key_exchange_and_implicit_static_dh() -> None:
    """RFC 2246 §7.4.3 ServerRSAParams (modulus, exponent) then the signature; RFC 4492 §5.7 / RFC 5246 §7.4.7.2:
    a static (EC)DH ClientKeyExchange is empty when the client certificate holds the key."""
    params = b"\x00\x02\xc3\x55" + b"\x00\x01\x03"
    body = params + b"\x00\x03sig"
    ske = m.ServerKeyExchange.parse(body, 0x0301, KeyExchange.RSA_EXPORT)
    assert ske.params == params and ske.signature == b"sig"
    for kx in (KeyExchange.ECDH_RSA, KeyExchange.DH_DSS):
        cke = m.ClientKeyExchange.parse(b"", 0x0303, kx)
        assert cke.ec_public == cke.dh_public == b""
    assert m.ClientKeyExchange.parse(b"\x01\x04", 0x0303, KeyExchange.ECDH_ECDSA).ec_public == b"\x04"
    with pytest.raises(UnexpectedMessage):
        m.ServerKeyExchange.parse(body, 0x0303, KeyExchange.ECDH_ECDSA)
    with pytest.raises(DecodeError):
        m.ClientKeyExchange.parse(b"", 0x0303, KeyExchange.DHE_DSS)  # ephemeral: the public value is required


# ----------------------------------------------------------------------------------------------
# Strictness
# ----------------------------------------------------------------------------------------------

RANDOM = bytes(range(32))


def _ch_body(
    *, session_id: bytes = b"", suites: bytes = b"\x00\x02\x00\x2f", compression: bytes = b"\x01\x00", tail: bytes = b""
) -> bytes:
    return b"\x03\x03" + RANDOM + bytes([len(session_id)]) + session_id + suites + compression + tail


def test_client_hello_without_extensions_block_is_none() -> None:
    ch = m.ClientHello.parse(_ch_body())
    assert ch.extensions is None and ch.cipher_suites == (0x2F,)
    assert m.ClientHello.parse(_ch_body(tail=b"\x00\x00")).extensions == ()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_ch_body(suites=b"\x00\x00"), DecodeError),  # empty cipher suite list
        (_ch_body(suites=b"\x00\x03\x00\x2f\x00"), DecodeError),  # odd length
        (_ch_body(compression=b"\x00"), DecodeError),  # no compression method at all
        (_ch_body(compression=b"\x01\x01"), IllegalParameter),  # null compression missing
        (_ch_body(session_id=bytes(33)), DecodeError),  # session_id > 32
        (_ch_body(tail=b"\x00"), DecodeError),  # half an extensions length
        (_ch_body(tail=b"\x00\x04\x00\x17\x00\x00\x00"), DecodeError),  # trailing byte after the block
        (_ch_body(tail=b"\x00\x05\x00\x17\x00\x00"), DecodeError),  # block shorter than declared
        (_ch_body(tail=b"\x00\x08\x00\x17\x00\x00\x00\x17\x00\x00"), IllegalParameter),  # duplicate EMS
        (b"\x03\x03" + RANDOM[:31], DecodeError),  # random truncated
    ],
)
def test_client_hello_rejects(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        m.ClientHello.parse(body)
    assert info.value.alert.label in ("decode_error", "illegal_parameter")  # type: ignore[attr-defined]


def test_duplicate_extension_in_server_hello_is_illegal_parameter() -> None:
    ext = b"\xff\x01\x00\x01\x00"
    body = b"\x03\x03" + RANDOM + b"\x00\x00\x2f\x00" + len(ext * 2).to_bytes(2, "big") + ext * 2
    with pytest.raises(IllegalParameter) as info:
        m.ServerHello.parse(body)
    assert info.value.alert.label == "illegal_parameter"


def test_serialize_refuses_bad_fields() -> None:
    with pytest.raises(ValueError):
        m.ClientHello(0x0303, bytes(31), b"", (0x2F,)).serialize()
    with pytest.raises(ValueError):
        m.ServerHello(0x0303, RANDOM, bytes(33), 0x2F).serialize()
    with pytest.raises(ValueError):
        m.ClientHello(0x0303, RANDOM, b"", ()).serialize()


def test_ssl3_vs_tls_rsa_client_key_exchange() -> None:
    ciphertext = bytes(range(1, 129))
    ssl3 = m.ClientKeyExchange.parse(ciphertext, 0x0300, KeyExchange.RSA)
    assert ssl3.encrypted_premaster == ciphertext
    assert m.encode_handshake(ssl3, version=0x0300)[4:] == ciphertext
    tls = m.ClientKeyExchange.parse(b"\x00\x80" + ciphertext, 0x0301, KeyExchange.RSA)
    assert tls.encrypted_premaster == ciphertext
    assert tls.serialize(0x0301) == b"\x00\x80" + ciphertext
    with pytest.raises(DecodeError):
        m.ClientKeyExchange.parse(ciphertext, 0x0301, KeyExchange.RSA)
    with pytest.raises(DecodeError):
        m.ClientKeyExchange.parse(b"", 0x0300, KeyExchange.RSA)


def test_server_key_exchange_forms() -> None:
    params = b"\x03\x00\x1d\x04" + bytes(range(4))
    tls12 = m.ServerKeyExchange.parse(params + b"\x04\x01\x00\x02\xaa\xbb", 0x0303, KeyExchange.ECDHE_RSA)
    assert tls12.params == params and tls12.named_group == 29 and tls12.ec_public == bytes(range(4))
    assert tls12.signature_scheme == 0x0401 and tls12.signature == b"\xaa\xbb"
    tls10 = m.ServerKeyExchange.parse(params + b"\x00\x02\xaa\xbb", 0x0301, KeyExchange.ECDHE_ECDSA)
    assert tls10.signature_scheme is None and tls10.signature == b"\xaa\xbb"
    with pytest.raises(IllegalParameter):  # explicit_prime curve (1) is not named_curve (3)
        m.ServerKeyExchange.parse(b"\x01" + params[1:] + b"\x00\x02\xaa\xbb", 0x0301, KeyExchange.ECDHE_RSA)
    with pytest.raises(UnexpectedMessage):
        m.ServerKeyExchange.parse(b"", 0x0303, KeyExchange.RSA)
    psk = m.ServerKeyExchange.parse(b"\x00\x04hint", 0x0303, KeyExchange.PSK)
    assert psk.psk_identity_hint == b"hint" and psk.params == b"\x00\x04hint" and psk.signature == b""
    dhe_psk = m.ServerKeyExchange.parse(b"\x00\x00\x00\x01\x17\x00\x01\x02\x00\x01\x05", 0x0303, KeyExchange.DHE_PSK)
    assert (dhe_psk.psk_identity_hint, dhe_psk.dh_p, dhe_psk.dh_g, dhe_psk.dh_public) == (b"", b"\x17", b"\x02", b"\x05")
    with pytest.raises(DecodeError):  # empty DH prime
        m.ServerKeyExchange.parse(b"\x00\x00\x00\x01\x02\x00\x01\x05\x00\x02\xaa\xbb", 0x0301, KeyExchange.DHE_RSA)


def test_certificate_request_versions() -> None:
    tls12 = b"\x02\x01\x40\x00\x04\x04\x01\x04\x03\x00\x05\x00\x03abc"
    req = m.CertificateRequest.parse(tls12, 0x0303)
    assert req == m.CertificateRequest(b"\x01\x40", (0x0401, 0x0403), (b"abc",))
    assert req.serialize() == tls12
    tls10 = b"\x01\x01\x00\x00"
    assert m.CertificateRequest.parse(tls10, 0x0301) == m.CertificateRequest(b"\x01")
    with pytest.raises(DecodeError):
        m.CertificateRequest.parse(tls10, 0x0303)
    with pytest.raises(DecodeError):  # empty supported_signature_algorithms
        m.CertificateRequest.parse(b"\x01\x01\x00\x00\x00\x00", 0x0303)


def test_finished_lengths() -> None:
    assert m.Finished.parse(bytes(12), 0x0303).verify_data == bytes(12)
    assert m.Finished.parse(bytes(36), 0x0300).verify_data == bytes(36)
    for version, length in ((0x0303, 36), (0x0300, 12), (0x0301, 11)):
        with pytest.raises(DecodeError):
            m.Finished.parse(bytes(length), version)


def test_empty_messages_must_be_empty() -> None:
    for t in (HandshakeType.SERVER_HELLO_DONE, HandshakeType.HELLO_REQUEST):
        with pytest.raises(DecodeError):
            m.parse_message(m.RawHandshake(t, b"\x00", b""), m.ParseContext(0x0303))


def test_unknown_and_out_of_context_messages() -> None:
    with pytest.raises(UnexpectedMessage):
        m.parse_message(m.RawHandshake(99, b"", b""), m.ParseContext(0x0303))
    with pytest.raises(UnexpectedMessage):
        m.parse_message(m.RawHandshake(HandshakeType.SERVER_KEY_EXCHANGE, b"", b""), m.ParseContext(0x0303))


def test_certificate_list() -> None:
    body = b"\x00\x00\x0a\x00\x00\x02ab\x00\x00\x02cd"
    assert m.Certificate.parse(body).certificates == (b"ab", b"cd")
    assert m.Certificate.parse(b"\x00\x00\x00").certificates == ()
    with pytest.raises(DecodeError):  # empty ASN.1Cert
        m.Certificate.parse(b"\x00\x00\x03\x00\x00\x00")
    with pytest.raises(DecodeError):
        m.Certificate.parse(b"\x00\x00\x0a\x00\x00\x02ab\x00\x00\x03cd")


# ----------------------------------------------------------------------------------------------
# SSLv2-format ClientHello
# ----------------------------------------------------------------------------------------------


def _v2_hello(version: bytes = b"\x03\x01", challenge: bytes = bytes(range(16)), specs: bytes | None = None) -> bytes:
    specs = specs if specs is not None else b"\x01\x00\x80\x00\x00\x2f\x00\x00\xff"
    msg = b"\x01" + version + len(specs).to_bytes(2, "big") + b"\x00\x00" + len(challenge).to_bytes(2, "big")
    msg += specs + challenge
    return bytes([0x80 | len(msg) >> 8, len(msg) & 0xFF]) + msg


def test_sslv2_client_hello() -> None:
    record = _v2_hello()
    assert m.is_sslv2_client_hello(record)
    assert m.sslv2_record_length(record) == len(record)
    ch = m.parse_sslv2_client_hello(record)
    assert ch.version == 0x0301
    assert ch.cipher_suites == (0x002F, 0x00FF)  # the SSLv2-only spec 0x010080 is dropped
    assert ch.random == bytes(16) + bytes(range(16))
    assert ch.extensions is None and ch.compression_methods == b"\x00"
    full = m.parse_sslv2_client_hello(_v2_hello(challenge=bytes(range(32))))
    assert full.random == bytes(range(32))
    long = m.parse_sslv2_client_hello(_v2_hello(challenge=bytes(range(40))))  # E.2: only the last 32 bytes are used
    assert long.random == bytes(range(8, 40))
    assert m.parse_sslv2_client_hello(_v2_hello(specs=b"\x01\x00\x80")).cipher_suites == ()  # no TLS suite left


@pytest.mark.parametrize(
    ("record", "error"),
    [
        (_v2_hello(version=b"\x00\x02"), ProtocolVersionError),
        (_v2_hello(challenge=bytes(15)), DecodeError),
        (_v2_hello(specs=b"\x00\x00\x2f\x00"), DecodeError),
        (_v2_hello(specs=b""), DecodeError),
        (_v2_hello() + b"\x00", DecodeError),
        (b"\x16\x03\x01\x00\x00", DecodeError),
    ],
)
def test_sslv2_client_hello_rejects(record: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        m.parse_sslv2_client_hello(record)


# ----------------------------------------------------------------------------------------------
# Reassembler
# ----------------------------------------------------------------------------------------------

SAMPLE_MESSAGES: list[m.HandshakeMessage] = [
    m.HelloRequest(),
    m.ClientHello(0x0303, RANDOM, b"", (0x2F, 0xC02F), b"\x00", (m.Extension(ExtensionType.EXTENDED_MASTER_SECRET, b""),)),
    m.Certificate((bytes(3000), bytes(70000 - 10))),
    m.ServerHelloDone(),
    m.Finished(bytes(range(12))),
]


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_reassembler_any_chunking(data: st.DataObject) -> None:
    stream = b"".join(m.encode_handshake(msg) for msg in SAMPLE_MESSAGES)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    reasm = m.HandshakeReassembler(max_message_length=80000)
    got: list[m.RawHandshake] = []
    previous = 0
    for cut in [*cuts, len(stream)]:
        reasm.feed(stream[previous:cut])
        previous = cut
        while (raw := reasm.next_message()) is not None:
            got.append(raw)
    assert reasm.empty
    assert [raw.raw for raw in got] == [m.encode_handshake(msg) for msg in SAMPLE_MESSAGES]
    ctx = m.ParseContext(0x0303)
    assert [m.parse_message(raw, ctx) for raw in got] == SAMPLE_MESSAGES


def test_reassembler_empty_tracks_partial_messages() -> None:
    reasm = m.HandshakeReassembler()
    assert reasm.empty
    reasm.feed(b"\x0e\x00")
    assert not reasm.empty and reasm.next_message() is None
    reasm.feed(b"\x00\x00\x14\x00\x00\x0c")
    assert not reasm.empty
    raw = reasm.next_message()
    assert raw == m.RawHandshake(14, b"", b"\x0e\x00\x00\x00")
    reasm.feed(bytes(12))
    assert reasm.empty
    assert reasm.next_message() == m.RawHandshake(20, bytes(12), b"\x14\x00\x00\x0c" + bytes(12))


def test_reassembler_refuses_oversize_on_header_alone() -> None:
    reasm = m.HandshakeReassembler()
    reasm.feed(b"\x0b\x01")  # half a header: nothing known yet
    with pytest.raises(DecodeError, match="65537 bytes exceeds the 65536-byte limit") as info:
        reasm.feed(b"\x00\x01")  # declared 0x010001 = 65537 bytes; no body sent
    assert info.value.alert.label == "decode_error"
    assert reasm.empty  # nothing kept
    with pytest.raises(DecodeError):  # sticky
        reasm.feed(b"")
    with pytest.raises(DecodeError):
        reasm.next_message()
    exact = m.HandshakeReassembler(max_message_length=16)
    exact.feed(b"\x14\x00\x00\x10" + bytes(16))
    assert exact.next_message() is not None
    small = m.HandshakeReassembler(max_message_length=16)
    with pytest.raises(DecodeError):
        small.feed(b"\x14\x00\x00\x11")


def test_reassembler_server_limits_let_a_maximal_client_hello_in() -> None:
    """A server takes a ClientHello as long as its length fields allow (RFC 5246 §7.4.1.2: 131,396 bytes), and no
    longer; every other message, and every message at a client, keeps the configured cap."""
    assert m.MAX_CLIENT_HELLO_LENGTH == 131396
    server = m.HandshakeReassembler(limits=m.SERVER_LIMITS)
    server.feed(b"\x01" + (131396).to_bytes(3, "big") + bytes(131396))
    raw = server.next_message()
    assert raw is not None and len(raw.body) == 131396
    for header in (b"\x01" + (131397).to_bytes(3, "big"), b"\x0b\x01\x00\x01", b"\x10\x01\x00\x01"):
        refused = m.HandshakeReassembler(limits=m.SERVER_LIMITS)
        with pytest.raises(DecodeError, match="exceeds the"):
            refused.feed(header)
    client = m.HandshakeReassembler()
    with pytest.raises(DecodeError, match="65537 bytes exceeds the 65536-byte limit"):
        client.feed(b"\x01\x01\x00\x01")
    larger_cap = m.HandshakeReassembler(max_message_length=200000, limits=m.SERVER_LIMITS)
    larger_cap.feed(b"\x0b" + (150000).to_bytes(3, "big"))  # a configured cap above it still applies to all


def test_reassembler_does_not_buffer_huge_declared_body() -> None:
    """A 16 MiB declared length with the first body bytes in the same fragment is refused at once."""
    reasm = m.HandshakeReassembler()
    with pytest.raises(DecodeError):
        reasm.feed(b"\x01\xff\xff\xff" + bytes(1000))
    assert reasm.empty

