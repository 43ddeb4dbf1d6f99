"""In-process interop with a real TLS implementation: CPython ``ssl`` (OpenSSL 3) over MemoryBIO.

Our server against an ``ssl`` client and our client against an ``ssl`` server, for TLS 1.0/1.1/1.2 ×
key exchange (RSA, ECDHE over X25519/P-256/P-384 with RSA and ECDSA certificates) × cipher family
(AES-CBC with SHA/SHA256/SHA384, with and without encrypt-then-MAC; AES-GCM; AES-CCM; ChaCha20-Poly1305)
× extended master secret on/off. Application data goes both ways and is compared by SHA-256; session
resumption is checked in both directions. Nothing here compares against values tlsstate computed.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.connections import HOST, client_config, completes, received, server_config, write_pem
from tests.helpers.peers import SSL_VERSIONS, SslPeer, exchange, shutdown, ssl_context, transfer
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_name
from tlsstate.events import Event, HandshakeComplete
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.wire.constants import AlertDescription, NamedGroup, ProtocolVersion, SignatureScheme
from tlsstate.wire.errors import AlertReceived, ConfigurationError, ProtocolError

pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")

# (suite OpenSSL name, certificate kind)
SUITES = [
    ("AES128-SHA", "rsa"),
    ("AES256-SHA", "rsa"),
    ("AES128-SHA256", "rsa"),
    ("AES128-GCM-SHA256", "rsa"),
    ("AES256-GCM-SHA384", "rsa"),
    ("AES128-CCM", "rsa"),
    ("ECDHE-RSA-AES128-SHA", "rsa"),
    ("ECDHE-RSA-AES128-SHA256", "rsa"),
    ("ECDHE-RSA-AES256-SHA384", "rsa"),
    ("ECDHE-RSA-AES128-GCM-SHA256", "rsa"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "rsa"),
    ("ECDHE-RSA-CHACHA20-POLY1305", "rsa"),
    ("ECDHE-ECDSA-AES128-SHA", "p256"),
    ("ECDHE-ECDSA-AES256-SHA384", "p384"),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "p256"),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", "p256"),
    ("ECDHE-ECDSA-AES128-CCM", "p256"),
]
GROUPS = [NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1]
GROUP_NAMES = {NamedGroup.X25519: "X25519", NamedGroup.SECP256R1: "prime256v1", NamedGroup.SECP384R1: "secp384r1"}


def _cases() -> list[object]:
    cases = []
    for version in SSL_VERSIONS:
        for name, kind in SUITES:
            suite = by_name(name)
            assert suite is not None
            if not suite.valid_for(version):
                continue
            groups: list[NamedGroup | None] = [None] if suite.key_exchange is KeyExchange.RSA else list(GROUPS)
            etms = [True, False] if suite.cipher.block_size else [True]
            for group in groups:
                for ems in (True, False):
                    for etm in etms:
                        gname = group.name.lower() if group is not None else "rsa"
                        ident = f"{version.cli_name}-{name}-{gname}-{'ems' if ems else 'noems'}-{'etm' if etm else 'mte'}"
                        cases.append(pytest.param(version, suite, kind, group, ems, etm, id=ident))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def pem_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pem")


def _our_config(
    base: TLSConfig, version: ProtocolVersion, suite: CipherSuite, group: NamedGroup | None, ems: bool, etm: bool
) -> TLSConfig:
    base.min_version = base.max_version = version
    base.cipher_suites = [suite]
    base.extended_master_secret = ems
    base.encrypt_then_mac = etm
    if group is not None:
        base.groups = [group]
    return base


def _check(done: HandshakeComplete, version: ProtocolVersion, suite: CipherSuite, ems: bool, etm: bool) -> None:
    assert done.version == version
    assert done.cipher_suite == suite
    assert done.extended_master_secret is ems
    assert done.encrypt_then_mac is (etm and suite.cipher.block_size > 0)


@pytest.mark.parametrize(("version", "suite", "kind", "group", "ems", "etm"), CASES)
def test_our_server_with_ssl_client(
    pem_dir: Path, version: ProtocolVersion, suite: CipherSuite, kind: str, group: NamedGroup | None, ems: bool, etm: bool
) -> None:
    conn = Connection(_our_config(server_config(kind), version, suite, group, ems, etm), server_side=True)
    peer = SslPeer(ssl_context(False, version, suite, pem_dir, kind), server_side=False)
    done = completes(exchange(conn, peer))
    _check(done, version, suite, ems, etm)
    assert peer.obj.version() == {0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2"}[version]
    assert peer.obj.cipher()[0] == suite.openssl_name
    transfer(conn, peer, 20000)


@pytest.mark.parametrize(("version", "suite", "kind", "group", "ems", "etm"), CASES)
def test_our_client_with_ssl_server(
    pem_dir: Path, version: ProtocolVersion, suite: CipherSuite, kind: str, group: NamedGroup | None, ems: bool, etm: bool
) -> None:
    _, _, ca = write_pem(pem_dir, kind)
    cfg = _our_config(client_config(verify=True, cafile=ca), version, suite, group, ems, etm)
    ctx = ssl_context(True, version, suite, pem_dir, kind)
    if group is not None:
        ctx.set_ecdh_curve(GROUP_NAMES[group])  # the server picks this group for ECDHE
        cert_curve = {"p256": NamedGroup.SECP256R1, "p384": NamedGroup.SECP384R1}.get(kind)
        if cert_curve is not None and cert_curve != group:
            cfg.groups = [group, cert_curve]  # RFC 8422 §5.1.1: an ECDSA certificate's curve must be offered
    conn = Connection(cfg, server_side=False)
    peer = SslPeer(ctx, server_side=True)
    conn.start_handshake()
    done = completes(exchange(conn, peer))
    _check(done, version, suite, ems, etm)
    assert peer.obj.cipher()[0] == suite.openssl_name
    transfer(conn, peer, 20000)


@pytest.mark.parametrize("name", ["ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA", "ECDHE-RSA-CHACHA20-POLY1305"])
def test_one_mebibyte_each_way(pem_dir: Path, name: str) -> None:
    suite = by_name(name)
    assert suite is not None
    conn = Connection(server_config("rsa", cipher_suites=[suite]), server_side=True)
    peer = SslPeer(ssl_context(False, ProtocolVersion.TLS1_2, None, pem_dir, "rsa"), server_side=False)
    exchange(conn, peer)
    transfer(conn, peer, 1 << 20)
    client_cfg = client_config(cipher_suites=[suite])
    conn = Connection(client_cfg, server_side=False)
    peer = SslPeer(ssl_context(True, ProtocolVersion.TLS1_2, None, pem_dir, "rsa"), server_side=True)
    conn.start_handshake()
    exchange(conn, peer)
    transfer(conn, peer, 1 << 20)


@pytest.mark.parametrize("version", list(SSL_VERSIONS))
def test_ssl_client_resumes_with_our_server(pem_dir: Path, version: ProtocolVersion) -> None:
    cfg = server_config("rsa", session_cache=SessionCache(), min_version=version, max_version=version)
    ctx = ssl_context(False, version, None, pem_dir, "rsa")
    first = SslPeer(ctx, server_side=False)
    conn = Connection(cfg, server_side=True)
    assert not completes(exchange(conn, first)).resumed
    transfer(conn, first, 1000)
    session = first.obj.session
    assert session is not None
    second = SslPeer(ctx, server_side=False, session=session)
    conn2 = Connection(cfg, server_side=True)
    assert completes(exchange(conn2, second)).resumed
    assert second.obj.session_reused
    assert conn2.security is not None and conn2.security.premaster_secret is None
    transfer(conn2, second, 1000)


@pytest.mark.parametrize("version", list(SSL_VERSIONS))
def test_our_client_resumes_with_ssl_server(pem_dir: Path, version: ProtocolVersion) -> None:
    ctx = ssl_context(True, version, None, pem_dir, "rsa")
    cfg = client_config(session_store=SessionStore(), min_version=version, max_version=version)
    results = []
    for _ in range(2):
        conn = Connection(cfg, server_side=False)
        peer = SslPeer(ctx, server_side=True)
        conn.start_handshake()
        results.append((completes(exchange(conn, peer)).resumed, peer.obj.session_reused))
        transfer(conn, peer, 1000)
        shutdown(peer)  # OpenSSL drops a session from its cache unless the server sent close_notify
    assert results == [(False, False), (True, True)]


def test_alpn_and_sni_seen_by_ssl_server(pem_dir: Path) -> None:
    ctx = ssl_context(True, ProtocolVersion.TLS1_2, None, pem_dir, "rsa")
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    seen: list[str | None] = []
    ctx.sni_callback = lambda obj, name, c: seen.append(name)  # type: ignore[assignment,misc]
    conn = Connection(client_config(alpn_protocols=["http/1.1", "spdy/1"]), server_side=False)
    peer = SslPeer(ctx, server_side=True)
    conn.start_handshake()
    done = completes(exchange(conn, peer))
    assert seen == [HOST]
    assert done.alpn == "http/1.1" and peer.obj.selected_alpn_protocol() == "http/1.1"


def test_alpn_and_sni_from_ssl_client(pem_dir: Path) -> None:
    ctx = ssl_context(False, ProtocolVersion.TLS1_2, None, pem_dir, "rsa")
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    conn = Connection(server_config("rsa", alpn_protocols=["http/1.1"]), server_side=True)
    peer = SslPeer(ctx, server_side=False)
    done = completes(exchange(conn, peer))
    assert done.server_name == HOST
    assert done.alpn == "http/1.1" and peer.obj.selected_alpn_protocol() == "http/1.1"


def test_ssl_client_offering_tls13_gets_our_tls12(pem_dir: Path) -> None:
    """RFC 5246 Appendix E.1: a client offering more gets our highest version (TLS 1.3 is not ours)."""
    ctx = ssl_context(False, ProtocolVersion.TLS1_2, None, pem_dir, "rsa")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    conn = Connection(server_config("rsa"), server_side=True)
    peer = SslPeer(ctx, server_side=False)
    done = completes(exchange(conn, peer))
    assert done.version == ProtocolVersion.TLS1_2 and peer.obj.version() == "TLSv1.2"


def test_close_notify_both_ways(pem_dir: Path) -> None:
    ctx = ssl_context(True, ProtocolVersion.TLS1_2, None, pem_dir, "rsa")
    conn = Connection(client_config(), server_side=False)
    peer = SslPeer(ctx, server_side=True)
    conn.start_handshake()
    exchange(conn, peer)
    conn.close()
    peer.incoming.write(conn.bytes_to_send())
    with contextlib.suppress(ssl.SSLZeroReturnError):
        assert peer.obj.read(10) == b""
    peer.obj.unwrap()
    conn.receive_bytes(peer.outgoing.read())
    events: list[Event] = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    assert [type(e).__name__ for e in events] == ["ConnectionClosed"]
    assert received(events) == b""


SCHEME_CASES = [
    ("rsa", SignatureScheme.RSA_PKCS1_SHA256),
    ("rsa", SignatureScheme.RSA_PKCS1_SHA384),
    ("rsa", SignatureScheme.RSA_PSS_RSAE_SHA256),
    ("rsa", SignatureScheme.RSA_PSS_RSAE_SHA512),
    ("rsa", SignatureScheme.RSA_PKCS1_SHA1),
    ("p256", SignatureScheme.ECDSA_SECP256R1_SHA256),
    ("p384", SignatureScheme.ECDSA_SECP384R1_SHA384),
    ("p256", SignatureScheme.ECDSA_SHA1),
]


@pytest.mark.parametrize(("kind", "scheme"), SCHEME_CASES, ids=[f"{k}-{s.name.lower()}" for k, s in SCHEME_CASES])
def test_server_key_exchange_signature_schemes(pem_dir: Path, kind: str, scheme: SignatureScheme) -> None:
    """TLS 1.2 ServerKeyExchange signed (our server) and verified (our client) with PKCS#1 v1.5, PSS and ECDSA."""
    # our server signs with the one scheme it is allowed; OpenSSL verifies
    conn = Connection(server_config(kind, signature_schemes=[scheme]), server_side=True)
    peer = SslPeer(ssl_context(False, ProtocolVersion.TLS1_2, None, pem_dir, kind), server_side=False)
    assert "ECDHE" in completes(exchange(conn, peer)).cipher_suite.name
    transfer(conn, peer, 100)
    # our client offers only that scheme; OpenSSL must sign with it and we verify
    conn = Connection(client_config(signature_schemes=[scheme]), server_side=False)
    peer = SslPeer(ssl_context(True, ProtocolVersion.TLS1_2, None, pem_dir, kind), server_side=True)
    conn.start_handshake()
    assert "ECDHE" in completes(exchange(conn, peer)).cipher_suite.name
    transfer(conn, peer, 100)


# OpenSSL 3 include/openssl/ssl.h.in: SSL_OP_NO_EXTENDED_MASTER_SECRET = SSL_OP_BIT(0),
# SSL_OP_NO_ENCRYPT_THEN_MAC = SSL_OP_BIT(19) (not exported by Python 3.11's ssl module).
OPENSSL_NO_EMS = 1 << 0
OPENSSL_NO_ETM = 1 << 19


@pytest.mark.parametrize("version", list(SSL_VERSIONS))
@pytest.mark.parametrize(("peer_ems", "peer_etm"), [(True, True), (False, True), (True, False), (False, False)])
def test_peer_without_ems_or_etm(pem_dir: Path, version: ProtocolVersion, peer_ems: bool, peer_etm: bool) -> None:
    """RFC 7627 / RFC 7366 negotiation when OpenSSL itself turns the extension off, both roles."""
    suite = by_name("ECDHE-RSA-AES128-SHA")
    assert suite is not None
    options = (0 if peer_ems else OPENSSL_NO_EMS) | (0 if peer_etm else OPENSSL_NO_ETM)
    for server_side in (True, False):
        ctx = ssl_context(not server_side, version, suite, pem_dir, "rsa")
        ctx.options |= options  # type: ignore[assignment]
        cfg = server_config("rsa", min_version=version, max_version=version) if server_side else client_config(
            min_version=version, max_version=version
        )
        conn = Connection(cfg, server_side=server_side)
        peer = SslPeer(ctx, server_side=not server_side)
        if not server_side:
            conn.start_handshake()
        done = completes(exchange(conn, peer))
        assert (done.extended_master_secret, done.encrypt_then_mac) == (peer_ems, peer_etm)
        transfer(conn, peer, 5000)


def test_certificate_request_answered_with_an_empty_certificate(pem_dir: Path) -> None:
    """RFC 5246 §7.4.6: asked for a client certificate we have none of; an optional request still succeeds."""
    ctx = ssl_context(True, ProtocolVersion.TLS1_2, None, pem_dir, "rsa")
    ctx.verify_mode = ssl.CERT_OPTIONAL
    _, _, ca = write_pem(pem_dir, "rsa")
    ctx.load_verify_locations(ca)
    conn = Connection(client_config(), server_side=False)
    peer = SslPeer(ctx, server_side=True)
    conn.start_handshake()
    completes(exchange(conn, peer))
    assert peer.obj.getpeercert() is None or peer.obj.getpeercert() == {}
    transfer(conn, peer, 1000)


def test_required_client_certificate_ends_with_the_peers_alert(pem_dir: Path) -> None:
    ctx = ssl_context(True, ProtocolVersion.TLS1_2, None, pem_dir, "rsa")
    ctx.verify_mode = ssl.CERT_REQUIRED
    _, _, ca = write_pem(pem_dir, "rsa")
    ctx.load_verify_locations(ca)
    conn = Connection(client_config(), server_side=False)
    peer = SslPeer(ctx, server_side=True)
    conn.start_handshake()
    with pytest.raises(AlertReceived) as info:
        for _ in range(10):
            with contextlib.suppress(ssl.SSLError):
                peer.step()
            data = peer.outgoing.read()
            if data:
                conn.receive_bytes(data)
            while conn.next_event() is not None:
                pass
            peer.incoming.write(conn.bytes_to_send())
    assert info.value.description == AlertDescription.HANDSHAKE_FAILURE


@st.composite
def _random_setup(draw: st.DrawFn) -> dict[str, object]:
    ours = sorted(draw(st.lists(st.sampled_from(list(SSL_VERSIONS)), min_size=2, max_size=2)))
    theirs = sorted(draw(st.lists(st.sampled_from(list(SSL_VERSIONS)), min_size=2, max_size=2)))
    names = [name for name, _ in SUITES]
    return {
        "ours": ours, "theirs": theirs,
        "suites": draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True)),
        "kind": draw(st.sampled_from(["rsa", "p256", "p384"])),
        "groups": draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True)),
        "ems": draw(st.booleans()), "etm": draw(st.booleans()), "server_side": draw(st.booleans()),
    }


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(setup=_random_setup())
def test_random_settings_against_openssl(pem_dir: Path, setup: dict[str, Any]) -> None:
    """Random versions/suites/groups on our side against OpenSSL: agree on the same parameters, or one side
    refuses with an alert; never internal_error, never a stall."""
    kind, server_side = setup["kind"], setup["server_side"]
    suites = [by_name(name) for name in setup["suites"]]
    common = {"min_version": setup["ours"][0], "max_version": setup["ours"][1], "cipher_suites": suites,
              "groups": setup["groups"], "extended_master_secret": setup["ems"], "encrypt_then_mac": setup["etm"]}
    ctx = ssl_context(not server_side, setup["theirs"][1], None, pem_dir, kind)
    ctx.minimum_version = SSL_VERSIONS[setup["theirs"][0]]
    conn = Connection(server_config(kind, **common) if server_side else client_config(**common), server_side=server_side)
    peer = SslPeer(ctx, server_side=not server_side)
    events: list[Event] = []
    try:
        if not server_side:
            conn.start_handshake()
        for _ in range(20):
            with contextlib.suppress(ssl.SSLWantReadError):
                peer.step()
            data = peer.outgoing.read()
            if data:
                conn.receive_bytes(data)
            while (event := conn.next_event()) is not None:
                events.append(event)
            out = conn.bytes_to_send()
            if out:
                peer.incoming.write(out)
            if peer.done and conn.handshake_complete and not data and not out:
                break
    except ssl.SSLError:
        assert not conn.handshake_complete
        return
    except ConfigurationError:  # e.g. no configured suite valid for the configured versions
        return
    except AlertReceived as exc:
        assert exc.description != AlertDescription.INTERNAL_ERROR
        return
    except ProtocolError as exc:
        assert exc.alert != AlertDescription.INTERNAL_ERROR, exc
        return
    done = completes(events)
    assert peer.done
    assert peer.obj.cipher()[0] == done.cipher_suite.openssl_name
    assert peer.obj.version() == {0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2"}[done.version]
    transfer(conn, peer, 3000)


def _dh_params_file(pem: Path) -> str:
    """RFC 7919 ffdhe2048 as PKCS#3 PEM, for OpenSSL's load_dh_params (it has no DH parameters by default)."""
    from cryptography.hazmat.primitives.asymmetric import dh
    from cryptography.hazmat.primitives.serialization import Encoding, ParameterFormat

    from tlsstate.crypto.dh import FFDHE_PRIMES

    path = pem / "ffdhe2048.pem"
    numbers = dh.DHParameterNumbers(FFDHE_PRIMES[NamedGroup.FFDHE2048], 2)
    path.write_bytes(numbers.parameters().parameter_bytes(Encoding.PEM, ParameterFormat.PKCS3))
    return str(path)


DHE_CASES = [
    pytest.param(version, name, id=f"{version.cli_name}-{name}")
    for version in SSL_VERSIONS
    for name in ("DHE-RSA-AES128-SHA", "DHE-RSA-AES256-SHA256", "DHE-RSA-AES128-GCM-SHA256",
                 "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305", "DHE-RSA-AES128-CCM")
    if by_name(name).valid_for(version)  # type: ignore[union-attr]
]


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@pytest.mark.parametrize(("version", "name"), DHE_CASES)
def test_dhe_rsa_both_roles(pem_dir: Path, version: ProtocolVersion, name: str) -> None:
    """Finite-field DHE (RFC 5246 §7.4.3, §8.1.2) with an RFC 7919 group, against OpenSSL both ways."""
    suite = by_name(name)
    assert suite is not None
    common = {"min_version": version, "max_version": version, "cipher_suites": [suite]}
    conn = Connection(server_config("rsa", **common), server_side=True)
    peer = SslPeer(ssl_context(False, version, suite, pem_dir, "rsa"), server_side=False)
    assert completes(exchange(conn, peer)).cipher_suite == suite
    assert peer.obj.cipher()[0] == name
    transfer(conn, peer, 20000)
    ctx = ssl_context(True, version, suite, pem_dir, "rsa")
    ctx.load_dh_params(_dh_params_file(pem_dir))
    conn = Connection(client_config(**common), server_side=False)
    peer = SslPeer(ctx, server_side=True)
    conn.start_handshake()
    assert completes(exchange(conn, peer)).cipher_suite == suite
    assert conn.premaster_secret is not None and conn.premaster_secret[0] != 0  # leading zeros stripped
    transfer(conn, peer, 20000)
