"""Hostile server against our real client (tlsstate.io.TLSSocket over loopback), RFC 5246 §7.2.

The scripted server runs a real server-side Connection in memory and rewrites its records; the
client must end with the alert the RFC names (sent to the wire) or accept what the RFC allows.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
import threading
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import generate_self_signed
from tlsstate.crypto.suites import by_name
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire import errors
from tlsstate.wire.constants import NamedGroup
from tlsstate.wire.messages import Extension, ServerHello, encode_handshake

from .cases import CLIENT_TABLE, SUITES
from .peer import CCS, HANDSHAKE, HEARTBEAT, Outgoing, ScriptedPeer, record

CERT, KEY = generate_self_signed(["localhost"], "rsa2048")
CLIENT_CASES = {case_id: alert for case_id, _, alert in CLIENT_TABLE}


class ScriptedServer:
    """Accepts one connection on a free loopback port and answers through a tampering ScriptedPeer."""

    def __init__(self, tamper: Callable[[Outgoing], bytes] | None = None,
                 seal_hook: Callable[..., bytes] | None = None, after: Callable[[ScriptedPeer], None] | None = None):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.tamper, self.seal_hook, self.after = tamper, seal_hook, after
        self.peer: ScriptedPeer | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.listener.settimeout(10)
        conn, _ = self.listener.accept()
        config = TLSConfig(certificate_chain=[CERT], private_key=KEY,  # type: ignore[arg-type]
                           cipher_suites=[s for name, _ in SUITES.values() if (s := by_name(name)) is not None])
        peer = ScriptedPeer(conn, config, server_side=True, tamper=self.tamper)
        self.peer = peer
        if self.seal_hook is not None:
            original = peer.conn.write_state.seal
            hook = self.seal_hook
            peer.conn.write_state.seal = lambda ct, v, pt: hook(peer, original, ct, v, pt)  # type: ignore[method-assign]
        peer.run(until=lambda o: o.handshake_complete)
        if self.after is not None and peer.outcome.handshake_complete:
            self.after(peer)
        peer.drain(3)
        conn.close()

    def close(self) -> None:
        self.thread.join(10)
        self.listener.close()


def client_config(suite: str = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", etm: bool = False) -> TLSConfig:
    found = by_name(suite)
    assert found is not None
    return TLSConfig(verify=False, cipher_suites=[found], encrypt_then_mac=etm)


def client_fails(server: ScriptedServer, cfg: TLSConfig) -> errors.TLSError:
    try:
        with pytest.raises(errors.TLSError) as info:
            TLSSocket.connect("127.0.0.1", server.port, cfg, timeout=10).close()
    finally:
        server.close()
    return info.value


def sent_alert(server: ScriptedServer) -> int | None:
    assert server.peer is not None
    return server.peer.outcome.alert


@pytest.mark.parametrize(("suite", "etm"), [pytest.param(*v, id=k) for k, v in SUITES.items()])
def test_server_finished_bitflip(suite: str, etm: bool) -> None:
    def tamper(out: Outgoing) -> bytes:
        if out.protected and out.content_type == HANDSHAKE:
            body = bytearray(out.data[5:])
            body[len(body) // 2] ^= 0x04
            return out.data[:5] + bytes(body)
        return out.data
    server = ScriptedServer(tamper)
    exc = client_fails(server, client_config(suite, etm))
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES["server-finished-bitflip"]
    assert sent_alert(server) == exc.alert  # the alert reached the wire


def test_server_finished_verify_data() -> None:
    def hook(peer: ScriptedPeer, seal: Callable[..., bytes], ct: int, v: int, pt: bytes) -> bytes:
        if ct == HANDSHAKE and pt[:1] == b"\x14":
            pt = pt[:-1] + bytes([pt[-1] ^ 1])
        return seal(ct, v, pt)
    server = ScriptedServer(seal_hook=hook)
    exc = client_fails(server, client_config())
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES["server-finished-verify-data"]


def first_flight(edit: Callable[[bytes], bytes]) -> Callable[[Outgoing], bytes]:
    return lambda out: edit(out.data) if out.index == 0 else out.data


@pytest.mark.parametrize(("case", "tamper"), [
    ("server-hello-duplicated", first_flight(lambda rec: rec + rec)),
    ("server-ccs-bad-payload", lambda out: record(CCS, b"\x02") if out.content_type == CCS else out.data),
    ("server-ccs-two-bytes", lambda out: record(CCS, b"\x01\x01") if out.content_type == CCS else out.data),
    ("server-ccs-two-bytes", lambda out: record(CCS, b"") if out.content_type == CCS else out.data),
    ("server-sslv2-format", first_flight(lambda rec: b"\x80\x2a\x04\x00\x01\x00\x02" + bytes(37))),
    ("server-sslv2-format", first_flight(lambda rec: b"\x80\x1d\x01\x03\x03\x00\x03\x00\x00\x00\x10\x00\x00\x2f"
                                         + bytes(16))),
    ("server-heartbeat-record", first_flight(lambda rec: record(HEARTBEAT, b"\x01\x00\x00") + rec)),
])
def test_server_message_abuse(case: str, tamper: Callable[[Outgoing], bytes]) -> None:
    server = ScriptedServer(tamper)
    exc = client_fails(server, client_config())
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES[case], exc


def test_server_hello_version_not_enabled() -> None:
    """A ServerHello choosing SSL 3.0 (client offers TLS 1.0-1.2 only): protocol_version."""
    def edit(rec: bytes) -> bytes:
        data = bytearray(rec)
        assert data[5] == 2
        data[9:11] = b"\x03\x00"  # ServerHello.server_version
        return bytes(data)
    server = ScriptedServer(first_flight(edit))
    exc = client_fails(server, client_config("TLS_RSA_WITH_AES_128_CBC_SHA"))
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES["server-hello-ssl3-not-enabled"]


def test_server_one_byte_fragments_accepted() -> None:
    def tamper(out: Outgoing) -> bytes:
        if out.content_type == HANDSHAKE and not out.protected:
            version = struct.unpack(">H", out.data[1:3])[0]
            return b"".join(record(HANDSHAKE, out.data[i:i + 1], version) for i in range(5, len(out.data)))
        return out.data
    assert CLIENT_CASES["server-one-byte-fragments"] == "accepted"
    def after(peer: ScriptedPeer) -> None:
        peer.conn.send_data(b"hi")
        peer.conn.close()
        peer.flush()
    server = ScriptedServer(tamper, after=after)
    try:
        with TLSSocket.connect("127.0.0.1", server.port, client_config(), timeout=10) as tls:
            assert tls.recv_all() == b"hi"
            assert not tls.truncated
    finally:
        server.close()


def test_truncation_reported_by_client() -> None:
    """The server's TCP close without close_notify: recv raises ConnectionClosedError(clean=False) (§7.2.1)."""
    assert CLIENT_CASES["server-truncation"] == "closed"
    def after(peer: ScriptedPeer) -> None:
        peer.conn.send_data(b"partial")
        peer.flush()
        peer.sock.shutdown(socket.SHUT_RDWR)
    server = ScriptedServer(after=after)
    try:
        with TLSSocket.connect("127.0.0.1", server.port, client_config(), timeout=10) as tls:
            assert tls.recv() == b"partial"
            with pytest.raises(errors.ConnectionClosedError) as info:
                tls.recv()
            assert info.value.clean is False
    finally:
        server.close()


# ---------------------------------------------------------------- hostile ServerHello extensions and keys

def edit_server_hello_extension(ext_type: int, value: bytes) -> Callable[[Outgoing], bytes]:
    """Replace the data of one extension the server echoed in its ServerHello (same length: the record and
    message lengths stay right; the ServerHello is neither signed nor MACed before Finished)."""
    def edit(rec: bytes) -> bytes:
        data = bytearray(rec)
        assert data[5] == 2  # ServerHello
        pattern = struct.pack(">HH", ext_type, len(value))
        at = bytes(data).index(pattern, 5 + 4 + 2 + 32)
        data[at + 4 : at + 4 + len(value)] = value
        return bytes(data)
    return first_flight(edit)


@pytest.mark.parametrize(("case", "ext_type", "value", "ask"), [
    ("server-record-size-limit-below-64", 28, b"\x00\x3f", {"record_size_limit": 1024}),
    ("server-record-size-limit-below-64", 28, b"\x00\x00", {"record_size_limit": 1024}),
    ("server-max-fragment-length-differs", 1, b"\x03", {"max_fragment_length": 1024}),
    ("server-max-fragment-length-invalid", 1, b"\x00", {"max_fragment_length": 1024}),
    ("server-max-fragment-length-invalid", 1, b"\x05", {"max_fragment_length": 1024}),
])
def test_server_record_limit_extensions(case: str, ext_type: int, value: bytes, ask: dict[str, int]) -> None:
    """RFC 8449 §4 (a limit below 64) and RFC 6066 §4 (an answer that differs or is no code): illegal_parameter."""
    cfg = client_config()
    for name, setting in ask.items():
        setattr(cfg, name, setting)
    server = ScriptedServer(edit_server_hello_extension(ext_type, value))
    exc = client_fails(server, cfg)
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES[case], exc
    assert sent_alert(server) == exc.alert


@pytest.mark.parametrize("ask", [{"record_size_limit": 64}, {"max_fragment_length": 512}])
def test_server_record_limit_control(ask: dict[str, int]) -> None:
    """Unedited, the same offers complete a handshake and an exchange of data larger than the limit."""
    cfg = client_config()
    for name, setting in ask.items():
        setattr(cfg, name, setting)

    def after(peer: ScriptedPeer) -> None:
        peer.conn.send_data(b"y" * 2000)
        peer.conn.close()
        peer.flush()
    server = ScriptedServer(after=after)
    try:
        with TLSSocket.connect("127.0.0.1", server.port, cfg, timeout=10) as tls:
            assert tls.recv_all() == b"y" * 2000
    finally:
        server.close()


@pytest.mark.parametrize("u", [0, 1, 2**255 - 19 - 1,
                               325606250916557431795983626356110631294008115727848805560023387167927233504])
def test_server_x25519_low_order(monkeypatch: pytest.MonkeyPatch, u: int) -> None:
    """The server's (correctly signed) ECDHE value is an X25519 point of small order: the shared secret is
    all zeros, illegal_parameter (RFC 7748 §6.1, RFC 8422 §5.11)."""
    import types

    from tlsstate.handshake import crypto
    from tlsstate.handshake import server_states as server_module

    def low_order(group: int) -> tuple[object, bytes]:
        pair, _ = crypto.ecdhe_generate(group)
        return pair, u.to_bytes(32, "little")

    fake = types.SimpleNamespace(**{**vars(crypto), "ecdhe_generate": low_order})
    monkeypatch.setattr(server_module, "crypto", fake)  # the scripted server only: the client imports crypto itself
    cfg = client_config()
    cfg.groups = [NamedGroup.X25519]
    server = ScriptedServer()
    exc = client_fails(server, cfg)
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES["server-x25519-low-order"], exc
    assert sent_alert(server) == exc.alert


@pytest.mark.parametrize("suite", ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
def test_server_certificate_with_even_rsa_modulus(suite: str) -> None:
    """The server certificate's RSA modulus with its lowest bit cleared: bad_certificate when the Certificate
    arrives (RFC 5246 §7.2.2; RFC 8017 §3.1), not internal_error from the RSA encryption (found by fuzzing)."""
    public = CERT.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    modulus = public.public_numbers().n.to_bytes(256, "big")

    def edit(out: Outgoing) -> bytes:
        if modulus not in out.data:
            return out.data
        data = bytearray(out.data)
        data[bytes(data).index(modulus) + 255] &= 0xFE
        return bytes(data)
    server = ScriptedServer(edit)
    exc = client_fails(server, client_config(suite))
    assert isinstance(exc, errors.ProtocolError), exc
    assert exc.alert.label == CLIENT_CASES["server-certificate-rsa-even-modulus"], exc
    assert sent_alert(server) == exc.alert


# ---------------------------------------------------------------- server_name (RFC 6066 §3)

def rewrite_server_hello(change: Callable[[list[Extension]], list[Extension]]) -> Callable[[Outgoing], bytes]:
    """Re-encode the first record's ServerHello with its extensions changed (the lengths follow)."""
    def edit(rec: bytes) -> bytes:
        assert rec[5] == 2
        length = int.from_bytes(rec[6:9], "big")
        hello = ServerHello.parse(rec[9 : 9 + length])
        changed = dataclasses.replace(hello, extensions=tuple(change(list(hello.extensions or ()))))
        body = encode_handshake(changed) + rec[9 + length:]
        return record(HANDSHAKE, body, struct.unpack(">H", rec[1:3])[0])
    return first_flight(edit)


def test_server_name_not_empty_in_server_hello() -> None:
    """The server's server_name acknowledgement must be empty (RFC 6066 §3): decode_error."""
    def change(extensions: list[Extension]) -> list[Extension]:
        assert any(e.type == 0 and e.data == b"" for e in extensions)  # the server acknowledged localhost
        return [Extension(0, b"\x00\x04\x00\x00\x01a") if e.type == 0 else e for e in extensions]
    server = ScriptedServer(rewrite_server_hello(change))
    cfg = client_config()
    cfg.server_name = "localhost"
    exc = client_fails(server, cfg)
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES["server-server-name-not-empty"]
    assert sent_alert(server) == exc.alert


def test_server_name_unsolicited() -> None:
    """A server_name answer to a ClientHello without one: unsupported_extension (RFC 5246 §7.4.1.4)."""
    server = ScriptedServer(rewrite_server_hello(lambda extensions: [*extensions, Extension(0, b"")]))
    cfg = client_config()
    assert cfg.server_name is None
    exc = client_fails(server, cfg)
    assert isinstance(exc, errors.ProtocolError), exc
    assert exc.alert.label == CLIENT_CASES["server-server-name-unsolicited"]
    assert sent_alert(server) == exc.alert


def test_unrecognized_name_warning_accepted() -> None:
    """The scripted server (a real server Connection, certificate for localhost) warns unrecognized_name for another
    name; our client reports the warning and completes (RFC 6066 §3: the server chose to continue)."""
    assert CLIENT_CASES["server-unrecognized-name-warning"] == "accepted"
    seen: list[bytes] = []

    def tamper(out: Outgoing) -> bytes:
        seen.append(out.data[:7])
        return out.data

    def after(peer: ScriptedPeer) -> None:
        peer.conn.send_data(b"named")
        peer.conn.close()
        peer.flush()
    server = ScriptedServer(tamper, after=after)
    cfg = client_config()
    cfg.server_name = "other.example"
    try:
        with TLSSocket.connect("127.0.0.1", server.port, cfg, timeout=10) as tls:
            assert tls.recv_all() == b"named"
            assert [(w.level, w.description) for w in tls.warnings] == [(1, 112)]
    finally:
        server.close()
    assert seen[0] == record(21, b"\x01\x70", seen[0][1] << 8 | seen[0][2])  # the warning came first


def test_client_refuses_to_send_a_bad_server_name() -> None:
    """What our client sends is a HostName a server accepts (RFC 6066 §3): a bad one is a ConfigurationError."""
    for name in ("local\x00host", "bell\x07.example", "a..b", "-a.example", "x" * 64 + ".example"):
        cfg = client_config()
        cfg.server_name = name
        with pytest.raises(errors.ConfigurationError, match="server_name"):
            cfg.check(server_side=False)
