"""Secure renegotiation (RFC 5746) against hostile peers, both roles, in memory.

Our server: a client whose renegotiating ClientHello drops extended_master_secret, carries the SCSV, a wrong or no
renegotiation_info, a lower version or an ALPN list with nothing in common; application data interleaved with the
new handshake (accepted) or between its ChangeCipherSpec and Finished (unexpected_message); legacy renegotiation
and renegotiation not enabled (the warning no_renegotiation). Our client: a server whose renegotiation ServerHello
has a wrong or no renegotiation_info, drops EMS, changes the version or selects an ALPN protocol not offered; a
legacy server's HelloRequest; a server refusing our renegotiation. The forged hellos are built by hand from the
RFC layout and sealed with the live keys of the connection they claim to come from.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import pytest

from tests.helpers.connections import client_config, completes, pump, received, server_config
from tests.hostile.test_connection_hostile import fails_with, peer_sees_alert
from tlsstate.connection import MAX_EPOCHS_KEPT, Connection
from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_name
from tlsstate.events import AlertEvent, HandshakeComplete
from tlsstate.handshake import client_states, server_states
from tlsstate.handshake.common import Context
from tlsstate.handshake.renegotiation import Renegotiation
from tlsstate.record import HalfConnection
from tlsstate.record.keying import protections_for
from tlsstate.wire import errors
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import (
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    AlertDescription,
    AlertLevel,
    ContentType,
    ExtensionType,
)
from tlsstate.wire.messages import ClientHello, Extension, HelloRequest, ServerHello, encode_handshake

CBC = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"


def connected(client_cfg: object = None, server_cfg: object = None) -> tuple[Connection, Connection]:
    client = Connection(client_cfg or client_config(), server_side=False)  # type: ignore[arg-type]
    server = Connection(server_cfg or server_config(client_renegotiation=True), server_side=True)  # type: ignore[arg-type]
    client.start_handshake()
    client_events, server_events = pump(client, server)
    assert completes(client_events) and completes(server_events)
    return client, server


def previous(conn: Connection) -> Renegotiation:
    state = conn._handshake.state
    assert isinstance(state, client_states.ClientConnected | server_states.ServerConnected)
    assert state.renegotiation is not None
    return state.renegotiation


def forged_hello(
    client: Connection,
    *,
    renegotiation_info: bytes | str | None = "right",
    drop: int | None = None,
    extra: tuple[Extension, ...] = (),
    extra_suites: tuple[int, ...] = (),
    version: int = 0x0303,
    suites: list[CipherSuite] | None = None,
) -> bytes:
    """A renegotiating ClientHello from ``client`` (RFC 5246 §7.4.1.2 layout), sealed with its write keys."""
    config = client.config
    suites = suites or config.effective_suites()
    info = previous(client).client_verify_data if renegotiation_info == "right" else renegotiation_info
    extensions = [e for e in client_states.hello_extensions(config, suites, version) if e.type != drop]
    extensions = [e for e in extensions if e.type != ExtensionType.RENEGOTIATION_INFO]
    if isinstance(info, bytes):
        extensions.append(ext.build_renegotiation_info(info))
    hello = ClientHello(version, os.urandom(32), b"", tuple(s.id for s in suites) + extra_suites, b"\x00",
                        tuple(extensions) + extra)
    return client.write_state.seal(ContentType.HANDSHAKE, 0x0303, encode_handshake(hello))


def server_fails(server: Connection, record: bytes, error: type[errors.TLSError], alert: AlertDescription,
                 client: Connection) -> None:
    server.receive_bytes(record)
    fails_with(server, error, alert)
    peer_sees_alert(server, client, alert)


# ------------------------------------------------------------------------------------------ our server


def test_renegotiation_accepted_resumed_and_full() -> None:
    """"renegotiation-accepted": a resumed renegotiation (the stored session: same master secret, new randoms and
    key block), then a full one (new master secret); sequence numbers start again; data flows across both."""
    from tlsstate.sessions.cache import SessionCache, SessionStore

    store = SessionStore()
    client, server = connected(client_config(session_store=store),
                               server_config(client_renegotiation=True, session_cache=SessionCache()))
    for resumed in (True, False):
        before = client.security
        assert before is not None
        if not resumed:
            store.remove(client.config.server_name)  # type: ignore[arg-type]
        client.renegotiate()
        assert client.renegotiating
        client.send_data(b"held")  # held until the new epoch (OpenSSL and GnuTLS take no data mid-handshake)
        client_events, server_events = pump(client, server)
        done = completes(client_events)
        assert done.renegotiation and done.resumed is resumed and completes(server_events).resumed is resumed
        assert received(server_events) == b"held"
        after = client.security
        assert after is not None and after == server.security and after.keys != before.keys
        assert after.client_random != before.client_random
        assert (after.master_secret == before.master_secret) is resumed
        assert client.write_state.seq == 2 and server.read_state.seq == 2  # Finished was 0, the data 1
    assert len(client.epochs) == len(server.epochs) == 3


def test_renegotiation_drops_extended_master_secret() -> None:
    """"renegotiation-drops-ems": RFC 7627 §5.2; OpenSSL: inconsistent extms."""
    client, server = connected()
    record = forged_hello(client, drop=ExtensionType.EXTENDED_MASTER_SECRET)
    server_fails(server, record, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, client)


def test_renegotiation_with_scsv_and_renegotiation_info() -> None:
    """"renegotiation-scsv-and-info": RFC 5746 §3.7: the SCSV in a renegotiating hello aborts it."""
    client, server = connected()
    record = forged_hello(client, extra_suites=(TLS_EMPTY_RENEGOTIATION_INFO_SCSV,))
    server_fails(server, record, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, client)


@pytest.mark.parametrize("kind", ["flipped", "empty", "both-halves", "truncated"])
def test_renegotiation_info_wrong(kind: str) -> None:
    """"renegotiation-info-wrong": RFC 5746 §3.7: renegotiated_connection must be the client's verify_data."""
    client, server = connected()
    good = previous(client)
    info = {
        "flipped": bytes([good.client_verify_data[0] ^ 1]) + good.client_verify_data[1:],
        "empty": b"",
        "both-halves": good.server_renegotiated_connection,
        "truncated": good.client_verify_data[:-1],
    }[kind]
    server_fails(server, forged_hello(client, renegotiation_info=info), errors.HandshakeFailure,
                 AlertDescription.HANDSHAKE_FAILURE, client)


@pytest.mark.parametrize("scsv", [False, True])
def test_renegotiation_info_missing(scsv: bool) -> None:
    """"renegotiation-info-missing": RFC 5746 §3.7: a renegotiating hello without the extension (with or
    without the SCSV) aborts."""
    client, server = connected()
    record = forged_hello(client, renegotiation_info=None,
                          extra_suites=(TLS_EMPTY_RENEGOTIATION_INFO_SCSV,) if scsv else ())
    server_fails(server, record, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, client)


def test_renegotiation_to_a_lower_version() -> None:
    """"renegotiation-lower-version": the version stays the connection's."""
    client, server = connected(client_config(cipher_suites=[by_name(CBC)]))
    server_fails(server, forged_hello(client, version=0x0302), errors.ProtocolVersionError,
                 AlertDescription.PROTOCOL_VERSION, client)


def test_renegotiation_alpn_rules_apply() -> None:
    """"renegotiation-alpn-no-overlap": RFC 7301 §3.2 holds for the new handshake too."""
    client, server = connected(server_cfg=server_config(client_renegotiation=True, alpn_protocols=["http/1.1"]))
    record = forged_hello(client, extra=(ext.build_alpn(["h3"]),))
    server_fails(server, record, errors.ProtocolError, AlertDescription.NO_APPLICATION_PROTOCOL, client)


def test_renegotiation_signature_algorithms_rules_apply() -> None:
    """"renegotiation-signature-algorithms": RFC 5246 §7.4.1.4.1 holds for the new handshake: a renegotiating
    hello offering only ECDHE_RSA suites and only ECDSA signature schemes leaves our RSA key nothing to sign with."""
    client, server = connected()
    ecdhe_rsa = [s for s in client.config.effective_suites() if s.key_exchange is KeyExchange.ECDHE_RSA]
    record = forged_hello(client, suites=ecdhe_rsa, drop=ExtensionType.SIGNATURE_ALGORITHMS,
                          extra=(ext.build_signature_algorithms([0x0403, 0x0503]),))
    server_fails(server, record, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, client)


def test_many_renegotiations_keep_memory_bounded() -> None:
    """"renegotiation-many": a peer renegotiating again and again: every handshake counts, but only the first
    and the latest epochs are kept (MAX_EPOCHS_KEPT), and the connection still works."""
    client, server = connected()
    first = client.security
    for _ in range(MAX_EPOCHS_KEPT + 6):
        client.renegotiate()
        assert completes(pump(client, server)[1]).renegotiation
    assert client.handshakes == server.handshakes == MAX_EPOCHS_KEPT + 7
    assert len(client.epochs) == len(server.epochs) == MAX_EPOCHS_KEPT
    assert client.epochs[0] is first and client.epochs[-1] is client.security
    client.send_data(b"after many")
    assert received(pump(client, server)[1]) == b"after many"


def test_renegotiation_etm_rules_apply() -> None:
    """"renegotiation-etm-renegotiated": EtM (RFC 7366) is negotiated afresh: a CBC connection with EtM may
    renegotiate without it, and the new epoch is MAC-then-encrypt."""
    client, server = connected(client_config(cipher_suites=[by_name(CBC)]))
    assert client.handshake_info is not None and client.handshake_info.encrypt_then_mac
    client.config.encrypt_then_mac = False
    client.renegotiate()
    client_events, server_events = pump(client, server)
    assert not completes(client_events).encrypt_then_mac and not completes(server_events).encrypt_then_mac
    client.send_data(b"mte")
    assert received(pump(client, server)[1]) == b"mte"


def test_application_data_interleaved_with_renegotiation() -> None:
    """"renegotiation-appdata-interleaved": RFC 5246 lets application data come between the messages of a
    renegotiation (under the current keys): delivered, and the handshake completes."""
    client, server = connected()
    client.renegotiate()
    hello = client.bytes_to_send()
    data = client.write_state.seal(ContentType.APPLICATION_DATA, 0x0303, b"interleaved")  # our client holds data
    server.receive_bytes(hello + data)
    events = []
    while (event := server.next_event()) is not None:
        events.append(event)
    assert received(events) == b"interleaved"  # type: ignore[arg-type]
    client_events, server_events = pump(client, server)
    assert completes(client_events).renegotiation and completes(server_events).renegotiation


def test_application_data_between_ccs_and_finished_in_renegotiation() -> None:
    """"renegotiation-appdata-before-finished": Finished must follow ChangeCipherSpec (RFC 5246 §7.4.9)."""
    client, server = connected()
    client.renegotiate()
    server.receive_bytes(client.bytes_to_send())
    assert server.next_event() is None
    client.receive_bytes(server.bytes_to_send())
    assert client.next_event() is None
    flight = client.bytes_to_send()  # ClientKeyExchange, ChangeCipherSpec, Finished
    records = _split_records(flight)
    assert [r[0] for r in records] == [ContentType.HANDSHAKE, ContentType.CHANGE_CIPHER_SPEC, ContentType.HANDSHAKE]
    server.receive_bytes(records[0] + records[1])
    assert server.next_event() is None
    result = server._handshake.state.result  # type: ignore[attr-defined]  # ServerWaitFinished: the new keys
    sealer = HalfConnection("client")
    sealer.set_pending(protections_for(result.negotiated, result.keys)[0])
    sealer.activate_pending()
    server.receive_bytes(sealer.seal(ContentType.APPLICATION_DATA, 0x0303, b"too early"))
    fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


def _split_records(data: bytes) -> list[bytes]:
    out = []
    while data:
        length = int.from_bytes(data[3:5], "big")
        out.append(data[: 5 + length])
        data = data[5 + length :]
    return out


def test_renegotiation_not_enabled_is_refused_with_a_warning() -> None:
    """"renegotiation-not-enabled": without client_renegotiation (serve --client-renegotiation) a correct
    renegotiating hello gets the warning no_renegotiation (RFC 5746 §4.4) and the connection carries on."""
    client, server = connected(server_cfg=server_config())
    server.receive_bytes(forged_hello(client))
    assert server.next_event() is None
    client.receive_bytes(server.bytes_to_send())
    assert client.next_event() == AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
    server.send_data(b"carry on")
    assert received(pump(client, server)[0]) == b"carry on"
    assert len(server.epochs) == 1


def test_legacy_renegotiation_is_always_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """"renegotiation-legacy": a client that sent neither renegotiation_info nor the SCSV initially never
    renegotiates (RFC 5746 §4.4), even with client_renegotiation."""
    real = client_states.hello_extensions

    def legacy(config: object, suites: list[object], high: int, **kwargs: bytes) -> list[Extension]:
        return [e for e in real(config, suites, high, **kwargs)  # type: ignore[arg-type]
                if e.type != ExtensionType.RENEGOTIATION_INFO]

    monkeypatch.setattr(client_states, "hello_extensions", legacy)
    client, server = connected()
    assert client.handshake_info is not None
    hello = ClientHello(0x0303, os.urandom(32), b"", (0xC02F,), b"\x00", None)
    server.receive_bytes(client.write_state.seal(ContentType.HANDSHAKE, 0x0303, encode_handshake(hello)))
    assert server.next_event() is None
    client.receive_bytes(server.bytes_to_send())
    assert client.next_event() == AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
    with pytest.raises(errors.ConfigurationError, match="secure renegotiation"):
        server.renegotiate()  # and we never ask such a client; the refusal does not end the connection
    assert len(server.epochs) == 1 and server.error is None
    server.send_data(b"carry on")
    assert received(pump(client, server)[0]) == b"carry on"


def test_server_initiated_renegotiation() -> None:
    """"renegotiation-hello-request": our HelloRequest (never hashed, RFC 5246 §7.4.1.1) answered by a client
    that takes server renegotiation; the server accepts it without client_renegotiation."""
    client, server = connected(client_config(server_renegotiation=True), server_config())
    server.renegotiate()
    server.send_data(b"before the answer")  # the HelloRequest leaves the server's epoch open: data flows
    client_events, server_events = pump(client, server)
    assert received(client_events) == b"before the answer"
    assert completes(client_events).renegotiation and completes(server_events).renegotiation
    assert client.security == server.security and len(server.epochs) == 2


# ------------------------------------------------------------------------------------------ our client


def hostile_server(monkeypatch: pytest.MonkeyPatch, change: Callable[[ServerHello, Context], ServerHello]) -> None:
    """Our server, except that its renegotiation ServerHello is passed through ``change``."""
    real = server_states.server_hello

    def patched(ctx: Context, *args: object, **kwargs: object) -> ServerHello:
        hello = real(ctx, *args, **kwargs)  # type: ignore[arg-type]
        return change(hello, ctx) if ctx.renegotiation is not None else hello

    monkeypatch.setattr(server_states, "server_hello", patched)


def with_extensions(hello: ServerHello, keep: Callable[[Extension], bool], *extra: Extension) -> ServerHello:
    return dataclasses.replace(hello, extensions=tuple(e for e in hello.extensions or () if keep(e)) + extra)


def client_fails(client: Connection, server: Connection, error: type[errors.TLSError], alert: AlertDescription) -> None:
    client.renegotiate()
    server.receive_bytes(client.bytes_to_send())
    assert server.next_event() is None
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, error, alert)
    peer_sees_alert(client, server, alert)


@pytest.mark.parametrize("kind", ["flipped", "client-half-only", "empty"])
def test_server_renegotiation_info_wrong(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """"server-renegotiation-info-wrong": RFC 5746 §3.5: both previous verify_data, client's first."""
    def change(hello: ServerHello, ctx: Context) -> ServerHello:
        assert ctx.renegotiation is not None
        good = ctx.renegotiation.server_renegotiated_connection
        info = {"flipped": good[:-1] + bytes([good[-1] ^ 1]), "client-half-only": good[:12], "empty": b""}[kind]
        return with_extensions(hello, lambda e: e.type != ExtensionType.RENEGOTIATION_INFO,
                               ext.build_renegotiation_info(info))

    hostile_server(monkeypatch, change)
    client, server = connected()
    client_fails(client, server, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE)


def test_server_renegotiation_info_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """"server-renegotiation-info-missing": RFC 5746 §3.5."""
    hostile_server(monkeypatch, lambda hello, _: with_extensions(
        hello, lambda e: e.type != ExtensionType.RENEGOTIATION_INFO))
    client, server = connected()
    client_fails(client, server, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE)


def test_server_renegotiation_drops_extended_master_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """"server-renegotiation-drops-ems": a connection that used EMS keeps it (RFC 7627)."""
    hostile_server(monkeypatch, lambda hello, _: with_extensions(
        hello, lambda e: e.type != ExtensionType.EXTENDED_MASTER_SECRET))
    client, server = connected()
    client_fails(client, server, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE)


def test_server_renegotiation_changes_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """"server-renegotiation-other-version": the version stays the connection's."""
    hostile_server(monkeypatch, lambda hello, _: dataclasses.replace(hello, version=0x0302))
    client, server = connected(client_config(cipher_suites=[by_name(CBC)]))
    client_fails(client, server, errors.ProtocolVersionError, AlertDescription.PROTOCOL_VERSION)


def test_server_renegotiation_alpn_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    """"server-renegotiation-alpn-not-offered": RFC 7301 §3.2 holds for the new handshake."""
    hostile_server(monkeypatch, lambda hello, _: with_extensions(hello, lambda e: True, ext.build_alpn(["h3"])))
    client, server = connected(client_config(alpn_protocols=["h2"]))
    client_fails(client, server, errors.IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)


def test_hello_request_from_legacy_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """"server-hello-request-legacy": a server that showed no RFC 5746 support gets no_renegotiation for its
    HelloRequest even when server_renegotiation is on."""
    real = server_states.server_hello

    def legacy(ctx: Context, *args: object, **kwargs: object) -> ServerHello:
        hello = real(ctx, *args, **kwargs)  # type: ignore[arg-type]
        return with_extensions(hello, lambda e: e.type != ExtensionType.RENEGOTIATION_INFO)

    monkeypatch.setattr(server_states, "server_hello", legacy)
    client, server = connected(client_config(server_renegotiation=True))
    client.receive_bytes(server.write_state.seal(ContentType.HANDSHAKE, 0x0303, encode_handshake(HelloRequest())))
    assert client.next_event() is None
    server.receive_bytes(client.bytes_to_send())
    assert server.next_event() == AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
    with pytest.raises(errors.ConfigurationError, match="secure renegotiation"):
        client.renegotiate()
    assert client.error is None
    client.send_data(b"carry on")
    assert received(pump(client, server)[1]) == b"carry on"


def test_renegotiate_while_one_runs_is_refused() -> None:
    """"renegotiation-accepted": renegotiate() during a renegotiation is a ConfigurationError, not a failure."""
    client, server = connected()
    client.renegotiate()
    with pytest.raises(errors.ConfigurationError, match="in progress"):
        client.renegotiate()
    assert client.error is None and completes(pump(client, server)[0]).renegotiation


def test_hello_request_not_enabled() -> None:
    """"server-hello-request-not-enabled": without server_renegotiation, no_renegotiation and carry on."""
    client, server = connected()
    server.renegotiate()
    client_events, server_events = pump(client, server)
    assert AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION) in server_events
    assert not any(isinstance(e, HandshakeComplete) for e in client_events + server_events)
    client.send_data(b"still here")
    assert received(pump(client, server)[1]) == b"still here"


def test_server_refuses_our_renegotiation() -> None:
    """"server-renegotiation-refused": the warning no_renegotiation to our ClientHello: we carry on in the
    current epoch (RFC 5746 §4.2) and the data held meanwhile goes out."""
    client, server = connected(server_cfg=server_config())
    client.renegotiate()
    client.send_data(b"held")
    client_events, server_events = pump(client, server)
    assert AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION) in client_events
    assert not client.renegotiating and client.handshake_state == "ClientConnected"
    assert received(server_events) == b"held"


def test_hello_request_in_ssl3_is_refused() -> None:
    """"server-hello-request-legacy", SSL 3.0: our SSL 3.0 hello has no extensions for renegotiation_info, so even
    with server_renegotiation a HelloRequest gets no_renegotiation (not an error) and the connection carries on."""
    from tlsstate.wire.constants import ProtocolVersion

    ssl3 = {"min_version": ProtocolVersion.SSL3, "max_version": ProtocolVersion.SSL3, "enable_ssl3": True,
            "cipher_suites": [by_name("TLS_RSA_WITH_AES_128_CBC_SHA")]}
    client, server = connected(client_config(server_renegotiation=True, **ssl3), server_config(**ssl3))
    assert client.negotiated_version == ProtocolVersion.SSL3
    server.renegotiate()
    _, server_events = pump(client, server)
    assert AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION) in server_events
    client.send_data(b"still here")
    assert received(pump(client, server)[1]) == b"still here"
    with pytest.raises(errors.ConfigurationError, match=r"SSL 3\.0"):
        client.renegotiate()
    assert client.error is None


# ------------------------------------------------------------------------------------------ over loopback


@pytest.mark.parametrize("case", ["renegotiation-drops-ems", "renegotiation-info-wrong", "renegotiation-accepted"])
def test_serve_process_renegotiation_rules(case: str) -> None:
    """The same rules from ``tlsstate serve --client-renegotiation`` over a real loopback socket: the hostile
    hello (sealed with the live client keys) gets the fatal alert and serve logs it; a correct one renegotiates."""
    from tests.helpers.peers import TIMEOUT, serve
    from tlsstate.io.sockets import TLSSocket

    with serve(["--client-renegotiation", "--once"]) as server:
        with TLSSocket.connect("127.0.0.1", server.port, client_config(), timeout=TIMEOUT) as tls:
            tls.sendall(b"ping")
            assert tls.recv() == b"ping"
            if case == "renegotiation-accepted":
                assert tls.renegotiate() is not None
                tls.sendall(b"pong")
                assert tls.recv() == b"pong"
            else:
                good = previous(tls.connection).client_verify_data
                hostile = (forged_hello(tls.connection, drop=ExtensionType.EXTENDED_MASTER_SECRET)
                           if case == "renegotiation-drops-ems"
                           else forged_hello(tls.connection, renegotiation_info=bytes([good[0] ^ 0x80]) + good[1:]))
                tls.sock.sendall(hostile)
                with pytest.raises(errors.AlertReceived) as info:
                    tls.recv()
                assert info.value.description == AlertDescription.HANDSHAKE_FAILURE
        server.finish()
    expected = "renegotiated=1 ok" if case == "renegotiation-accepted" else "sent alert handshake_failure"
    assert any(expected in line for line in server.lines), server.lines
