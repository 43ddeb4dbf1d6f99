"""The post-quantum hybrid X25519MLKEM768 (RFC 10024) and HelloRetryRequest against OpenSSL 4, both roles.

OpenSSL 4 is the one bundled in pyca/cryptography's wheel, driven through pyOpenSSL from PyPI over memory BIOs: its
default TLS 1.3 ClientHello carries shares for X25519MLKEM768 and X25519 and its server prefers the hybrid, so
``SSL_get0_group_name`` (``Connection.get_group_name()``) on OpenSSL's side says which group was used, never our
own report. SecP256r1MLKEM768, in neither side's default list, is set on OpenSSL's side with its own group-list call.
1 MiB each way, compared by SHA-256. HelloRetryRequest: our server accepting only secp256r1 makes
OpenSSL send a second ClientHello; our client offering a share OpenSSL's server does not take gets one from it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.helpers.connections import HOST, credentials, write_pem
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.events import ApplicationData, HandshakeComplete
from tlsstate.wire.constants import NamedGroup, ProtocolVersion

SSL = pytest.importorskip("OpenSSL.SSL")
pytestmark = pytest.mark.interop

TLS13 = ProtocolVersion.TLS1_3
MIB = 1 << 20


def _openssl_context(server_side: bool, tmp: Path, groups: bytes | None = None) -> object:
    cert, key, ca = write_pem(tmp, "rsa")
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    if groups is not None:
        _set_groups(ctx, groups)
    if server_side:
        ctx.use_certificate_file(cert)
        ctx.use_privatekey_file(key)
    else:
        ctx.load_verify_locations(ca)
        ctx.set_verify(SSL.VERIFY_PEER, lambda *args: bool(args[-1]))
    return ctx


def _set_groups(ctx: object, groups: bytes) -> None:
    """OpenSSL's own group list (``SSL_CTX_set1_groups_list``, spelled ``set1_curves_list`` in pyca's bindings).

    pyOpenSSL has no setter for TLS 1.3 groups; the binding's function is OpenSSL's, called on pyOpenSSL's SSL_CTX.
    """
    from cryptography.hazmat.bindings.openssl.binding import Binding

    if Binding.lib.SSL_CTX_set1_curves_list(ctx._context, groups) != 1:  # type: ignore[attr-defined]
        pytest.skip(f"this OpenSSL does not know the groups {groups.decode()}")


def _peer(server_side: bool, tmp: Path, groups: bytes | None = None) -> object:
    peer = SSL.Connection(_openssl_context(server_side, tmp, groups), None)
    if server_side:
        peer.set_accept_state()
    else:
        peer.set_connect_state()
        peer.set_tlsext_host_name(HOST.encode())
    return peer


def _drain(peer: object) -> bytes:
    out = b""
    while True:
        try:
            out += peer.bio_read(65536)  # type: ignore[attr-defined]
        except SSL.WantReadError:
            return out


def _pump(conn: Connection, peer: object, rounds: int = 30) -> HandshakeComplete:
    done = False
    for _ in range(rounds):
        if not done:
            try:
                peer.do_handshake()  # type: ignore[attr-defined]
                done = True
            except SSL.WantReadError:
                pass
        data = _drain(peer)
        if data:
            conn.receive_bytes(data)
        while conn.next_event() is not None:
            pass
        out = conn.bytes_to_send()
        if out:
            peer.bio_write(out)  # type: ignore[attr-defined]
        if done and conn.handshake_complete and not data and not out:
            break
    assert done and conn.handshake_info is not None
    return conn.handshake_info


def _transfer(conn: Connection, peer: object) -> None:
    to_peer, to_us = os.urandom(MIB), os.urandom(MIB)
    conn.send_data(to_peer)
    peer.bio_write(conn.bytes_to_send())  # type: ignore[attr-defined]
    got = bytearray()
    while len(got) < MIB:
        got += peer.recv(65536)  # type: ignore[attr-defined]
    assert hashlib.sha256(got).digest() == hashlib.sha256(to_peer).digest()
    view, sent = memoryview(to_us), 0
    while sent < MIB:
        sent += peer.send(view[sent:sent + 16384])  # type: ignore[attr-defined]
        conn.receive_bytes(_drain(peer))
    ours = bytearray()
    while (event := conn.next_event()) is not None:
        assert isinstance(event, ApplicationData)
        ours += event.data
    assert hashlib.sha256(ours).digest() == hashlib.sha256(to_us).digest()


def test_openssl4_negotiates_x25519mlkem768_with_our_server(tmp_path: Path) -> None:
    chain, key = credentials("rsa")
    conn = Connection(TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key), server_side=True)
    peer = _peer(False, tmp_path)
    hs = _pump(conn, peer)
    assert peer.get_group_name() == "X25519MLKEM768"
    assert peer.get_protocol_version_name() == "TLSv1.3"
    assert hs.key_exchange_group == NamedGroup.X25519MLKEM768 and not hs.hello_retry
    _transfer(conn, peer)


def test_our_client_negotiates_x25519mlkem768_with_openssl4(tmp_path: Path) -> None:
    ca = write_pem(tmp_path, "rsa")[2]
    conn = Connection(TLSConfig(max_version=TLS13, cafile=ca, server_name=HOST), server_side=False)
    conn.start_handshake()
    peer = _peer(True, tmp_path)
    peer.bio_write(conn.bytes_to_send())
    hs = _pump(conn, peer)
    assert peer.get_group_name() == "X25519MLKEM768"
    assert hs.key_exchange_group == NamedGroup.X25519MLKEM768 and not hs.hello_retry
    _transfer(conn, peer)


def test_our_server_asks_openssl4_for_another_share(tmp_path: Path) -> None:
    """Our server takes only secp256r1, which OpenSSL lists but sends no share for: HelloRetryRequest."""
    chain, key = credentials("rsa")
    config = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key, groups=[NamedGroup.SECP256R1])
    conn = Connection(config, server_side=True)
    peer = _peer(False, tmp_path)
    hs = _pump(conn, peer)
    assert peer.get_group_name() in ("secp256r1", "prime256v1")
    assert hs.key_exchange_group == NamedGroup.SECP256R1 and hs.hello_retry
    _transfer(conn, peer)


def test_openssl4_asks_our_client_for_another_share(tmp_path: Path) -> None:
    """We send only an x448 share but list X25519MLKEM768: OpenSSL's server prefers the hybrid and asks for it."""
    ca = write_pem(tmp_path, "rsa")[2]
    config = TLSConfig(max_version=TLS13, cafile=ca, server_name=HOST, key_share_groups=[NamedGroup.X448],
                       groups=[NamedGroup.X448, NamedGroup.X25519MLKEM768])
    conn = Connection(config, server_side=False)
    conn.start_handshake()
    peer = _peer(True, tmp_path)
    peer.bio_write(conn.bytes_to_send())
    hs = _pump(conn, peer)
    assert peer.get_group_name() == "X25519MLKEM768"
    assert hs.key_exchange_group == NamedGroup.X25519MLKEM768 and hs.hello_retry
    _transfer(conn, peer)


def test_openssl4_negotiates_secp256r1mlkem768_with_our_server(tmp_path: Path) -> None:
    """OpenSSL 4 told to offer only SecP256r1MLKEM768 (RFC 10024: ECDH share first, then the ML-KEM key).

    Not in either side's default list (as in OpenSSL's), so our server is configured to take it.
    """
    chain, key = credentials("rsa")
    config = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key,
                       groups=[NamedGroup.X25519MLKEM768, NamedGroup.SECP256R1MLKEM768, NamedGroup.X25519])
    conn = Connection(config, server_side=True)
    peer = _peer(False, tmp_path, b"SecP256r1MLKEM768")
    hs = _pump(conn, peer)
    assert peer.get_group_name() == "SecP256r1MLKEM768"
    assert hs.key_exchange_group == NamedGroup.SECP256R1MLKEM768 and not hs.hello_retry
    _transfer(conn, peer)


def test_our_client_negotiates_secp256r1mlkem768_with_openssl4(tmp_path: Path) -> None:
    """Our client offers only SecP256r1MLKEM768; OpenSSL 4's server takes it (its own report names the group)."""
    ca = write_pem(tmp_path, "rsa")[2]
    config = TLSConfig(max_version=TLS13, cafile=ca, server_name=HOST, groups=[NamedGroup.SECP256R1MLKEM768],
                       key_share_groups=[NamedGroup.SECP256R1MLKEM768])
    conn = Connection(config, server_side=False)
    conn.start_handshake()
    peer = _peer(True, tmp_path, b"SecP256r1MLKEM768:X25519MLKEM768")
    peer.bio_write(conn.bytes_to_send())
    hs = _pump(conn, peer)
    assert peer.get_group_name() == "SecP256r1MLKEM768"
    assert hs.key_exchange_group == NamedGroup.SECP256R1MLKEM768 and not hs.hello_retry
    _transfer(conn, peer)
