"""``tlsstate serve``: a threaded TLS server like ``openssl s_server``.

Each accepted connection runs in its own thread (at most ``--max-connections`` at once), so one slow or
hostile peer never blocks or kills the server. Default mode echoes what the client sends; ``--www``
answers any complete HTTP request with ``200 OK`` and an HTML page of the negotiated parameters (like
``openssl s_server -www``, including ``Cipher is <OpenSSL name>``). Without ``--cert`` it makes a
self-signed certificate for ``localhost``. One log line per connection on stderr: peer, version,
suite, outcome or alert, and the client certificate (subject, issuer, SPKI SHA-256) when one was
sent — never a secret. One session cache (``--session-cache-size``, least recently used evicted) and one
set of ticket keys (rotated every ``--ticket-key-rotation`` seconds) serve all connections.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tlsstate.cli.connect import (
    apply_protocol_options,
    certificate_identity,
    load_identity,
    openssl_version_name,
    parse_groups,
    parse_suites,
    parse_versions,
    peer_chain,
    spki_sha256,
    split_list,
    version_name,
)
from tlsstate.config import PrivateKey
from tlsstate.crypto import certs
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.wire.errors import AlertReceived, ConnectionClosedError, ProtocolError, TLSError, TLSTimeout

MAX_HTTP_REQUEST = 64 * 1024


_LOG_LOCK = threading.Lock()


def log_line(line: str) -> None:
    """One whole line on stderr: connection threads must not interleave (print writes text and newline apart)."""
    with _LOG_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


@dataclass
class ServerOptions:
    """What a connection handler needs besides the socket."""

    www: bool = False
    idle_timeout: float = 30.0
    log: Callable[[str], None] = field(default=lambda line: log_line(line))


def www_page(tls: TLSSocket) -> bytes:
    """The ``-www`` answer: an HTML page listing the negotiated parameters (no secrets).

    Its first line is ``openssl s_server -www``'s: ``New`` or ``Reused`` (a resumed session), protocol, cipher.
    The client's certificate, when it sent one (also on a resumed session), is named by subject, issuer and
    SPKI SHA-256.
    """
    assert tls.handshake is not None
    hs = tls.handshake
    suite = hs.cipher_suite
    session = "Reused" if hs.resumed else "New"
    chain = peer_chain(tls)
    rows = [
        ("Protocol", f"{openssl_version_name(hs.version)} ({version_name(hs.version)})"),
        ("Cipher suite", f"{suite.name} ({suite.hex_id})"),
        ("Key exchange", suite.key_exchange.value),
        ("Extended master secret", "yes" if hs.extended_master_secret else "no"),
        ("Encrypt-then-MAC", "yes" if hs.encrypt_then_mac else "no"),
        ("Session", session),
        ("Server name (SNI)", hs.server_name or "(none)"),
        ("ALPN", hs.alpn or "(none)"),
    ]
    if chain:
        leaf = chain[0]
        rows += [
            ("Client certificate subject", leaf.subject.rfc4514_string()),
            ("Client certificate issuer", leaf.issuer.rfc4514_string()),
            ("Client certificate SPKI SHA-256", spki_sha256(leaf)),
            ("Client certificate chain length", str(len(chain))),
        ]
    else:
        rows.append(("Client certificate", "(none)"))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>\n" for k, v in rows)
    page = (
        "<html><head><title>tlsstate serve</title></head><body>\n<pre>\n"
        f"{session}, {openssl_version_name(hs.version)}, Cipher is {html.escape(suite.openssl_name)}\n"
        f"Protocol  : {openssl_version_name(hs.version)}\n</pre>\n<table>\n{body}</table>\n</body></html>\n"
    ).encode()
    head = (
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
        f"Content-Length: {len(page)}\r\n\r\n"
    ).encode()
    return head + page


@dataclass
class Traffic:
    """Application bytes in and out of one connection (for its log line)."""

    received: int = 0
    sent: int = 0


def _serve_www(tls: TLSSocket, traffic: Traffic) -> None:
    request = b""
    while b"\r\n\r\n" not in request and b"\n\n" not in request:
        chunk = tls.recv()
        if not chunk:
            return  # closed before a complete request
        request += chunk
        traffic.received += len(chunk)
        if len(request) > MAX_HTTP_REQUEST:
            raise TLSError("HTTP request header larger than 64 KiB")
    answer = www_page(tls)
    tls.sendall(answer)
    traffic.sent += len(answer)


def _serve_echo(tls: TLSSocket, traffic: Traffic) -> None:
    while chunk := tls.recv():
        traffic.received += len(chunk)
        tls.sendall(chunk)
        traffic.sent += len(chunk)


def handle_connection(tls: TLSSocket, peer: tuple[str, int], options: ServerOptions) -> str:
    """Run one connection to the end; returns (and logs) its one-line outcome. Never raises."""
    started = time.monotonic()
    outcome = "ok"
    traffic = Traffic()
    try:
        tls.do_handshake()
        (_serve_www if options.www else _serve_echo)(tls, traffic)
    except AlertReceived as exc:
        outcome = f"peer alert {exc.description.label if hasattr(exc.description, 'label') else exc.description}"
    except ProtocolError as exc:
        outcome = f"sent alert {exc.alert.label} ({exc.message})"
    except ConnectionClosedError as exc:
        outcome = "closed" if exc.clean else "closed without close_notify"
    except TLSTimeout:
        outcome = "timeout"
    except TLSError as exc:
        outcome = f"error: {exc}"
    except Exception as exc:  # a bug must not kill the server; report it on this connection's line
        outcome = f"internal error: {type(exc).__name__}: {exc}"
    finally:
        tls.close()
    hs = tls.handshake
    params = f"{version_name(hs.version)} {hs.cipher_suite.name}" + (" resumed" if hs.resumed else "") if hs else "-"
    line = (
        f"{peer[0]}:{peer[1]} {params} {outcome} in={traffic.received} out={traffic.sent} "
        f"{(time.monotonic() - started) * 1000:.0f}ms"
    )
    chain = peer_chain(tls) if hs else []
    if chain:  # public values only: the client certificate's names and key hash
        line += f" client-cert {certificate_identity(chain[0])}"
    options.log(line)
    return line


def load_server_identity(cert: str | None, key: str | None) -> tuple[list[x509.Certificate], PrivateKey]:
    """(certificate chain, private key) from PEM/DER/PKCS#12 files, or a fresh self-signed localhost certificate."""
    if cert is None:
        return self_signed_localhost()
    return load_identity(cert, key, "server")


def self_signed_localhost() -> tuple[list[x509.Certificate], PrivateKey]:
    """A self-signed RSA-2048 server certificate for ``localhost`` / 127.0.0.1 / ::1 (tlsstate.crypto.certs)."""
    certificate, key = certs.generate_self_signed(["localhost", "127.0.0.1", "::1"], "rsa2048")
    assert isinstance(key, rsa.RSAPrivateKey)
    return [certificate], key


class Server:
    """The accept loop: one thread per connection, bounded concurrency, stops after ``count`` connections."""

    def __init__(self, listener: TLSListener, options: ServerOptions, max_connections: int = 64) -> None:
        self.listener = listener
        self.options = options
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _run_one(self, tls: TLSSocket, peer: tuple[str, int]) -> None:
        try:
            handle_connection(tls, peer, self.options)
        finally:
            self.slots.release()

    def serve(self, count: int | None = None) -> int:
        """Accept until ``stop`` is set or ``count`` connections were accepted; returns how many."""
        accepted = 0
        while not self.stop.is_set() and (count is None or accepted < count):
            if not self.slots.acquire(timeout=0.25):
                continue
            try:
                tls, peer = self.listener.accept(timeout=0.25)
            except (TLSTimeout, OSError):
                self.slots.release()
                continue
            accepted += 1
            thread = threading.Thread(target=self._run_one, args=(tls, peer), name=f"tls-{peer[1]}", daemon=True)
            thread.start()
            self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        return accepted

    def join(self, timeout: float) -> None:
        """Wait (bounded) for the running connections."""
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))


@click.command(help="TLS server like openssl s_server: echo, or --www page of the negotiated parameters.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=4433, show_default=True, help="Port (0 = any free).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="Certificate chain (PEM, leaf first).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Private key (PEM; default: --cert file).")
@click.option("--versions", help="Protocol versions, e.g. tls1.2 or tls1.0-tls1.2.")
@click.option("--ciphers", help="Cipher suites (IANA or OpenSSL names, comma/colon separated).")
@click.option("--groups", help="ECDHE groups: x25519,p256,p384.")
@click.option("--alpn", help="ALPN protocols the server accepts, comma separated.")
@click.option("--www", is_flag=True, help="Answer HTTP requests with a page of the negotiated parameters.")
@click.option("--keylog", type=click.Path(dir_okay=False), help="Append NSS key log lines here.")
@click.option("--no-ems", is_flag=True, help="Do not negotiate extended_master_secret (RFC 7627).")
@click.option("--no-etm", is_flag=True, help="Do not negotiate encrypt_then_mac (RFC 7366).")
@click.option("--max-connections", type=click.IntRange(1, 10000), default=64, show_default=True,
              help="Connections handled at once.")
@click.option("--count", type=click.IntRange(1), help="Exit after this many connections.")
@click.option("--once", is_flag=True, help="Exit after one connection (= --count 1).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Per-connection idle timeout, seconds.")
@click.option("--handshake-timeout", type=click.FloatRange(0.01), default=60.0, show_default=True,
              help="Whole-handshake deadline per connection, seconds (bounds slow-loris peers).")
@click.option("--dhe-groups", help="RFC 7919 groups for DHE_RSA, preferred first: ffdhe2048,ffdhe3072,ffdhe4096.")
@click.option("--ssl3", is_flag=True, help="Enable SSL 3.0 (RFC 6101; off by default, RFC 7568).")
@click.option("--tickets/--no-tickets", default=True, show_default=True,
              help="Issue RFC 5077 session tickets to clients that ask (AES-256-GCM).")
@click.option("--ticket-lifetime", type=click.FloatRange(1, 7 * 86400), default=7200.0, show_default=True,
              help="Seconds a session ticket is accepted; past half of it a resumption gets a new ticket.")
@click.option("--ticket-key-rotation", type=click.FloatRange(1, 7 * 86400),
              help="Seconds between ticket key rotations; the previous key still opens tickets for one more "
                   "period, and its tickets are renewed (default: the ticket lifetime).")
@click.option("--session-cache-size", type=click.IntRange(0, 10_000_000), default=1024, show_default=True,
              help="Sessions kept for session-ID resumption, server-wide; least recently used evicted; 0 = none.")
@click.option("--record-size-limit", type=click.IntRange(64, 16384),
              help="record_size_limit answered to clients that send it (RFC 8449; default 16384).")
@click.option("--verify-client", type=click.Choice(["none", "optional", "required"]), default="none", show_default=True,
              help="Ask for a client certificate (RFC 5246 §7.4.4); needs --client-ca.")
@click.option("--client-ca", type=click.Path(exists=True, dir_okay=False), help="CAs for client certificates (PEM).")
def serve(
    host: str, port: int, cert: str | None, key: str | None, versions: str | None, ciphers: str | None,
    groups: str | None, alpn: str | None, www: bool, keylog: str | None, no_ems: bool, no_etm: bool,
    max_connections: int, count: int | None, once: bool, timeout: float, handshake_timeout: float,
    dhe_groups: str | None = None, ssl3: bool = False, verify_client: str = "none", client_ca: str | None = None,
    tickets: bool = True, record_size_limit: int | None = None, ticket_lifetime: float = 7200.0,
    ticket_key_rotation: float | None = None, session_cache_size: int = 1024,
) -> None:
    from tlsstate.config import TLSConfig
    from tlsstate.sessions.cache import SessionCache
    from tlsstate.wire.keylog import KeyLogWriter, open_default_keylog

    if key and not cert:
        raise click.UsageError("--key needs --cert")
    chain, private_key = load_server_identity(cert, key)
    config = TLSConfig(
        cipher_suites=parse_suites(ciphers), groups=parse_groups(groups),
        certificate_chain=chain, private_key=private_key,
        alpn_protocols=split_list(alpn), extended_master_secret=not no_ems, encrypt_then_mac=not no_etm,
        session_cache=SessionCache(max_size=session_cache_size) if session_cache_size else None,
    )
    version_range = parse_versions(versions)
    if version_range:
        config.min_version, config.max_version = version_range
    apply_protocol_options(config, dhe_groups=dhe_groups, ssl3=ssl3, versions_given=version_range is not None)
    if verify_client != "none" and not client_ca:
        raise click.UsageError("--verify-client needs --client-ca")
    config.verify_client, config.client_cafile = verify_client, client_ca
    config.record_size_limit = record_size_limit
    if tickets:
        from tlsstate.sessions.tickets import TicketKeys

        config.ticket_keys = TicketKeys(lifetime=ticket_lifetime, rotation_interval=ticket_key_rotation)
    try:
        config.keylog = KeyLogWriter(keylog) if keylog else open_default_keylog()
        listener = TLSListener(host, port, config, timeout=timeout, handshake_timeout=handshake_timeout)
    except TLSError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_host, bound_port = listener.address
    click.echo(f"ACCEPT {bound_host}:{bound_port}" + (" (www)" if www else " (echo)"), err=True)
    sys.stderr.flush()
    server = Server(listener, ServerOptions(www=www, idle_timeout=timeout), max_connections)
    try:
        server.serve(1 if once else count)
        server.join(timeout + 5)
    except KeyboardInterrupt:
        server.stop.set()
    finally:
        listener.close()
        if config.keylog is not None:
            config.keylog.close()
