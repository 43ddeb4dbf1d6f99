"""DHE_RSA with the RFC 7919 groups against OpenSSL (CPython ``ssl`` over MemoryBIO) and in memory.

Our client against an OpenSSL server loaded with the RFC 7919 ffdhe2048/ffdhe3072 parameters (PEM
written by pyca from the RFC primes), our server against an OpenSSL client; application data is
compared by SHA-256 on the OpenSSL side. RFC 7919 §4 group choice and the client's minimum size
(insufficient_security) are checked too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.connections import client_config, completes, handshake, server_config
from tests.helpers.connections import dhparam_file as _dhparam_file
from tests.helpers.peers import SslPeer, exchange, ssl_context, transfer
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import KeyExchange, by_name
from tlsstate.wire.constants import AlertDescription, NamedGroup, ProtocolVersion
from tlsstate.wire.errors import ProtocolError

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields"),
]

DHE_CASES = [
    (ProtocolVersion.TLS1_2, "DHE-RSA-AES128-GCM-SHA256"),
    (ProtocolVersion.TLS1_2, "DHE-RSA-AES256-SHA256"),
    (ProtocolVersion.TLS1_2, "DHE-RSA-CHACHA20-POLY1305"),
    (ProtocolVersion.TLS1_1, "DHE-RSA-AES128-SHA"),
    (ProtocolVersion.TLS1_0, "DHE-RSA-AES256-SHA"),
]


@pytest.fixture(scope="module")
def pem_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dhe")




def _ours(base: TLSConfig, version: ProtocolVersion, name: str) -> TLSConfig:
    suite = by_name(name)
    assert suite is not None and suite.key_exchange is KeyExchange.DHE_RSA
    base.min_version = base.max_version = version
    base.cipher_suites = [suite]
    return base


@pytest.mark.parametrize(("version", "name"), DHE_CASES, ids=[f"{v.cli_name}-{n}" for v, n in DHE_CASES])
def test_our_client_with_openssl_dhe_server(pem_dir: Path, version: ProtocolVersion, name: str) -> None:
    ctx = ssl_context(True, version, by_name(name), pem_dir, "rsa")
    ctx.load_dh_params(_dhparam_file(pem_dir, NamedGroup.FFDHE2048))
    peer = SslPeer(ctx, server_side=True)
    conn = Connection(_ours(client_config(), version, name), server_side=False)
    conn.start_handshake()
    done = completes(exchange(conn, peer))
    assert done.cipher_suite == by_name(name) and done.version == version
    assert done.key_exchange_group == NamedGroup.FFDHE2048  # the prime OpenSSL sent is RFC 7919's
    assert peer.obj.cipher()[0] == name  # type: ignore[index]
    transfer(conn, peer, 20000)


@pytest.mark.parametrize(("version", "name"), DHE_CASES, ids=[f"{v.cli_name}-{n}" for v, n in DHE_CASES])
def test_our_dhe_server_with_openssl_client(pem_dir: Path, version: ProtocolVersion, name: str) -> None:
    conn = Connection(_ours(server_config("rsa"), version, name), server_side=True)
    peer = SslPeer(ssl_context(False, version, by_name(name), pem_dir, "rsa"), server_side=False)
    done = completes(exchange(conn, peer))
    assert done.cipher_suite == by_name(name)
    assert done.key_exchange_group in (NamedGroup.FFDHE2048, NamedGroup.FFDHE3072, NamedGroup.FFDHE4096)
    assert peer.obj.cipher()[0] == name  # type: ignore[index]
    transfer(conn, peer, 20000)


def test_client_rejects_group_below_minimum(pem_dir: Path) -> None:
    """A 2048-bit prime from OpenSSL with min_dh_bits=3072: insufficient_security (RFC 7919 §1)."""
    version, name = ProtocolVersion.TLS1_2, "DHE-RSA-AES128-GCM-SHA256"
    ctx = ssl_context(True, version, by_name(name), pem_dir, "rsa")
    ctx.load_dh_params(_dhparam_file(pem_dir, NamedGroup.FFDHE2048))
    peer = SslPeer(ctx, server_side=True)
    conn = Connection(_ours(client_config(min_dh_bits=3072), version, name), server_side=False)
    conn.start_handshake()
    with pytest.raises(ProtocolError) as info:
        exchange(conn, peer)
    assert info.value.alert == AlertDescription.INSUFFICIENT_SECURITY


def test_client_accepts_larger_openssl_group(pem_dir: Path) -> None:
    version, name = ProtocolVersion.TLS1_2, "DHE-RSA-AES256-GCM-SHA384"
    ctx = ssl_context(True, version, by_name(name), pem_dir, "rsa")
    ctx.load_dh_params(_dhparam_file(pem_dir, NamedGroup.FFDHE3072))
    peer = SslPeer(ctx, server_side=True)
    conn = Connection(_ours(client_config(min_dh_bits=3072), version, name), server_side=False)
    conn.start_handshake()
    assert completes(exchange(conn, peer)).key_exchange_group == NamedGroup.FFDHE3072
    transfer(conn, peer, 1000)


@pytest.mark.parametrize(
    ("client_groups", "server_groups", "expected"),
    [
        ([NamedGroup.FFDHE3072], None, NamedGroup.FFDHE3072),  # RFC 7919 §4: one the client lists
        ([NamedGroup.FFDHE4096, NamedGroup.FFDHE2048], [NamedGroup.FFDHE2048], NamedGroup.FFDHE2048),
        (None, None, NamedGroup.FFDHE2048),  # server preference among the client's defaults
    ],
)
def test_group_choice_in_memory(
    client_groups: list[NamedGroup] | None, server_groups: list[NamedGroup] | None, expected: NamedGroup
) -> None:
    suite = by_name("DHE-RSA-AES128-GCM-SHA256")
    _, _, client_events, server_events = handshake(
        client_config(cipher_suites=[suite], dhe_groups=client_groups),
        server_config("rsa", cipher_suites=[suite], dhe_groups=server_groups),
    )
    assert completes(client_events).key_exchange_group == expected
    assert completes(server_events).key_exchange_group == expected


def test_no_common_ffdhe_group_means_no_dhe() -> None:
    """RFC 7919 §4: the client lists FFDHE groups, none is ours -> DHE is not chosen (here: ECDHE instead)."""
    dhe, ecdhe = by_name("DHE-RSA-AES128-GCM-SHA256"), by_name("ECDHE-RSA-AES128-GCM-SHA256")
    _, _, client_events, _ = handshake(
        client_config(cipher_suites=[dhe, ecdhe], dhe_groups=[NamedGroup.FFDHE4096]),
        server_config("rsa", cipher_suites=[dhe, ecdhe], dhe_groups=[NamedGroup.FFDHE2048]),
    )
    assert completes(client_events).cipher_suite == ecdhe


def test_dhe_in_default_suites_after_ecdhe() -> None:
    kinds = [s.key_exchange for s in TLSConfig().effective_suites()]
    assert KeyExchange.DHE_RSA in kinds
    last_ecdhe = max(i for i, k in enumerate(kinds) if k in (KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA))
    assert kinds.index(KeyExchange.DHE_RSA) > last_ecdhe
    assert all(k is not KeyExchange.RSA for k in kinds[: kinds.index(KeyExchange.DHE_RSA)])
