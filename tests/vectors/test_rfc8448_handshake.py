"""RFC 8448 §3 "Simple 1-RTT Handshake", byte for byte, through our live TLS 1.3 handshakes (both roles).

The trace is Botan's transcript of RFC 8448 (``../shared/vectors/botan/tls_13_rfc8448/transcripts.vec``, SOURCES.md
§1c/§2): every record as bytes, plus the random inputs (``Client_RNG_Pool`` = client random || client X25519
private key, ``Server_RNG_Pool`` = server random || server X25519 private key) and the server's RSA key
(``server_key.pem``). The only other random input is the RSA-PSS salt of the server's CertificateVerify: the
trace's signature is fed in after checking that what our server signs is the trace's ``Server_MessageToSign`` and
that the trace's signature verifies over it with the certificate's key.

Server: fed the trace's ClientHello record, our server writes the trace's ServerHello record and the trace's
encrypted record of EncryptedExtensions, Certificate, CertificateVerify and Finished; it accepts the trace's client
Finished, opens the client's application data and close_notify, and its server application traffic secret opens
the trace's server application data record (at sequence number 1: in the trace a NewSessionTicket, which our server
does not send yet, went first).

Client: our ClientHello builder puts its extensions in another order than the trace's client, so the trace's
ClientHello (with the trace's random and X25519 key behind its share) is what our client sends; from there on our
client takes the trace's server records and writes the trace's Finished record, opens the NewSessionTicket and the
server's application data, and writes the trace's application data and close_notify records.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from tests.helpers.env import VECTORS
from tests.helpers.vectorfiles import botan_sections
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto import certs, dh, key_share, signatures13
from tlsstate.crypto.key_share import ClientShare
from tlsstate.crypto.suites import by_name
from tlsstate.events import ApplicationData, ConnectionClosed, HandshakeComplete
from tlsstate.handshake.tls13 import common as tls13_common
from tlsstate.handshake.tls13 import offer as tls13_offer
from tlsstate.handshake.tls13 import server as tls13_server
from tlsstate.handshake.tls13.offer import ClientOffer13
from tlsstate.record.keying import traffic_protection
from tlsstate.record.protection import Tls13InnerPlaintext
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ContentType, ExtensionType, NamedGroup, ProtocolVersion
from tlsstate.wire.messages import ClientHello
from tlsstate.wire.messages13 import Certificate13

pytestmark = pytest.mark.vectors

FOLDER = VECTORS / "botan" / "tls_13_rfc8448"
SUITES = [by_name(n) for n in ("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384")]
#: the server's supported_groups in the trace's EncryptedExtensions
TRACE_GROUPS = [NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1,
                NamedGroup.FFDHE2048, NamedGroup.FFDHE3072, NamedGroup.FFDHE4096, NamedGroup.FFDHE6144,
                NamedGroup.FFDHE8192]


@pytest.fixture(scope="module")
def trace() -> dict[str, bytes]:
    if not (FOLDER / "transcripts.vec").exists():
        pytest.skip("RFC 8448 transcripts not available")
    section = botan_sections(FOLDER / "transcripts.vec")["Simple_1RTT_Handshake"]
    return {name: bytes.fromhex(value) for name, value in section.items() if name != "CurrentTimestamp"}


def _x25519_pair(private: bytes) -> dh.EcdheKeyPair:
    return dh.EcdheKeyPair(NamedGroup.X25519, x25519.X25519PrivateKey.from_private_bytes(private))


def _drain(conn: Connection) -> list[Any]:
    events = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    return events


def _server_identity(trace: dict[str, bytes]) -> tuple[list[x509.Certificate], Any]:
    """The certificate as the trace's Certificate message carries it (the PEM copy has trailing bytes), the key."""
    der = Certificate13.parse(trace["Message_Server_Certificate"][4:]).certificates[0]
    return [x509.load_der_x509_certificate(der)], certs.load_private_key(FOLDER / "server_key.pem")


def test_rfc8448_simple_1rtt_server(trace: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    pool = trace["Server_RNG_Pool"]
    monkeypatch.setattr(tls13_common, "random_bytes", lambda n: pool[:32] if n == 32 else pytest.fail(f"{n} bytes"))
    monkeypatch.setattr(key_share, "generate_ecdhe", lambda group: _x25519_pair(pool[32:64]))
    chain, key = _server_identity(trace)

    def trace_signature(private_key: Any, scheme: int, transcript_hash: bytes, *, by_server: bool) -> bytes:
        content = signatures13.signed_content(transcript_hash, by_server=by_server)
        assert content == trace["Server_MessageToSign"]
        signature = trace["Server_MessageSignature"]
        signatures13.verify(chain[0].public_key(), scheme, [scheme], transcript_hash, signature, by_server=True)
        return signature

    monkeypatch.setattr(signatures13, "sign", trace_signature)
    config = TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, groups=TRACE_GROUPS,
                       certificate_chain=chain, private_key=key)
    server = Connection(config, server_side=True)
    server.receive_bytes(trace["Record_ClientHello_1"])
    assert _drain(server) == []
    assert server.bytes_to_send() == trace["Record_ServerHello"] + trace["Record_ServerHandshakeMessages"]

    server.receive_bytes(trace["Record_ClientFinished"])
    events = _drain(server)
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    server.receive_bytes(trace["Record_Client_AppData"] + trace["Record_Client_CloseNotify"])
    assert _drain(server) == [ApplicationData(trace["Client_AppData"]), ConnectionClosed(clean=True)]

    secrets = server.tls13_secrets
    assert secrets is not None and secrets.server_application_traffic_secret_0 is not None
    protection = Tls13InnerPlaintext(traffic_protection(SUITES[0], secrets.server_application_traffic_secret_0))
    record = trace["Record_Server_AppData"]
    assert protection.open(1, record[0], 0x0303, record[5:]) == (ContentType.APPLICATION_DATA, trace["Server_AppData"])


def _trace_offer(hello: ClientHello, share: ClientShare) -> ClientOffer13:
    found = ext.find_extension(hello.extensions, ExtensionType.SUPPORTED_GROUPS)
    assert found is not None
    groups = tuple(ext.parse_supported_groups(found.data))
    return ClientOffer13(hello.cipher_suites, groups, (share,), tuple(signatures13.TLS13_SIGNATURE_SCHEMES))


def test_rfc8448_simple_1rtt_client(trace: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    pool = trace["Client_RNG_Pool"]
    record = trace["Record_ClientHello_1"]
    hello = ClientHello.parse(record[9:])
    assert hello.random == pool[:32]
    share = ClientShare(NamedGroup.X25519, _x25519_pair(pool[32:64]))
    monkeypatch.setattr(tls13_offer, "client_hello", lambda *args: (hello, _trace_offer(hello, share)))
    # the trace's certificate expired in July 2026; the path is not what this test checks
    config = TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, verify=False, server_name="server")
    client = Connection(config, server_side=False)
    client.start_handshake()
    assert client.bytes_to_send() == record

    client.receive_bytes(trace["Record_ServerHello"] + trace["Record_ServerHandshakeMessages"])
    events = _drain(client)
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    assert events[0].version == ProtocolVersion.TLS1_3 and events[0].key_exchange_group == NamedGroup.X25519
    assert client.bytes_to_send() == trace["Record_ClientFinished"]
    assert events[0].peer_certificates[0] == _server_identity(trace)[0][0]

    client.receive_bytes(trace["Record_NewSessionTicket"] + trace["Record_Server_AppData"])
    assert _drain(client) == [ApplicationData(trace["Server_AppData"])]
    client.send_data(trace["Client_AppData"])
    assert client.bytes_to_send() == trace["Record_Client_AppData"]
    client.close()
    assert client.bytes_to_send() == trace["Record_Client_CloseNotify"]


def test_rfc8448_hello_retry_request_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 8448 §5: the client shares x25519, our server (preferring secp256r1) answers with the trace's
    HelloRetryRequest (the trace's cookie fed in as the random it is), then, fed the trace's ClientHello2, writes the
    trace's ServerHello and encrypted flight; the trace's client Finished and close_notify are accepted."""
    if not (FOLDER / "transcripts.vec").exists():
        pytest.skip("RFC 8448 transcripts not available")
    section = botan_sections(FOLDER / "transcripts.vec")["HelloRetryRequest_Handshake"]
    trace = {name: bytes.fromhex(value) for name, value in section.items() if name != "CurrentTimestamp"}
    pool = trace["Server_RNG_Pool"]
    randoms = [trace["HelloRetryRequest_Cookie"], pool[:32]]  # the cookie, then the ServerHello random
    monkeypatch.setattr(tls13_common, "random_bytes", lambda n: randoms.pop(0))
    monkeypatch.setattr(tls13_server, "random_bytes", tls13_common.random_bytes)
    private = ec.derive_private_key(int.from_bytes(pool[32:64], "big"), ec.SECP256R1())
    monkeypatch.setattr(key_share, "generate_ecdhe", lambda group: dh.EcdheKeyPair(NamedGroup.SECP256R1, private))
    chain, key = _server_identity(trace)

    def trace_signature(private_key: Any, scheme: int, transcript_hash: bytes, *, by_server: bool) -> bytes:
        assert signatures13.signed_content(transcript_hash, by_server=by_server) == trace["Server_MessageToSign"]
        signatures13.verify(chain[0].public_key(), scheme, [scheme], transcript_hash, trace["Server_MessageSignature"],
                            by_server=True)
        return trace["Server_MessageSignature"]

    monkeypatch.setattr(signatures13, "sign", trace_signature)
    groups = [NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.X25519]  # the trace server's EncryptedExtensions
    config = TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, groups=groups,
                       certificate_chain=chain, private_key=key, retry_for_preferred_group=True)
    server = Connection(config, server_side=True)
    server.receive_bytes(trace["Record_ClientHello_1"])
    assert _drain(server) == []
    assert server.bytes_to_send() == trace["Record_HelloRetryRequest"]
    server.receive_bytes(trace["Record_ClientHello_2"])
    assert _drain(server) == []
    assert server.bytes_to_send() == trace["Record_ServerHello"] + trace["Record_ServerHandshakeMessages"]
    server.receive_bytes(trace["Record_ClientFinished"] + trace["Record_Client_CloseNotify"])
    events = _drain(server)
    assert isinstance(events[0], HandshakeComplete) and events[0].hello_retry and events[1] == ConnectionClosed(True)
    assert server.bytes_to_send() == trace["Record_Server_CloseNotify"]

