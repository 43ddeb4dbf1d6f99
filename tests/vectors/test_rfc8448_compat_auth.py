"""RFC 8448 §5 "Client Authentication", §8 "Compatibility Mode" and an external PSK, byte for byte, live.

Botan's transcripts of RFC 8448 (``../shared/vectors/botan/tls_13_rfc8448/transcripts.vec``, SOURCES.md §1c/§2),
replayed as in ``test_rfc8448_handshake.py``: the trace's random inputs (``*_RNG_Pool`` = random || X25519 private
key) are fed to our code, the trace's signatures are fed in after checking that what we sign is the trace's
``*_MessageToSign`` and that the trace's signature verifies over it (RSA-PSS and ECDSA signatures are randomized).

- Compatibility Mode (RFC 9846 Appendix D.4), both roles: the client sends a 32-byte legacy_session_id; our server
  echoes it and writes a ChangeCipherSpec record before its encrypted flight (the trace's
  ``Record_ServerHandshakeMessages`` starts with it); our client writes a ChangeCipherSpec before its Finished.
- Client Authentication (RFC 9846 §4.3.2, §4.4.2, §4.4.3), our client: asked by the trace's CertificateRequest, it
  answers with the trace's Certificate, CertificateVerify and Finished record. (The server role is not byte for byte:
  the trace's server lists TLS 1.2-only schemes such as DSA in its CertificateRequest, which ours never sends.)
- External PSK with an ephemeral key (RFC 9846 §4.2.11, psk_dhe_ke), our client: the trace's binder, Finished and
  application data records.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cryptography import x509

from tests.helpers.env import VECTORS
from tests.helpers.vectorfiles import botan_sections
from tests.vectors.test_rfc8448_handshake import SUITES, TRACE_GROUPS, _drain, _trace_offer, _x25519_pair
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto import certs, key_share, signatures13
from tlsstate.crypto.key_share import ClientShare
from tlsstate.events import ApplicationData, ConnectionClosed, HandshakeComplete
from tlsstate.handshake.tls13 import common as tls13_common
from tlsstate.handshake.tls13 import offer as tls13_offer
from tlsstate.handshake.tls13 import psk as tls13_psk
from tlsstate.wire.constants import NamedGroup, ProtocolVersion
from tlsstate.wire.messages import ClientHello
from tlsstate.wire.messages13 import Certificate13

pytestmark = pytest.mark.vectors

FOLDER = VECTORS / "botan" / "tls_13_rfc8448"


def _section(name: str) -> dict[str, bytes]:
    if not (FOLDER / "transcripts.vec").exists():
        pytest.skip("RFC 8448 transcripts not available")
    section = botan_sections(FOLDER / "transcripts.vec")[name]
    return {key: bytes.fromhex(value.replace(" ", "")) for key, value in section.items() if key != "CurrentTimestamp"}


def _certificates(message: bytes) -> list[x509.Certificate]:
    """The chain as a trace's Certificate message carries it (the PEM copies may carry trailing bytes)."""
    return [x509.load_der_x509_certificate(der) for der in Certificate13.parse(message[4:]).certificates]


def _feed_signature(monkeypatch: pytest.MonkeyPatch, chain: list[x509.Certificate], to_sign: bytes,
                    signature: bytes) -> None:
    """Our signer returns the trace's signature, after checking our content is the trace's and its signature verifies."""

    def trace_signature(private_key: Any, scheme: int, transcript_hash: bytes, *, by_server: bool) -> bytes:
        assert signatures13.signed_content(transcript_hash, by_server=by_server) == to_sign
        signatures13.verify(chain[0].public_key(), scheme, [scheme], transcript_hash, signature, by_server=by_server)
        return signature

    monkeypatch.setattr(signatures13, "sign", trace_signature)


def _trace_client(monkeypatch: pytest.MonkeyPatch, trace: dict[str, bytes], **config: Any) -> Connection:
    """Our client, sending the trace's ClientHello (our builder orders extensions differently)."""
    pool = trace["Client_RNG_Pool"]
    hello = ClientHello.parse(trace["Record_ClientHello_1"][9:])
    assert hello.random == pool[:32]
    share = ClientShare(NamedGroup.X25519, _x25519_pair(pool[-32:]))
    monkeypatch.setattr(tls13_offer, "client_hello", lambda *args: (hello, _trace_offer(hello, share)))
    # the trace's certificates expired in 2026; the path is not what these tests check
    client = Connection(TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, verify=False,
                                  server_name="server", **config), server_side=False)
    client.start_handshake()
    assert client.bytes_to_send() == trace["Record_ClientHello_1"]
    return client


def test_rfc8448_compatibility_mode_server(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = _section("Middlebox_Compatibility_Mode")
    pool = trace["Server_RNG_Pool"]
    monkeypatch.setattr(tls13_common, "random_bytes", lambda n: pool[:32] if n == 32 else pytest.fail(f"{n} bytes"))
    monkeypatch.setattr(key_share, "generate_ecdhe", lambda group: _x25519_pair(pool[32:64]))
    chain = _certificates(trace["Message_Server_Certificate"])
    _feed_signature(monkeypatch, chain, trace["Server_MessageToSign"], trace["Server_MessageSignature"])
    config = TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, groups=TRACE_GROUPS,
                       certificate_chain=chain, private_key=certs.load_private_key(FOLDER / "server_key.pem"))
    server = Connection(config, server_side=True)
    server.receive_bytes(trace["Record_ClientHello_1"])
    assert _drain(server) == []
    sent = server.bytes_to_send()
    assert sent[:5] == trace["Record_ServerHello"][:5]
    assert sent == trace["Record_ServerHello"] + trace["Record_ServerHandshakeMessages"]
    assert trace["Record_ServerHandshakeMessages"].startswith(bytes.fromhex("140303000101"))  # the dummy CCS

    server.receive_bytes(trace["Record_ClientFinished"] + trace["Record_Client_CloseNotify"])  # CCS + Finished
    events = _drain(server)
    assert isinstance(events[0], HandshakeComplete) and events[1] == ConnectionClosed(clean=True)
    assert server.bytes_to_send() == trace["Record_Server_CloseNotify"]


def test_rfc8448_compatibility_mode_client(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = _section("Middlebox_Compatibility_Mode")
    client = _trace_client(monkeypatch, trace)
    client.receive_bytes(trace["Record_ServerHello"] + trace["Record_ServerHandshakeMessages"])
    events = _drain(client)
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    assert client.bytes_to_send() == trace["Record_ClientFinished"]  # starts with the client's dummy CCS
    client.receive_bytes(trace["Record_Server_CloseNotify"])
    assert _drain(client) == [ConnectionClosed(clean=True)]
    assert client.bytes_to_send() == trace["Record_Client_CloseNotify"]


def _stand_in_key(certificate: x509.Certificate) -> Any:
    """The trace's client and ECDSA server keys are not published with it: a key of the same type stands in (the
    signature is the trace's, fed through ``_feed_signature``, which verifies it with the certificate's public key)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    public = certificate.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return rsa.generate_private_key(65537, public.key_size)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return ec.generate_private_key(public.curve)


def test_rfc8448_client_authentication_client(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = _section("Client_Authentication_Handshake")
    chain = [x509.load_pem_x509_certificate((FOLDER / "client_certificate.pem").read_bytes())]
    _feed_signature(monkeypatch, chain, trace["Client_MessageToSign"], trace["Client_MessageSignature"])
    client = _trace_client(monkeypatch, trace, client_certificate_chain=chain,
                           client_private_key=_stand_in_key(chain[0]))
    client.receive_bytes(trace["Record_ServerHello"] + trace["Record_ServerHandshakeMessages"])
    events = _drain(client)
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    # Certificate + CertificateVerify + Finished, protected under the client handshake traffic secret
    assert client.bytes_to_send() == trace["Record_ClientFinished"]
    client.receive_bytes(trace["Record_Server_CloseNotify"])
    assert _drain(client) == [ConnectionClosed(clean=True)]
    assert client.bytes_to_send() == trace["Record_Client_CloseNotify"]


def _psk_trace() -> tuple[dict[str, bytes], tuple[bytes, bytes]]:
    section = botan_sections(FOLDER / "transcripts.vec")["Externally_Provided_PSK_with_Ephemeral_Key"] if (
        FOLDER / "transcripts.vec").exists() else pytest.skip("RFC 8448 transcripts not available")
    assert section["PskPRF"] == "SHA-256"
    trace = {key: bytes.fromhex(value.replace(" ", "")) for key, value in section.items()
             if key not in ("CurrentTimestamp", "PskIdentity", "PskPRF")}
    return trace, (section["PskIdentity"].encode(), trace.pop("PskSecret"))


def test_external_psk_with_ephemeral_key_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Botan's external-PSK trace (RFC 9846 §4.2.11, psk_dhe_ke), our client: the binder our PSK code computes over
    the trace's ClientHello is the trace's; fed the trace's ServerHello (pre_shared_key 0, X25519) and
    EncryptedExtensions + Finished (no Certificate), our client writes the trace's Finished, application data and
    close_notify records and opens the server's.

    (Our server's ServerHello lists its extensions in RFC 8448's order — key_share first — where Botan's PSK trace
    has supported_versions first, so the server role cannot be byte for byte here; it is checked against OpenSSL's
    `-psk` in tests/interop.)"""
    import hashlib

    trace, (identity, key) = _psk_trace()
    record = trace["Record_ClientHello_1"]
    hello = ClientHello.parse(record[9:])
    # The binder covers the ClientHello up to the binders list (RFC 9846 §4.2.11.2): 2 + 1 + 32 bytes at the end.
    message = record[5:]
    truncated_hash = hashlib.sha256(message[:-(2 + 1 + 32)]).digest()
    assert tls13_psk.binder("sha256", key, truncated_hash, external=True) == message[-32:]

    pool = trace["Client_RNG_Pool"]
    share = ClientShare(NamedGroup.X25519, _x25519_pair(pool[32:64]))
    suite = SUITES[0]
    offer = _trace_offer(hello, share)
    offer = dataclasses.replace(offer, psk=tls13_psk.PskOffer(tls13_psk.external_session(identity, key, suite), suite,
                                                              external=True))
    monkeypatch.setattr(tls13_offer, "client_hello", lambda *args: (hello, offer))
    client = Connection(TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, external_psk=(identity, key),
                                  server_name="server"), server_side=False)
    client.start_handshake()
    assert client.bytes_to_send() == record
    client.receive_bytes(trace["Record_ServerHello"] + trace["Record_ServerHandshakeMessages"])
    events = _drain(client)
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    assert events[0].resumed and events[0].key_exchange_group == NamedGroup.X25519 and events[0].peer_certificates == ()
    assert client.bytes_to_send() == trace["Record_ClientFinished"]
    client.send_data(trace["Client_AppData"])
    assert client.bytes_to_send() == trace["Record_Client_AppData"]
    client.receive_bytes(trace["Record_Server_AppData"] + trace["Record_Server_CloseNotify"])
    assert _drain(client) == [ApplicationData(trace["Server_AppData"]), ConnectionClosed(clean=True)]
    assert client.bytes_to_send() == trace["Record_Client_CloseNotify"]
