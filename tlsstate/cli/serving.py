"""The threaded TLS server behind ``tlsstate serve`` and ``tlsstate demo``: accept loop and connection handler.

Each accepted connection runs in its own thread (at most ``max_connections`` at once), so one slow or hostile peer
never blocks or kills the server. A connection either echoes what the client sends, or (``www``) answers one
complete HTTP request with ``200 OK`` and an HTML page of the negotiated parameters, like ``openssl s_server -www``.
One log line per connection: peer, version, suite, outcome or alert (RFC 5246 §7.2), and the client certificate
(subject, issuer, SPKI SHA-256) when one was sent; never a secret.
"""

from __future__ import annotations

import contextlib
import html
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tlsstate.cli.describe import certificate_identity, openssl_version_name, peer_chain, spki_sha256, version_name
from tlsstate.cli.exporting import ExportRequest, keying_material_lines
from tlsstate.crypto.dh import group_name
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.wire.errors import (
    AlertReceived,
    ConfigurationError,
    ConnectionClosedError,
    ProtocolError,
    TLSError,
    TLSTimeout,
)

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
    #: ``--keymatexport``: after the handshake, log the exported keying material (openssl s_server's block).
    export: ExportRequest | None = None
    #: Echo: after echoing the client's first data, ask it to renegotiate (a HelloRequest, RFC 5746).
    request_renegotiation: bool = False
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
        ("Group", group_name(hs.key_exchange_group) if hs.key_exchange_group is not None else "(none)"),
        ("HelloRetryRequest", "yes" if hs.hello_retry else "no"),
        ("Extended master secret", "yes" if hs.extended_master_secret else "no"),
        ("Encrypt-then-MAC", "yes" if hs.encrypt_then_mac else "no"),
        ("Session", session),
        ("Early data (0-RTT)", "accepted" if hs.early_data_accepted else "no"),
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
    """Read one HTTP request header (at most MAX_HTTP_REQUEST bytes), answer with the ``-www`` page."""
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


def _serve_echo(tls: TLSSocket, traffic: Traffic, request_renegotiation: bool = False) -> None:
    """Send back every byte received until the client closes; with ``request_renegotiation``, after the first echo
    ask the client to renegotiate (RFC 5746: a HelloRequest; the echo goes on while it runs, held data follows)."""
    while chunk := tls.recv():
        traffic.received += len(chunk)
        tls.sendall(chunk)
        traffic.sent += len(chunk)
        if request_renegotiation:
            request_renegotiation = False
            with contextlib.suppress(ConfigurationError):  # a client without RFC 5746 support is not asked
                tls.renegotiate(wait=False)


def handle_connection(tls: TLSSocket, peer: tuple[str, int], options: ServerOptions) -> str:
    """Run one connection to the end; returns (and logs) its one-line outcome. Never raises."""
    started = time.monotonic()
    outcome = "ok"
    traffic = Traffic()
    try:
        tls.do_handshake()
        if options.export is not None:
            options.log("\n".join(keying_material_lines(tls.connection, options.export)))
        if options.www:
            _serve_www(tls, traffic)
        else:
            _serve_echo(tls, traffic, options.request_renegotiation)
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
    params = "-"
    if hs is not None:
        group = f" {group_name(hs.key_exchange_group)}" if hs.key_exchange_group is not None else ""
        params = (f"{version_name(hs.version)} {hs.cipher_suite.name}{group}" + (" HRR" if hs.hello_retry else "")
                  + (" resumed" if hs.resumed else "")
                  + (f" 0-RTT={tls.early_data_received}" if hs.early_data_accepted else ""))
    renegotiations = tls.connection.handshakes - 1
    if renegotiations > 0:  # RFC 5746: the suite shown is the last epoch's
        params += f" renegotiated={renegotiations}"
    line = (
        f"{peer[0]}:{peer[1]} {params} {outcome} in={traffic.received} out={traffic.sent} "
        f"{(time.monotonic() - started) * 1000:.0f}ms"
    )
    chain = peer_chain(tls) if hs else []
    if chain:  # public values only: the client certificate's names and key hash
        line += f" client-cert {certificate_identity(chain[0])}"
    options.log(line)
    return line


class Server:
    """The accept loop: one thread per connection, bounded concurrency, stops after ``count`` connections."""

    def __init__(self, listener: TLSListener, options: ServerOptions, max_connections: int = 64) -> None:
        self.listener = listener
        self.options = options
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _run_one(self, tls: TLSSocket, peer: tuple[str, int]) -> None:
        """One connection's thread: handle it, then free its slot."""
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


