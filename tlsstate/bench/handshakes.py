"""Handshakes per second: tlsstate client+server over memory, beside CPython ``ssl`` doing the same.

Cases (no certificate verification on either side so that both measure the handshake itself):

- TLS 1.2 (RFC 5246 §7.3), RSA-2048 server certificate: full handshake with ECDHE over X25519
  (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); full handshake with RSA key exchange
  (TLS_RSA_WITH_AES_128_GCM_SHA256); resumed (abbreviated) handshake with a session ID (RFC 5246 §7.3
  Figure 2) — session tickets are off on the OpenSSL server so both sides resume the same way.
- TLS 1.3 (RFC 9846 §2), TLS_AES_256_GCM_SHA384 (what CPython ``ssl``, which cannot set TLS 1.3 suites,
  negotiates between its own defaults): full handshake with an X25519 key share and an RSA-2048
  (rsa_pss_rsae_sha256) or an ECDSA P-256 certificate; resumed handshake with a ticket and psk_dhe_ke
  (RFC 9846 §2.2: a fresh X25519 exchange, no certificate), the server issuing one ticket per handshake
  which the client reads (OpenSSL reads it on the first ``read``); full handshake with X25519MLKEM768,
  reported beside X25519 only (OpenSSL 3.0 behind ``ssl`` has no ML-KEM).

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
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.certs import DEFAULT_HOSTNAMES, PrivateKey, generate_self_signed
from tlsstate.crypto.suites import lookup
from tlsstate.events import HandshakeComplete
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire.constants import NamedGroup, ProtocolVersion
from tlsstate.wire.errors import HandshakeFailed


class Case(NamedTuple):
    """One benchmark case; ``target`` is the ratio vs ``ssl`` to reach (None: no ``ssl`` reference)."""

    name: str
    version: str  # "TLS 1.2" or "TLS 1.3"
    suite: str
    resumed: bool
    key_type: str  # the server certificate's key: "rsa2048" or "ecdsa-p256"
    group: NamedGroup
    target: float | None


_GCM12, _GCM13 = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"
#: Targets: issue 11 (TLS 1.2 full and every TLS 1.3 case ≥ 1.0× ``ssl``), issue 3 (TLS 1.2 resumed ≥ 0.5×).
CASES: tuple[Case, ...] = (
    Case("full ECDHE-X25519, RSA-2048 cert", "TLS 1.2", _GCM12, False, "rsa2048", NamedGroup.X25519, 1.0),
    Case("full RSA key exchange, RSA-2048 cert", "TLS 1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256", False, "rsa2048",
         NamedGroup.X25519, 1.0),
    Case("resumed (session ID), ECDHE suite", "TLS 1.2", _GCM12, True, "rsa2048", NamedGroup.X25519, 0.5),
    Case("TLS 1.3 full X25519, RSA-2048 cert", "TLS 1.3", _GCM13, False, "rsa2048", NamedGroup.X25519, 1.0),
    Case("TLS 1.3 full X25519, ECDSA P-256 cert", "TLS 1.3", _GCM13, False, "ecdsa-p256", NamedGroup.X25519, 1.0),
    Case("TLS 1.3 resumed (ticket, psk_dhe_ke X25519)", "TLS 1.3", _GCM13, True, "rsa2048", NamedGroup.X25519, 1.0),
    Case("TLS 1.3 full X25519MLKEM768, RSA-2048 cert", "TLS 1.3", _GCM13, False, "rsa2048",
         NamedGroup.X25519MLKEM768, None),
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
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, session: ssl.SSLSession | None, *,
    keep_session: bool = False, read_tickets: bool = False,
) -> ssl.SSLObject:
    """One complete OpenSSL handshake over a MemoryBIO pair; returns the client SSLObject.

    ``keep_session``: the server sends close_notify so OpenSSL keeps the session in its cache (TLS 1.2).
    ``read_tickets``: the client reads the server's TLS 1.3 NewSessionTicket (OpenSSL takes it in ``read``).
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
        if client_done and server_done and read_tickets:
            with contextlib.suppress(ssl.SSLWantReadError):
                client.read(1)
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
    """Certificates (one RSA-2048, one ECDSA P-256), written as PEM for ``ssl`` too, shared by all cases."""

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.certs: dict[str, tuple[list[Any], PrivateKey, str, str]] = {}

    def certificate(self, key_type: str) -> tuple[list[Any], PrivateKey, str, str]:
        """(chain, key, cert PEM path, key PEM path) of a self-signed ``localhost`` certificate with this key."""
        if key_type not in self.certs:
            certificate, key = generate_self_signed(DEFAULT_HOSTNAMES, key_type)
            cert_path = os.path.join(self.tmp, f"{key_type}-cert.pem")
            key_path = os.path.join(self.tmp, f"{key_type}-key.pem")
            with open(cert_path, "wb") as f:
                f.write(certificate.public_bytes(Encoding.PEM))
            with open(key_path, "wb") as f:
                f.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
            self.certs[key_type] = ([certificate], key, cert_path, key_path)
        return self.certs[key_type]

    def tlsstate_configs(self, case: Case) -> tuple[TLSConfig, TLSConfig]:
        """(client, server) configurations for one case: its version only, its suite and group, no verification."""
        suite = lookup(case.suite)
        version = ProtocolVersion.TLS1_3 if case.version == "TLS 1.3" else ProtocolVersion.TLS1_2
        chain, key, _, _ = self.certificate(case.key_type)
        tls13_tickets = case.resumed and version == ProtocolVersion.TLS1_3
        client = TLSConfig(
            min_version=version, max_version=version, cipher_suites=[suite], groups=[case.group], verify=False,
            session_store=SessionStore() if case.resumed else None, session_key="bench",
        )
        server = TLSConfig(
            min_version=version, max_version=version, cipher_suites=[suite], groups=[case.group],
            certificate_chain=chain, private_key=key,
            session_cache=SessionCache() if case.resumed and not tls13_tickets else None,
            ticket_keys=TicketKeys() if tls13_tickets else None, ticket_count=1,
        )
        return client, server

    def ssl_contexts(self, case: Case) -> tuple[ssl.SSLContext, ssl.SSLContext]:
        """(client, server) OpenSSL contexts for the same case (TLS 1.2: tickets off, resumption by session ID;
        TLS 1.3: one ticket when resumed, none otherwise)."""
        version = ssl.TLSVersion.TLSv1_3 if case.version == "TLS 1.3" else ssl.TLSVersion.TLSv1_2
        _, _, cert_path, key_path = self.certificate(case.key_type)
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert_path, key_path)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        for ctx in (client, server):
            ctx.minimum_version = ctx.maximum_version = version
            ctx.set_ecdh_curve(case.group.name)
        if version == ssl.TLSVersion.TLSv1_2:
            openssl_name = lookup(case.suite).openssl_name
            server.set_ciphers(openssl_name)
            client.set_ciphers(openssl_name)
            server.options |= ssl.OP_NO_TICKET
        else:
            server.num_tickets = 1 if case.resumed else 0
        return client, server


def _resumed_pair(setup: _Setup, case: Case) -> tuple[Callable[[], object], Callable[[], object]]:
    """(ours, theirs) for a resumed case, each after one full handshake that leaves a session to resume."""
    client_cfg, server_cfg = setup.tlsstate_configs(case)
    client_ctx, server_ctx = setup.ssl_contexts(case)
    tls13 = case.version == "TLS 1.3"
    if tlsstate_handshake(client_cfg, server_cfg).resumed:
        raise HandshakeFailed("first tlsstate handshake claims resumption")

    def ours() -> None:
        if not tlsstate_handshake(client_cfg, server_cfg).resumed:
            raise HandshakeFailed("tlsstate did not resume")

    first = ssl_handshake(client_ctx, server_ctx, None, keep_session=not tls13, read_tickets=tls13)
    session = first.session
    if session is None or (tls13 and not session.has_ticket):
        raise HandshakeFailed("ssl left no session to resume")

    def theirs() -> None:
        if not ssl_handshake(client_ctx, server_ctx, session, keep_session=not tls13, read_tickets=tls13).session_reused:
            raise HandshakeFailed("ssl did not resume")

    return ours, theirs


def _measure_case(setup: _Setup, case: Case, seconds: float) -> tuple[float, float | None]:
    """One measurement of one case: (tlsstate handshakes/s, ssl handshakes/s or None), interleaved."""
    if case.resumed:
        return _interleaved_rates(*_resumed_pair(setup, case), seconds)
    client_cfg, server_cfg = setup.tlsstate_configs(case)

    def full() -> None:
        if tlsstate_handshake(client_cfg, server_cfg).resumed:
            raise HandshakeFailed("unexpected resumption")

    if case.target is None:  # no ssl reference (X25519MLKEM768): ours alone, in as many rounds
        return _interleaved_rates(full, full, seconds)[0], None
    client_ctx, server_ctx = setup.ssl_contexts(case)

    return _interleaved_rates(full, lambda: ssl_handshake(client_ctx, server_ctx, None), seconds)


def _row(case: Case, ours: float, theirs: float | None) -> dict[str, Any]:
    """One JSON row; ``ratio`` and ``meets_target`` are None without an ``ssl`` figure."""
    ratio = ours / theirs if theirs else None
    return {
        "case": case.name, "suite": lookup(case.suite).openssl_name,
        "tlsstate_hs_s": round(ours, 1), "ssl_hs_s": round(theirs, 1) if theirs is not None else None,
        "ratio": round(ratio, 2) if ratio is not None else None, "target": case.target,
        "meets_target": ratio >= case.target if ratio is not None and case.target is not None else None,
        "version": case.version, "group": case.group.name, "certificate": case.key_type,
    }


def run_handshake_bench(seconds: float = 0.5, repeat: int = 3) -> list[dict[str, Any]]:
    """Handshakes/s for each case, tlsstate beside CPython ssl; medians of ``repeat`` rounds of ``seconds``.

    A case without an ``ssl`` reference (X25519MLKEM768) also has ``vs_x25519``: its rate over the rate of the
    X25519 case before it with the same certificate.
    """
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tlsstate-bench-") as tmp:
        setup = _Setup(tmp)
        for case in CASES:
            ours_rates, ssl_rates = [], []
            for _ in range(max(1, repeat)):
                ours_rate, ssl_rate = _measure_case(setup, case, seconds)
                ours_rates.append(ours_rate)
                if ssl_rate is not None:
                    ssl_rates.append(ssl_rate)
            row = _row(case, statistics.median(ours_rates), statistics.median(ssl_rates) if ssl_rates else None)
            if row["ssl_hs_s"] is None:
                beside = next((r for r in rows if r["version"] == case.version and r["group"] == "X25519"
                               and r["certificate"] == case.key_type and "full" in r["case"]), None)
                if beside is not None:
                    row["vs_x25519"] = round(row["tlsstate_hs_s"] / beside["tlsstate_hs_s"], 2)
            rows.append(row)
    return rows
