"""Hostile and broken peers at the Connection level: each ends with the alert the RFC names.

Wrong ChangeCipherSpec position/payload, a bad Finished, invalid RSA premasters (no oracle: they end
exactly like a wrong key, with bad_record_mac on the client's Finished), unknown and duplicated
extensions, no common suite, an absurd handshake length, renegotiation attempts (warning
no_renegotiation, the connection carries on), sticky errors, alerts and EOF.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.connections import client_config, completes, pump, received, server_config, write_pem
from tlsstate.connection import Connection
from tlsstate.crypto.suites import KeyExchange, by_name
from tlsstate.events import AlertEvent, ConnectionClosed
from tlsstate.handshake import client_states, crypto, server_choices, server_states
from tlsstate.handshake.common import Context
from tlsstate.record import Deframer
from tlsstate.wire import errors
from tlsstate.wire.constants import AlertDescription, AlertLevel, ContentType, ExtensionType, HandshakeType, ProtocolVersion
from tlsstate.wire.messages import (
    ClientHello,
    Extension,
    HandshakeReassembler,
    HelloRequest,
    ParseContext,
    ServerKeyExchange,
    encode_handshake,
    parse_message,
)


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return struct.pack(">BHH", content_type, version, len(payload)) + payload


def start(client_cfg: object = None, server_cfg: object = None) -> tuple[Connection, Connection]:
    client = Connection(client_cfg or client_config(), server_side=False)  # type: ignore[arg-type]
    server = Connection(server_cfg or server_config(), server_side=True)  # type: ignore[arg-type]
    client.start_handshake()
    return client, server


def deliver(sender: Connection, receiver: Connection) -> list[object]:
    receiver.receive_bytes(sender.bytes_to_send())
    events = []
    while (event := receiver.next_event()) is not None:
        events.append(event)
    return events


def fails_with(conn: Connection, error: type[errors.TLSError], alert: AlertDescription | None = None) -> errors.TLSError:
    """Drain events until ``error`` is raised; check its alert and that it is sticky."""
    with pytest.raises(error) as info:
        for _ in range(100):
            if conn.next_event() is None:
                break
    exc = info.value
    if alert is not None:
        assert isinstance(exc, errors.ProtocolError) and exc.alert == alert
    for call in (conn.next_event, lambda: conn.receive_bytes(b"more"), lambda: conn.send_data(b"x")):
        with pytest.raises(error) as again:
            call()
        assert again.value is exc
    return exc


def peer_sees_alert(conn: Connection, peer: Connection, alert: AlertDescription) -> None:
    """The queued fatal alert reaches the peer as AlertReceived(alert)."""
    peer.receive_bytes(conn.bytes_to_send())
    with pytest.raises(errors.AlertReceived) as info:
        for _ in range(100):
            if peer.next_event() is None:
                break
    assert info.value.description == alert


def connected_pair(**server_overrides: object) -> tuple[Connection, Connection]:
    client, server = start(server_cfg=server_config(**server_overrides))
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    return client, server


# ------------------------------------------------------------------ ChangeCipherSpec


def test_ccs_before_client_key_exchange() -> None:
    client, server = start()
    deliver(client, server)  # ClientHello
    server.receive_bytes(record(ContentType.CHANGE_CIPHER_SPEC, b"\x01"))
    exc = fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)
    assert "expected ClientKeyExchange, received ChangeCipherSpec" in str(exc)
    peer_sees_alert(server, client, AlertDescription.UNEXPECTED_MESSAGE)


def test_ccs_as_first_record() -> None:
    server = Connection(server_config(), server_side=True)
    server.receive_bytes(record(ContentType.CHANGE_CIPHER_SPEC, b"\x01", 0x0301))
    fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


def test_client_gets_ccs_before_server_hello_done() -> None:
    client, server = start()
    deliver(client, server)
    fragment = _records(server.bytes_to_send())[0].fragment  # type: ignore[attr-defined]
    server_hello = fragment[: 4 + int.from_bytes(fragment[1:4], "big")]
    client.receive_bytes(record(ContentType.HANDSHAKE, server_hello))
    client.receive_bytes(record(ContentType.CHANGE_CIPHER_SPEC, b"\x01"))
    exc = fails_with(client, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)
    assert "expected Certificate, received ChangeCipherSpec" in str(exc)


@pytest.mark.parametrize(("payload", "error"), [(b"\x02", errors.DecodeError), (b"\x00", errors.DecodeError),
                                              (b"\x01\x01", errors.UnexpectedMessage), (b"", errors.UnexpectedMessage)])
def test_ccs_payload_must_be_01(payload: bytes, error: type[errors.ProtocolError]) -> None:
    """RFC 5246 §7.1: one byte 01. Another byte is decode_error; another length is no ChangeCipherSpec message at
    all, unexpected_message (as OpenSSL and tlslite-ng)."""
    client, server = start()
    deliver(client, server)
    server.receive_bytes(record(ContentType.CHANGE_CIPHER_SPEC, payload))
    fails_with(server, error, error("x").alert)


def test_ccs_inside_a_fragmented_handshake_message() -> None:
    client, server = start()
    deliver(client, server)
    deliver(server, client)  # client sends CKE, CCS, Finished
    flight = list(_records(client.bytes_to_send()))
    assert [r.content_type for r in flight] == [ContentType.HANDSHAKE, ContentType.CHANGE_CIPHER_SPEC, ContentType.HANDSHAKE]
    cke = flight[0].fragment
    server.receive_bytes(record(ContentType.HANDSHAKE, cke[:3]))  # a partial message is buffered
    server.receive_bytes(flight[1].to_bytes())
    exc = fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)
    assert "middle of a handshake message" in str(exc)


# ------------------------------------------------------------------ out-of-order messages


def test_finished_instead_of_client_key_exchange() -> None:
    client, server = start()
    deliver(client, server)
    server.receive_bytes(record(ContentType.HANDSHAKE, bytes([HandshakeType.FINISHED, 0, 0, 12]) + bytes(12)))
    exc = fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)
    assert "expected ClientKeyExchange, received Finished" in str(exc)


def test_application_data_before_finished() -> None:
    client, server = start()
    deliver(client, server)
    server.receive_bytes(record(ContentType.APPLICATION_DATA, b"too early"))
    fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


def test_second_client_hello_during_handshake() -> None:
    client, server = start()
    hello = client.bytes_to_send()
    server.receive_bytes(hello)
    server.receive_bytes(hello.replace(b"\x16\x03\x01", b"\x16\x03\x03", 1))
    exc = fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)
    assert "received ClientHello" in str(exc)


def test_heartbeat_record_is_unexpected() -> None:
    server = Connection(server_config(), server_side=True)
    server.receive_bytes(record(ContentType.HEARTBEAT, b"\x01\x00\x10", 0x0301))
    fails_with(server, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


def test_empty_handshake_record() -> None:
    server = Connection(server_config(), server_side=True)
    server.receive_bytes(record(ContentType.HANDSHAKE, b"", 0x0301))
    fails_with(server, errors.DecodeError, AlertDescription.DECODE_ERROR)


def test_record_version_must_match_once_negotiated() -> None:
    client, server = start()
    deliver(client, server)
    deliver(server, client)
    flight = client.bytes_to_send()
    server.receive_bytes(flight[:1] + b"\x03\x01" + flight[3:])
    fails_with(server, errors.ProtocolVersionError, AlertDescription.PROTOCOL_VERSION)


# ------------------------------------------------------------------ Finished


@pytest.mark.parametrize("side", ["client", "server"])
def test_bad_finished_is_decrypt_error(side: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 5246 §7.4.9: a Finished whose verify_data does not match is decrypt_error."""
    from tlsstate.handshake import common as module  # where both roles build the Finished they send

    real = module.verify_data

    def wrong(n: object, master: bytes, transcript: bytes, from_client: bool) -> bytes:
        good = real(n, master, transcript, from_client)  # type: ignore[arg-type]
        if from_client != (side == "client"):
            return good  # the peer's Finished is checked honestly
        return bytes([good[0] ^ 1]) + good[1:]

    monkeypatch.setattr(module, "verify_data", wrong)
    client, server = start()
    deliver(client, server)
    deliver(server, client)
    if side == "client":
        server.receive_bytes(client.bytes_to_send())
        fails_with(server, errors.DecryptError, AlertDescription.DECRYPT_ERROR)
        peer_sees_alert(server, client, AlertDescription.DECRYPT_ERROR)
    else:
        deliver(client, server)
        client.receive_bytes(server.bytes_to_send())
        fails_with(client, errors.DecryptError, AlertDescription.DECRYPT_ERROR)
        peer_sees_alert(client, server, AlertDescription.DECRYPT_ERROR)


# ------------------------------------------------------------------ RSA premaster: no oracle


def _premaster_variant(kind: str) -> Callable[[object, int], tuple[bytes, bytes]]:
    from cryptography.hazmat.primitives.asymmetric import padding

    def fake(server_key: object, client_version: int) -> tuple[bytes, bytes]:
        good = client_version.to_bytes(2, "big") + os.urandom(46)
        if kind == "wrong_key":  # a valid encryption of another premaster than the one we use
            other = client_version.to_bytes(2, "big") + os.urandom(46)
            return good, server_key.encrypt(other, padding.PKCS1v15())  # type: ignore[attr-defined]
        if kind == "bad_version":
            bad = b"\x03\x00" + good[2:]
            return bad, server_key.encrypt(bad, padding.PKCS1v15())  # type: ignore[attr-defined]
        if kind == "short":
            return good[:47], server_key.encrypt(good[:47], padding.PKCS1v15())  # type: ignore[attr-defined]
        if kind == "bad_padding":
            size = server_key.key_size // 8  # type: ignore[attr-defined]
            return good, os.urandom(size)
        if kind == "wrong_length":
            return good, b"\x00" * 10
        raise AssertionError(kind)

    return fake


@pytest.mark.parametrize("kind", ["wrong_key", "bad_version", "short", "bad_padding", "wrong_length"])
def test_invalid_rsa_premaster_ends_like_a_wrong_key(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 5246 §7.4.7.1: no distinguishable alert — the client's Finished fails with bad_record_mac."""
    monkeypatch.setattr(crypto, "rsa_encrypt_premaster", _premaster_variant(kind))
    suite = by_name("AES128-SHA")
    client, server = start(client_config(cipher_suites=[suite]), server_config(cipher_suites=[suite]))
    deliver(client, server)
    deliver(server, client)
    flight = client.bytes_to_send()
    server.receive_bytes(flight)
    fails_with(server, errors.BadRecordMAC, AlertDescription.BAD_RECORD_MAC)
    assert server.handshake_state == "ServerWaitFinished"  # CKE and CCS were accepted like any other
    alert = server.bytes_to_send()
    assert alert == record(ContentType.ALERT, bytes([AlertLevel.FATAL, AlertDescription.BAD_RECORD_MAC]))
    client.receive_bytes(alert)
    with pytest.raises(errors.AlertReceived) as info:
        client.next_event()
    assert info.value.description == AlertDescription.BAD_RECORD_MAC


# ------------------------------------------------------------------ extensions


def _add_client_extensions(monkeypatch: pytest.MonkeyPatch, extra: list[Extension], drop: int | None = None) -> None:
    real = client_states.hello_extensions

    def patched(config: object, suites: list[object], high: int, **kwargs: bytes) -> list[Extension]:
        out = [e for e in real(config, suites, high, **kwargs) if e.type != drop]  # type: ignore[arg-type]
        return out + extra

    monkeypatch.setattr(client_states, "hello_extensions", patched)


def test_unknown_client_extensions_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    _add_client_extensions(monkeypatch, [Extension(0x7A7A, b""), Extension(0xFE00, os.urandom(40))])
    client, server = start()
    client_events, server_events = pump(client, server)
    assert completes(client_events) and completes(server_events)


def test_duplicated_client_extension_is_illegal_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    _add_client_extensions(monkeypatch, [Extension(ExtensionType.EXTENDED_MASTER_SECRET, b"")])
    client, server = start()
    server.receive_bytes(client.bytes_to_send())
    fails_with(server, errors.IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)
    peer_sees_alert(server, client, AlertDescription.ILLEGAL_PARAMETER)


def test_unsolicited_server_extension_is_unsupported_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    real = server_choices.server_hello

    def patched(ctx: Context, *args: object, **kwargs: object) -> object:
        hello = real(ctx, *args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(hello, extensions=(*(hello.extensions or ()), Extension(0x7A7A, b"")))

    monkeypatch.setattr(server_states, "server_hello", patched)
    client, server = start()
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.ProtocolError, AlertDescription.UNSUPPORTED_EXTENSION)


def test_server_hello_with_a_version_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    real = server_choices.server_hello
    monkeypatch.setattr(
        server_states, "server_hello",
        lambda ctx, *a, **k: dataclasses.replace(real(ctx, *a, **k), version=0x0303),
    )
    client, server = start(client_config(max_version=ProtocolVersion.TLS1_1))
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.ProtocolVersionError, AlertDescription.PROTOCOL_VERSION)


def test_server_choosing_a_suite_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    real = server_choices.server_hello
    monkeypatch.setattr(
        server_states, "server_hello",
        lambda ctx, *a, **k: dataclasses.replace(real(ctx, *a, **k), cipher_suite=0x0035),
    )
    suite = by_name("AES128-SHA")
    client, server = start(client_config(cipher_suites=[suite]))
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.ProtocolError, AlertDescription.ILLEGAL_PARAMETER)


def test_tls12_client_hello_without_signature_algorithms_gets_sha1(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 5246 §7.4.1.4.1: no signature_algorithms means {sha1, rsa}; the handshake must still work."""
    _add_client_extensions(monkeypatch, [], drop=ExtensionType.SIGNATURE_ALGORITHMS)
    suite = by_name("ECDHE-RSA-AES128-GCM-SHA256")
    client, server = start(client_config(cipher_suites=[suite]))
    deliver(client, server)
    flight = server.bytes_to_send()
    reassembler = HandshakeReassembler()
    for rec in _records(flight):
        reassembler.feed(rec.fragment)
    schemes = []
    while (raw := reassembler.next_message()) is not None:
        msg = parse_message(raw, ParseContext(0x0303, KeyExchange.ECDHE_RSA))
        if isinstance(msg, ServerKeyExchange):
            schemes.append(msg.signature_scheme)
    assert schemes == [0x0201]  # rsa_pkcs1_sha1
    client.receive_bytes(flight)
    client_events, server_events = pump(client, server)
    assert completes(client_events) and completes(server_events)


def test_no_common_suite_is_handshake_failure() -> None:
    client, server = start(
        client_config(cipher_suites=[by_name("AES128-SHA")]),
        server_config(cipher_suites=[by_name("ECDHE-RSA-AES128-GCM-SHA256")]),
    )
    server.receive_bytes(client.bytes_to_send())
    fails_with(server, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE)
    peer_sees_alert(server, client, AlertDescription.HANDSHAKE_FAILURE)


def test_ecdsa_suite_without_ecdsa_certificate_is_handshake_failure() -> None:
    client, server = start(client_config(cipher_suites=[by_name("ECDHE-ECDSA-AES128-GCM-SHA256")]), server_config("rsa"))
    server.receive_bytes(client.bytes_to_send())
    fails_with(server, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE)


def test_invalid_ecdhe_point_is_illegal_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    real = crypto.ecdhe_generate
    calls = []

    def patched(group: int) -> tuple[object, bytes]:
        pair, public = real(group)
        calls.append(group)
        return pair, (public if len(calls) == 1 else b"\x04" + bytes(64))  # the client's share is off-curve

    monkeypatch.setattr(crypto, "ecdhe_generate", patched)
    client, server = start(client_config(groups=[23]), server_config(groups=[23]))
    deliver(client, server)
    deliver(server, client)
    server.receive_bytes(client.bytes_to_send())
    fails_with(server, errors.IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)


# ------------------------------------------------------------------ sizes


def test_absurd_handshake_length_refused_at_once() -> None:
    server = Connection(server_config(), server_side=True)
    server.receive_bytes(record(ContentType.HANDSHAKE, bytes([HandshakeType.CLIENT_HELLO, 0xFF, 0xFF, 0xFF]), 0x0301))
    fails_with(server, errors.DecodeError, AlertDescription.DECODE_ERROR)
    assert server.bytes_to_send() == record(ContentType.ALERT, b"\x02\x32", 0x0301)


def test_handshake_cap_is_configurable() -> None:
    """The cap holds for every message but a server's ClientHello, which may be as long as its own length fields
    allow (131,396 bytes, RFC 5246 §7.4.1.2) whatever the cap."""
    header = bytes([HandshakeType.CLIENT_KEY_EXCHANGE]) + (2048).to_bytes(3, "big")
    relaxed = Connection(server_config(), server_side=True)
    relaxed.receive_bytes(record(ContentType.HANDSHAKE, header, 0x0301))
    assert relaxed.next_event() is None  # waits for the rest
    strict = Connection(server_config(max_handshake_message_length=1024), server_side=True)
    strict.receive_bytes(record(ContentType.HANDSHAKE, header, 0x0301))
    fails_with(strict, errors.DecodeError, AlertDescription.DECODE_ERROR)
    hello = Connection(server_config(max_handshake_message_length=1024), server_side=True)
    hello.receive_bytes(record(ContentType.HANDSHAKE, b"\x01" + (131396).to_bytes(3, "big"), 0x0301))
    assert hello.next_event() is None  # waits for the rest
    too_long = Connection(server_config(max_handshake_message_length=1024), server_side=True)
    too_long.receive_bytes(record(ContentType.HANDSHAKE, b"\x01" + (131397).to_bytes(3, "big"), 0x0301))
    fails_with(too_long, errors.DecodeError, AlertDescription.DECODE_ERROR)
    client = Connection(client_config(max_handshake_message_length=1024), server_side=False)
    client.start_handshake()
    client.receive_bytes(record(ContentType.HANDSHAKE, bytes([HandshakeType.SERVER_HELLO]) + (2048).to_bytes(3, "big")))
    fails_with(client, errors.DecodeError, AlertDescription.DECODE_ERROR)


def test_oversized_record_is_record_overflow() -> None:
    server = Connection(server_config(), server_side=True)
    server.receive_bytes(struct.pack(">BHH", ContentType.HANDSHAKE, 0x0301, 2**14 + 2049))
    fails_with(server, errors.RecordOverflow, AlertDescription.RECORD_OVERFLOW)


# ------------------------------------------------------------------ renegotiation


def test_client_hello_after_handshake_gets_no_renegotiation_warning() -> None:
    client, server = connected_pair()
    hello = ClientHello(0x0303, os.urandom(32), b"", (0x002F,), b"\x00", None)
    client_seal = client.write_state.seal(ContentType.HANDSHAKE, 0x0303, encode_handshake(hello))
    server.receive_bytes(client_seal)
    assert server.next_event() is None
    client.receive_bytes(server.bytes_to_send())
    assert client.next_event() == AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
    client.send_data(b"still here")
    server.send_data(b"me too")
    client_events, server_events = pump(client, server)
    assert received(server_events) == b"still here" and received(client_events) == b"me too"


def test_hello_request_after_handshake_gets_no_renegotiation_warning() -> None:
    client, server = connected_pair()
    # our server never asks for renegotiation; forge the HelloRequest with its live write state
    client.receive_bytes(server.write_state.seal(ContentType.HANDSHAKE, 0x0303, encode_handshake(HelloRequest())))
    assert client.next_event() is None
    client.send_data(b"carry on")
    server_events = deliver(client, server)
    assert server_events[0] == AlertEvent(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
    assert received(server_events) == b"carry on"  # type: ignore[arg-type]


def test_hello_request_during_handshake_is_ignored() -> None:
    client, server = start()
    deliver(client, server)
    client.receive_bytes(record(ContentType.HANDSHAKE, encode_handshake(HelloRequest())))
    client_events, server_events = pump(client, server)
    assert completes(client_events) and completes(server_events)


# ------------------------------------------------------------------ alerts, close, EOF, stickiness


def test_fatal_alert_from_peer_raises_alert_received() -> None:
    client, server = start()
    deliver(client, server)
    server.receive_bytes(record(ContentType.ALERT, bytes([AlertLevel.FATAL, AlertDescription.INTERNAL_ERROR])))
    with pytest.raises(errors.AlertReceived) as info:
        server.next_event()
    assert info.value.description == AlertDescription.INTERNAL_ERROR
    with pytest.raises(errors.AlertReceived):
        server.next_event()


def test_warning_alert_is_an_event() -> None:
    client, server = connected_pair()
    server.receive_bytes(client.write_state.seal(ContentType.ALERT, 0x0303, bytes([1, AlertDescription.USER_CANCELED])))
    assert server.next_event() == AlertEvent(1, AlertDescription.USER_CANCELED)


def test_close_notify_is_clean_and_answered() -> None:
    client, server = connected_pair()
    client.close()
    with pytest.raises(errors.ConnectionClosedError):
        client.send_data(b"after close")
    server.receive_bytes(client.bytes_to_send())
    assert server.next_event() == ConnectionClosed(clean=True)
    assert server.next_event() is None
    client.receive_bytes(server.bytes_to_send())
    assert client.next_event() == ConnectionClosed(clean=True)


def test_eof_without_close_notify_is_truncation() -> None:
    client, server = connected_pair()
    client.send_data(b"partial")
    data = client.bytes_to_send()
    server.receive_bytes(data[:-3])
    server.receive_bytes(b"")
    assert server.next_event() == ConnectionClosed(clean=False)


def test_eof_mid_handshake_is_truncation() -> None:
    client, server = start()
    deliver(client, server)
    client.receive_bytes(b"")
    assert client.next_event() == ConnectionClosed(clean=False)


def test_flipped_byte_in_application_record_is_bad_record_mac() -> None:
    client, server = connected_pair()
    client.send_data(b"secret data")
    data = bytearray(client.bytes_to_send())
    data[-1] ^= 0x01
    server.receive_bytes(bytes(data))
    fails_with(server, errors.BadRecordMAC, AlertDescription.BAD_RECORD_MAC)
    peer_sees_alert(server, client, AlertDescription.BAD_RECORD_MAC)


def test_garbage_is_a_typed_error_not_a_traceback() -> None:
    for blob in (b"GET / HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", os.urandom(64)):
        server = Connection(server_config(), server_side=True)
        server.receive_bytes(blob)
        with pytest.raises(errors.ProtocolError):
            for _ in range(5):
                if server.next_event() is None:
                    break
            raise errors.DecodeError("needs more")  # incomplete input is fine too


# ------------------------------------------------------------------ certificates


def test_certificate_verification(tmp_path: Path) -> None:
    _, _, ca = write_pem(tmp_path, "rsa")
    client, server = start(client_config(verify=True, cafile=ca))
    client_events, _ = pump(client, server)
    assert completes(client_events)
    assert client.peer_certificates and client.peer_certificates[0] == server.config.certificate_chain[0]


def test_wrong_host_name_is_bad_certificate(tmp_path: Path) -> None:
    _, _, ca = write_pem(tmp_path, "rsa")
    client, server = start(client_config(verify=True, cafile=ca, server_name="example.com"))
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.ProtocolError, AlertDescription.BAD_CERTIFICATE)


def test_untrusted_issuer_is_unknown_ca(tmp_path: Path) -> None:
    _, _, other_ca = write_pem(tmp_path, "p384")  # a different CA
    client, server = start(client_config(verify=True, cafile=other_ca))
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.ProtocolError, AlertDescription.UNKNOWN_CA)


def _records(data: bytes) -> list[object]:
    deframer = Deframer()
    deframer.feed(data)
    return list(deframer)


def test_no_common_signature_scheme_is_handshake_failure() -> None:
    """TLS 1.2 ECDHE needs a scheme both sides accept (RFC 5246 §7.4.1.4.1, §7.4.3)."""
    client, server = start(
        client_config(cipher_suites=[by_name("ECDHE-RSA-AES128-GCM-SHA256")], signature_schemes=[0x0401]),
        server_config(signature_schemes=[0x0804]),
    )
    server.receive_bytes(client.bytes_to_send())
    fails_with(server, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE)


def test_server_key_exchange_signed_with_a_scheme_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client refuses a ServerKeyExchange whose TLS 1.2 scheme it did not offer (illegal_parameter)."""
    client, server = start(client_config(signature_schemes=[0x0804, 0x0401]), server_config(signature_schemes=[0x0401]))
    monkeypatch.setattr(crypto, "choose_signature_scheme", lambda *a: 0x0501)  # rsa_pkcs1_sha384, not offered
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)


def test_forged_server_key_exchange_signature_is_decrypt_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = crypto.sign_params
    monkeypatch.setattr(crypto, "sign_params", lambda key, version, scheme, data: real(key, version, scheme, data + b"x"))
    client, server = start()
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.DecryptError, AlertDescription.DECRYPT_ERROR)


def test_ecdsa_certificate_curve_must_be_offered_by_the_client() -> None:
    """RFC 8422 §5.1.1: a P-384 certificate is not used with a client offering only X25519/P-256."""
    ecdsa_only = [by_name("ECDHE-ECDSA-AES128-GCM-SHA256")]
    client, server = start(client_config(cipher_suites=ecdsa_only, groups=[29, 23]), server_config("p384"))
    server.receive_bytes(client.bytes_to_send())
    fails_with(server, errors.HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE)
    client, server = start(client_config(cipher_suites=ecdsa_only, groups=[29, 24]), server_config("p384"))
    client_events, _ = pump(client, server)
    assert completes(client_events)


def test_client_receiving_before_start_is_unexpected_message() -> None:
    server_flight = record(ContentType.HANDSHAKE, encode_handshake(HelloRequest()) + bytes([2, 0, 0, 0]), 0x0301)
    client = Connection(client_config(), server_side=False)
    client.receive_bytes(server_flight)
    exc = fails_with(client, errors.UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)
    assert "ClientStart" in str(exc)


def test_dhe_public_value_out_of_range_is_illegal_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 7919 §3 / RFC 5246 §7.4.7.2: dh_Yc must satisfy 1 < y < p-1."""
    import tlsstate.handshake.client_states as client_module

    real = client_module.ClientKeyExchange
    monkeypatch.setattr(
        client_module, "ClientKeyExchange",
        lambda **kw: real(**{**kw, "dh_public": b"\x01"}) if "dh_public" in kw else real(**kw),
    )
    suite = [by_name("DHE-RSA-AES128-GCM-SHA256")]
    client, server = start(client_config(cipher_suites=suite), server_config(cipher_suites=suite))
    deliver(client, server)
    deliver(server, client)
    server.receive_bytes(client.bytes_to_send())
    fails_with(server, errors.IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_small_dhe_group_is_insufficient_security(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server DH prime below 1024 bits (Logjam) is refused with insufficient_security."""
    from cryptography.hazmat.primitives.asymmetric import dh as pyca_dh

    from tlsstate.crypto import dh

    numbers = pyca_dh.generate_parameters(2, 512).parameter_numbers()
    monkeypatch.setattr(crypto, "dhe_generate_server", lambda group: dh.generate_dhe(numbers.p, numbers.g))
    suite = [by_name("DHE-RSA-AES128-GCM-SHA256")]
    client, server = start(client_config(cipher_suites=suite), server_config(cipher_suites=suite))
    deliver(client, server)
    client.receive_bytes(server.bytes_to_send())
    fails_with(client, errors.InsufficientSecurity, AlertDescription.INSUFFICIENT_SECURITY)


def test_failed_connection_leaves_shared_config_usable_and_forgets_its_session() -> None:
    """A hostile peer on one connection does not disturb the next (shared config and session cache);
    the session of a connection that ended in a fatal alert is not resumable (RFC 5246 §7.2)."""
    from tlsstate.sessions.cache import SessionCache, SessionStore

    cache, store = SessionCache(), SessionStore()
    ccfg, scfg = client_config(session_store=store), server_config(session_cache=cache)
    client, server = start(ccfg, scfg)
    pump(client, server)
    assert len(cache) == 1
    client.send_data(b"x")
    data = bytearray(client.bytes_to_send())
    data[-1] ^= 1
    server.receive_bytes(bytes(data))
    fails_with(server, errors.BadRecordMAC, AlertDescription.BAD_RECORD_MAC)
    assert len(cache) == 0  # forgotten
    peer_sees_alert(server, client, AlertDescription.BAD_RECORD_MAC)
    assert len(store) == 0
    client, server = start(ccfg, scfg)
    client_events, server_events = pump(client, server)
    assert not completes(client_events).resumed and completes(server_events)
