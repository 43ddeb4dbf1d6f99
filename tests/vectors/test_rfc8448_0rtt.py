"""RFC 8448 §4 "Resumed 0-RTT Handshake", byte for byte, through our live TLS 1.3 handshakes (both roles).

The trace is Botan's transcript of RFC 8448 (``../shared/vectors/botan/tls_13_rfc8448/transcripts.vec``, section
``Resumed_0RTT_Handshake``): every record, the random inputs (``Client_RNG_Pool`` / ``Server_RNG_Pool``: random ||
X25519 private key) and the session the client resumes (``Client_SessionData``, Botan's encoding, whose 32-byte OCTET
STRING is the resumption PSK of RFC 8448 §3; ``SessionTicket`` is its ticket). The PSK binder in the trace's
ClientHello proves that PSK: our server checks it (a wrong PSK is decrypt_error).

One seam in the file: its ``Record_ServerHandshakeMessages`` is Botan's own, re-encrypted with an EncryptedExtensions
without server_name (Botan and OpenSSL send none when resuming), while ``Message_Server_Finished`` and every client
record after it are RFC 8448 §4's, whose EncryptedExtensions echoes server_name (empty) before early_data. The RFC's
EncryptedExtensions is that message with server_name put back (:func:`_rfc_encrypted_extensions`); that the trace's
``Message_Server_Finished`` is the HMAC over it is what the server test finds. These tests follow the RFC.

Server: fed the trace's ClientHello and early data record, our server (accepting up to 1024 bytes of early data)
writes the trace's ServerHello record and a flight that is the RFC's EncryptedExtensions and the trace's server
Finished; it hands the early data "ABCDEF" to the application marked as early, opens the trace's EndOfEarlyData
(under the client early traffic key) and client Finished records, the client's application data and close_notify;
its own application data and close_notify records are the trace's.

Client: the trace's ClientHello (with the trace's random, X25519 key and binder) is what our client sends; our
client's early data record is the trace's (client early traffic secret from the PSK and that ClientHello). Given the
trace's ServerHello record and the RFC's EncryptedExtensions and server Finished (sealed here under the server
handshake key our client derived: a wrong key would not give the trace's records back), it writes the trace's
two-record flight, EndOfEarlyData under the early key and Finished under the handshake key, then the trace's
application data and close_notify records, and opens the server's application data record.

The trace's ticket was sealed by another server, so our server's ticket store is replaced by one that knows it, and
its ticket_age_add by the value that makes the ClientHello's ticket age exact: the age is not what the trace checks.
"""

from __future__ import annotations

import pytest

from tests.helpers.env import VECTORS
from tests.helpers.exporters import tls13_export
from tests.helpers.vectorfiles import botan_sections
from tests.vectors.test_rfc8448_handshake import _drain, _x25519_pair
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto import key_share, signatures13
from tlsstate.crypto.key_share import ClientShare
from tlsstate.crypto.suites import by_name
from tlsstate.events import ApplicationData, ConnectionClosed, HandshakeComplete
from tlsstate.handshake.tls13 import common as tls13_common
from tlsstate.handshake.tls13 import offer as tls13_offer
from tlsstate.handshake.tls13 import psk as tls13_psk
from tlsstate.handshake.tls13.offer import ClientOffer13
from tlsstate.handshake.tls13.psk import PskOffer
from tlsstate.record.keying import traffic_protection
from tlsstate.record.protection import Tls13InnerPlaintext
from tlsstate.sessions.cache import Session
from tlsstate.sessions.tickets import OpenedTicket, TicketKeys
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ContentType, ExtensionType, NamedGroup, ProtocolVersion
from tlsstate.wire.messages import ClientHello

pytestmark = pytest.mark.vectors

FOLDER = VECTORS / "botan" / "tls_13_rfc8448"
SUITES = [by_name(n) for n in ("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384")]
TRACE_GROUPS = [NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1,
                NamedGroup.FFDHE2048, NamedGroup.FFDHE3072, NamedGroup.FFDHE4096, NamedGroup.FFDHE6144,
                NamedGroup.FFDHE8192]
MAX_EARLY_DATA = 1024  # the max_early_data_size of RFC 8448 §3's NewSessionTicket
#: RFC 8448 §4, {client} derive secret "tls13 e exp master", expanded (32 octets), from the RFC's text (the Botan
#: transcripts have records only; ../shared/vectors/rfc8448's draft trace is of another ClientHello, hash d899c67d...
#: where the RFC's and this trace's is 08ad0fa0...)
EARLY_EXPORTER_MASTER_SECRET = bytes.fromhex("b2026866610937d7423e5be90862ccf24c0e6091186d34f812089ff5be2ef7df")


def _check_early_exporter(conn: Connection) -> None:
    """The early exporter of RFC 9846 §7.5 from RFC 8448's early exporter master secret (our schedule derived it from
    the trace's PSK and ClientHello); the regular exporter is another value."""
    assert conn.tls13_secrets is not None
    assert conn.tls13_secrets.early_exporter_master_secret == EARLY_EXPORTER_MASTER_SECRET
    expected = tls13_export("sha256", EARLY_EXPORTER_MASTER_SECRET, b"EXPORTER-tlsstate-test", b"context", 42)
    assert conn.export_keying_material("EXPORTER-tlsstate-test", b"context", 42, early=True) == expected
    assert conn.export_keying_material("EXPORTER-tlsstate-test", b"context", 42) != expected


@pytest.fixture(scope="module")
def trace() -> dict[str, bytes]:
    if not (FOLDER / "transcripts.vec").exists():
        pytest.skip("RFC 8448 transcripts not available")
    section = botan_sections(FOLDER / "transcripts.vec")["Resumed_0RTT_Handshake"]
    return {name: bytes.fromhex(value) for name, value in section.items() if name != "CurrentTimestamp"}


def _psk(trace: dict[str, bytes]) -> bytes:
    """The resumption PSK: the first ``04 20`` OCTET STRING of Botan's session encoding."""
    data = trace["Client_SessionData"]
    start = data.index(b"\x04\x20") + 2
    return data[start : start + 32]


def _session(trace: dict[str, bytes]) -> Session:
    return Session(b"", 0x0304, 0x1301, _psk(trace), False, ticket=trace["SessionTicket"], max_early_data=MAX_EARLY_DATA)


def test_psk_is_rfc8448s() -> None:
    """The PSK the session data holds is RFC 8448 §3's ``PSK (32 octets)`` (checked against the RFC's text)."""
    if not (FOLDER / "transcripts.vec").exists():
        pytest.skip("RFC 8448 transcripts not available")
    section = botan_sections(FOLDER / "transcripts.vec")["Resumed_0RTT_Handshake"]
    assert _psk({"Client_SessionData": bytes.fromhex(section["Client_SessionData"])}).hex() == (
        "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3")


def _rfc_encrypted_extensions(trace: dict[str, bytes]) -> bytes:
    """RFC 8448 §4's EncryptedExtensions: the trace's, with the empty server_name before early_data."""
    message = trace["Message_EncryptedExtensions"]
    assert message[-4:] == b"\x00\x2a\x00\x00"  # early_data, last
    body = message[6:-4] + b"\x00\x00\x00\x00" + message[-4:]
    return bytes((8,)) + (len(body) + 2).to_bytes(3, "big") + len(body).to_bytes(2, "big") + body


def _server(trace: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Connection:
    """Our server fed the trace's randoms and X25519 key, and a ticket store that opens the trace's ticket."""
    pool = trace["Server_RNG_Pool"]
    monkeypatch.setattr(tls13_common, "random_bytes", lambda n: pool[:32] if n == 32 else pytest.fail(f"{n} bytes"))
    monkeypatch.setattr(key_share, "generate_ecdhe", lambda group: _x25519_pair(pool[32:64]))
    monkeypatch.setattr(signatures13, "sign", lambda *args, **kwargs: pytest.fail("a resumed handshake signs nothing"))
    hello = ClientHello.parse(trace["Record_ClientHello_1"][9:])
    found = ext.find_extension(hello.extensions, ExtensionType.PRE_SHARED_KEY)
    assert found is not None
    identity = ext.parse_pre_shared_key_client(found.data)[0][0]
    assert identity.identity == trace["SessionTicket"]
    keys = TicketKeys()
    now = int(keys.now())
    monkeypatch.setattr(keys, "open_ticket", lambda ticket: OpenedTicket(_session(trace), now, now, True)
                        if ticket == trace["SessionTicket"] else None)
    monkeypatch.setattr(tls13_psk, "ticket_age_add", lambda psk: identity.obfuscated_ticket_age)  # age 0: exact
    config = TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, groups=TRACE_GROUPS,
                       external_psk=(b"unused", bytes(16)), ticket_keys=keys, ticket_count=0,
                       max_early_data=MAX_EARLY_DATA)
    return Connection(config, server_side=True)


def test_rfc8448_resumed_0rtt_server(trace: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server(trace, monkeypatch)
    server.receive_bytes(trace["Record_ClientHello_1"] + trace["Record_Client_EarlyAppData"])
    assert _drain(server) == [ApplicationData(trace["Client_EarlyAppData"], early_data=True)]
    out = server.bytes_to_send()
    server_hello = trace["Record_ServerHello"]
    assert out[: len(server_hello)] == server_hello
    assert server.read_state.key_label.startswith("client early traffic secret")  # until EndOfEarlyData
    flight = out[len(server_hello):]
    schedule = server._handshake.state.waiting.schedule  # type: ignore[attr-defined]
    protection = Tls13InnerPlaintext(traffic_protection(SUITES[0], schedule.secrets.server_handshake_traffic_secret))
    assert protection.open(0, flight[0], 0x0303, flight[5:]) == (
        ContentType.HANDSHAKE, _rfc_encrypted_extensions(trace) + trace["Message_Server_Finished"])
    assert len(flight) == len(trace["Record_ServerHandshakeMessages"]) + 4  # + the 4 bytes of server_name

    server.receive_bytes(trace["Record_ClientFinished"])  # EndOfEarlyData (early key), Finished (handshake key)
    events = _drain(server)
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    assert events[0].resumed and events[0].early_data_accepted
    server.receive_bytes(trace["Record_Client_AppData"])
    assert _drain(server) == [ApplicationData(trace["Client_AppData"])]
    server.send_data(trace["Server_AppData"])
    assert server.bytes_to_send() == trace["Record_Server_AppData"]
    server.receive_bytes(trace["Record_Client_CloseNotify"])
    assert _drain(server) == [ConnectionClosed(clean=True)]
    assert server.bytes_to_send() == trace["Record_Server_CloseNotify"]
    assert server.tls13_secrets is not None and server.tls13_secrets.client_early_traffic_secret is not None
    _check_early_exporter(server)


def test_rfc8448_resumed_0rtt_client(trace: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    pool = trace["Client_RNG_Pool"]
    record = trace["Record_ClientHello_1"]
    hello = ClientHello.parse(record[9:])
    assert hello.random == pool[:32]
    share = ClientShare(NamedGroup.X25519, _x25519_pair(pool[32:64]))
    groups = ext.find_extension(hello.extensions, ExtensionType.SUPPORTED_GROUPS)
    assert groups is not None
    offer = ClientOffer13(hello.cipher_suites, tuple(ext.parse_supported_groups(groups.data)), (share,),
                          tuple(signatures13.TLS13_SIGNATURE_SCHEMES), PskOffer(_session(trace), SUITES[0]),
                          early_data=True)
    monkeypatch.setattr(tls13_offer, "client_hello", lambda *args: (hello, offer))
    config = TLSConfig(max_version=ProtocolVersion.TLS1_3, cipher_suites=SUITES, verify=False, server_name="server")
    client = Connection(config, server_side=False)
    client.send_early_data(trace["Client_EarlyAppData"])
    client.start_handshake()
    assert client.bytes_to_send() == record + trace["Record_Client_EarlyAppData"]
    assert client.early_data_status == "pending"

    client.receive_bytes(trace["Record_ServerHello"])
    assert _drain(client) == []
    schedule = client._handshake.state.schedule  # type: ignore[attr-defined]
    sealer = Tls13InnerPlaintext(traffic_protection(SUITES[0], schedule.secrets.server_handshake_traffic_secret))
    flight = _rfc_encrypted_extensions(trace) + trace["Message_Server_Finished"]
    client.receive_bytes(sealer.seal_record(0, ContentType.HANDSHAKE, 0x0303, flight))
    events = _drain(client)
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    assert events[0].resumed and events[0].early_data_accepted and client.early_data_status == "accepted"
    assert client.bytes_to_send() == trace["Record_ClientFinished"]  # EndOfEarlyData, then Finished

    client.receive_bytes(trace["Record_Server_AppData"])
    assert _drain(client) == [ApplicationData(trace["Server_AppData"])]
    client.send_data(trace["Client_AppData"])
    assert client.bytes_to_send() == trace["Record_Client_AppData"]
    _check_early_exporter(client)
    client.close()
    assert client.bytes_to_send() == trace["Record_Client_CloseNotify"]
