"""Handshakes per second: tlsstate client+server over memory, beside CPython ``ssl`` doing the same.

Cases (TLS 1.2, RSA-2048 server certificate, no certificate verification on either side so that both
measure the handshake itself, RFC 5246 §7.3):

- full handshake, ECDHE with X25519 (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
- full handshake, RSA key exchange (TLS_RSA_WITH_AES_128_GCM_SHA256);
- resumed (abbreviated) handshake with a session ID (RFC 5246 §7.3 Figure 2); session tickets are off
  on the OpenSSL server so both sides resume the same way.

Each measurement alternates single tlsstate and ``ssl`` handshakes until each side has spent ``seconds``
(so both see the same machine load); the median of ``repeat`` measurements is reported. CPython ``ssl``
is OpenSSL driven through a ``MemoryBIO`` pair, so neither side pays for sockets.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.certs import self_signed_localhost
from tlsstate.crypto.suites import lookup
from tlsstate.events import HandshakeComplete
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.wire.constants import NamedGroup, ProtocolVersion
from tlsstate.wire.errors import HandshakeFailed

#: (case name, suite, resumed?, target ratio vs ssl)
CASES: tuple[tuple[str, str, bool, float], ...] = (
    ("full ECDHE-X25519, RSA-2048 cert", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False, 0.7),
    ("full RSA key exchange, RSA-2048 cert", "TLS_RSA_WITH_AES_128_GCM_SHA256", False, 0.7),
    ("resumed (session ID), ECDHE suite", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", True, 0.5),
)
MAX_FLIGHTS = 16


def _drain(conn: Connection) -> HandshakeComplete | None:
    """Take every pending event; the HandshakeComplete among them, if any."""
    done = None
    while (event := conn.next_event()) is not None:
        if isinstance(event, HandshakeComplete):
            done = event
    return done


def tlsstate_handshake(client_config: TLSConfig, server_config: TLSConfig) -> HandshakeComplete:
    """One complete tlsstate handshake between two in-memory Connections; returns the client's event."""
    client = Connection(client_config, server_side=False)
    server = Connection(server_config, server_side=True)
    client.start_handshake()
    client_done: HandshakeComplete | None = None
    for _ in range(MAX_FLIGHTS):
        data = client.bytes_to_send()
        if data:
            server.receive_bytes(data)
            _drain(server)
        data = server.bytes_to_send()
        if data:
            client.receive_bytes(data)
            client_done = _drain(client) or client_done
        if client_done is not None and server.handshake_complete:
            return client_done
    raise HandshakeFailed("tlsstate handshake did not complete")


def ssl_handshake(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, session: ssl.SSLSession | None, *, keep_session: bool = False
) -> ssl.SSLObject:
    """One complete OpenSSL handshake over a MemoryBIO pair; returns the client SSLObject.

    ``keep_session``: the server sends close_notify so OpenSSL keeps the session in its cache.
    """
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_side=False, session=session)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    client_done = server_done = False
    for _ in range(MAX_FLIGHTS):
        if not client_done:
            try:
                client.do_handshake()
                client_done = True
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        if not server_done:
            try:
                server.do_handshake()
                server_done = True
            except ssl.SSLWantReadError:
                pass
        c_in.write(s_out.read())
        if client_done and server_done and not keep_session:
            return client
        if client_done and server_done:
            # OpenSSL drops a session from the server cache when the SSL object is freed without
            # SSL_shutdown (ssl_clear_bad_session), so send the server's close_notify.
            with contextlib.suppress(ssl.SSLWantReadError):
                server.unwrap()
            return client
    raise HandshakeFailed("ssl handshake did not complete")


def _interleaved_rates(ours: Callable[[], object], theirs: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Alternate one handshake of each until each side has run ``seconds``; (ours/s, theirs/s).

    Alternating single handshakes keeps both sides under the same machine load (the machine is shared).
    """
    clock = time.perf_counter
    ours_time = theirs_time = 0.0
    ours_count = theirs_count = 0
    while ours_time < seconds or theirs_time < seconds or ours_count == 0 or theirs_count == 0:
        start = clock()
        ours()
        middle = clock()
        theirs()
        end = clock()
        ours_time += middle - start
        theirs_time += end - middle
        ours_count += 1
        theirs_count += 1
    return ours_count / ours_time, theirs_count / theirs_time


class _Setup:
    """Certificates, configs and contexts shared by all measurements."""

    def __init__(self, tmp: str) -> None:
        chain, key = self_signed_localhost()
        self.chain, self.key = chain, key
        self.cert_path = os.path.join(tmp, "cert.pem")
        self.key_path = os.path.join(tmp, "key.pem")
        with open(self.cert_path, "wb") as f:
            f.write(chain[0].public_bytes(Encoding.PEM))
        with open(self.key_path, "wb") as f:
            f.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))

    def tlsstate_configs(self, suite_name: str, resumed: bool) -> tuple[TLSConfig, TLSConfig]:
        """(client, server) configurations for one case: TLS 1.2 only, the one suite, X25519, no verification."""
        suite = lookup(suite_name)
        client = TLSConfig(
            min_version=ProtocolVersion.TLS1_2, max_version=ProtocolVersion.TLS1_2, cipher_suites=[suite],
            groups=[NamedGroup.X25519], verify=False,
            session_store=SessionStore() if resumed else None, session_key="bench",
        )
        server = TLSConfig(
            min_version=ProtocolVersion.TLS1_2, max_version=ProtocolVersion.TLS1_2, cipher_suites=[suite],
            groups=[NamedGroup.X25519], certificate_chain=self.chain, private_key=self.key,
            session_cache=SessionCache() if resumed else None,
        )
        return client, server

    def ssl_contexts(self, suite_name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
        """(client, server) OpenSSL contexts for the same case (server tickets off: resumption by session ID)."""
        openssl_name = lookup(suite_name).openssl_name
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(self.cert_path, self.key_path)
        server.maximum_version = ssl.TLSVersion.TLSv1_2
        server.set_ciphers(openssl_name)
        server.options |= ssl.OP_NO_TICKET
        server.set_ecdh_curve("X25519")
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        client.maximum_version = ssl.TLSVersion.TLSv1_2
        client.set_ciphers(openssl_name)
        return client, server


def _measure_case(setup: _Setup, suite_name: str, resumed: bool, seconds: float) -> tuple[float, float]:
    """One measurement of one case: (tlsstate handshakes/s, ssl handshakes/s), interleaved."""
    client_cfg, server_cfg = setup.tlsstate_configs(suite_name, resumed)
    client_ctx, server_ctx = setup.ssl_contexts(suite_name)
    if resumed:
        first = tlsstate_handshake(client_cfg, server_cfg)
        if first.resumed:
            raise HandshakeFailed("first tlsstate handshake claims resumption")

        def ours() -> None:
            if not tlsstate_handshake(client_cfg, server_cfg).resumed:
                raise HandshakeFailed("tlsstate did not resume")

        session = ssl_handshake(client_ctx, server_ctx, None, keep_session=True).session

        def theirs() -> None:
            if not ssl_handshake(client_ctx, server_ctx, session, keep_session=True).session_reused:
                raise HandshakeFailed("ssl did not resume")
    else:
        def ours() -> None:
            if tlsstate_handshake(client_cfg, server_cfg).resumed:
                raise HandshakeFailed("unexpected resumption")

        def theirs() -> None:
            ssl_handshake(client_ctx, server_ctx, None)

    return _interleaved_rates(ours, theirs, seconds)


def run_handshake_bench(seconds: float = 0.5, repeat: int = 3) -> list[dict[str, Any]]:
    """Handshakes/s for each case, tlsstate beside CPython ssl; medians of ``repeat`` rounds of ``seconds``."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tlsstate-bench-") as tmp:
        setup = _Setup(tmp)
        for case, suite_name, resumed, target in CASES:
            ours_rates, ssl_rates = [], []
            for _ in range(max(1, repeat)):
                ours_rate, ssl_rate = _measure_case(setup, suite_name, resumed, seconds)
                ours_rates.append(ours_rate)
                ssl_rates.append(ssl_rate)
            ours_median = statistics.median(ours_rates)
            ssl_median = statistics.median(ssl_rates)
            ratio = ours_median / ssl_median if ssl_median else 0.0
            rows.append({
                "case": case, "suite": lookup(suite_name).openssl_name,
                "tlsstate_hs_s": round(ours_median, 1), "ssl_hs_s": round(ssl_median, 1),
                "ratio": round(ratio, 2), "target": target, "meets_target": ratio >= target,
            })
    return rows
