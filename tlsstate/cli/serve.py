"""``tlsstate serve``: a threaded TLS server like ``openssl s_server``.

Each accepted connection runs in its own thread (at most ``--max-connections`` at once), so one slow or
hostile peer never blocks or kills the server. Default mode echoes what the client sends; ``--www``
answers any complete HTTP request with ``200 OK`` and an HTML page of the negotiated parameters (like
``openssl s_server -www``, including ``Cipher is <OpenSSL name>``). Without ``--cert`` it makes a
self-signed certificate for ``localhost``. One log line per connection on stderr: peer, version,
suite, outcome or alert, and the client certificate (subject, issuer, SPKI SHA-256) when one was
sent — never a secret. One session cache (``--session-cache-size``, least recently used evicted) and one
set of ticket keys (rotated every ``--ticket-key-rotation`` seconds) serve all connections.
The server itself (accept loop, connection handler, ``--www`` page) is :mod:`tlsstate.cli.serving`.
"""

from __future__ import annotations

import sys

import click
from cryptography import x509

from tlsstate.cli.exporting import DEFAULT_EXPORT_LENGTH, export_request, exporter_options
from tlsstate.cli.options import (
    PSK_MODES,
    apply_protocol_options,
    extension_switches,
    legacy_options,
    load_identity,
    open_keylog,
    parse_external_psk,
    parse_groups,
    parse_suites,
    parse_versions,
    protocol_options,
    psk_mode_option,
    psk_option,
    record_splitting_switch,
    split_list,
)
from tlsstate.cli.serving import Server, ServerOptions
from tlsstate.config import PrivateKey, TLSConfig
from tlsstate.crypto.certs import self_signed_localhost
from tlsstate.io.sockets import TLSListener
from tlsstate.wire.errors import TLSError

__all__ = ["load_server_identity", "self_signed_localhost", "serve"]


def load_server_identity(cert: str | None, key: str | None) -> tuple[list[x509.Certificate], PrivateKey]:
    """(certificate chain, private key) from PEM/DER/PKCS#12 files, or a fresh self-signed localhost certificate."""
    if cert is None:
        return self_signed_localhost()
    return load_identity(cert, key, "server")


@click.command(help="TLS server like openssl s_server: echo, or --www page of the negotiated parameters.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=4433, show_default=True, help="Port (0 = any free).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="Certificate chain (PEM, leaf first).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Private key (PEM; default: --cert file).")
@protocol_options
@click.option("--server-cipher-order", is_flag=True,
              help="Pick the first of our --ciphers the client offers (default: the client's first suite we support, "
                   "as openssl s_server; -serverpref there).")
@click.option("--alpn", help="ALPN protocols the server accepts, comma separated.")
@click.option("--www", is_flag=True, help="Answer HTTP requests with a page of the negotiated parameters.")
@click.option("--keylog", type=click.Path(dir_okay=False), help="Append NSS key log lines here.")
@extension_switches("negotiate")
@click.option("--max-connections", type=click.IntRange(1, 10000), default=64, show_default=True,
              help="Connections handled at once.")
@click.option("--count", type=click.IntRange(1), help="Exit after this many connections.")
@click.option("--once", is_flag=True, help="Exit after one connection (= --count 1).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Per-connection idle timeout, seconds.")
@click.option("--handshake-timeout", type=click.FloatRange(0.01), default=60.0, show_default=True,
              help="Whole-handshake deadline per connection, seconds (bounds slow-loris peers).")
@legacy_options("RFC 7919 groups for DHE_RSA, preferred first: ffdhe2048,ffdhe3072,ffdhe4096.")
@record_splitting_switch
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
@exporter_options
@click.option("--key-update-after", type=click.IntRange(1), metavar="N",
              help="TLS 1.3: send KeyUpdate after N records under one key (default: the AEAD's limit, RFC 9846 §5.5).")
@click.option("--ticket-count", type=click.IntRange(0, 16), default=2, show_default=True,
              help="TLS 1.3: NewSessionTickets sent after each handshake (with --tickets; RFC 9846 §4.6.1).")
@click.option("--record-padding", type=click.IntRange(1, 16385), metavar="N",
              help="TLS 1.3: pad each application data record to a multiple of N bytes (RFC 9846 §5.4).")
@psk_option
@psk_mode_option
@click.option("--early-data", type=click.IntRange(0, 0xFFFFFFFF), default=0, metavar="N",
              help="TLS 1.3 0-RTT: tickets allow N bytes of early data (max_early_data_size), and up to N bytes are "
                   "accepted from a resuming client, once per ticket and while its age is fresh (RFC 9846 §4.2.10, "
                   "§8). Default 0: early data is rejected (and skipped).")
@click.option("--client-renegotiation", is_flag=True,
              help="Accept secure renegotiation the client starts (RFC 5746; s_server -client_renegotiation). "
                   "Default: the warning no_renegotiation. Legacy renegotiation is always refused.")
@click.option("--request-renegotiation", is_flag=True,
              help="Echo: after echoing the client's first data, ask it to renegotiate (HelloRequest, RFC 5746).")
def serve(
    host: str, port: int, cert: str | None, key: str | None, versions: str | None, ciphers: str | None,
    groups: str | None, alpn: str | None, www: bool, keylog: str | None, no_ems: bool, no_etm: bool,
    max_connections: int, count: int | None, once: bool, timeout: float, handshake_timeout: float,
    dhe_groups: str | None = None, ssl3: bool = False, verify_client: str = "none", client_ca: str | None = None,
    tickets: bool = True, record_size_limit: int | None = None, ticket_lifetime: float = 7200.0,
    ticket_key_rotation: float | None = None, session_cache_size: int = 1024, server_cipher_order: bool = False,
    no_record_splitting: bool = False, keymatexport: str | None = None, keymatexportlen: int = DEFAULT_EXPORT_LENGTH,
    keymatexport_context: str | None = None, keymatexport_early: bool = False, key_update_after: int | None = None,
    record_padding: int | None = None, ticket_count: int = 2, psk_identity: str | None = None,
    psk_hex: str | None = None, psk_mode: str = "psk_dhe_ke", early_data: int = 0,
    client_renegotiation: bool = False, request_renegotiation: bool = False,
) -> None:
    """Listen, then handle connections (each in its own thread) until --count/--once or Ctrl-C."""
    from tlsstate.sessions.cache import SessionCache

    if key and not cert:
        raise click.UsageError("--key needs --cert")
    export = export_request(keymatexport, keymatexportlen, keymatexport_context, keymatexport_early)
    chain, private_key = load_server_identity(cert, key)
    config = TLSConfig(
        cipher_suites=parse_suites(ciphers), groups=parse_groups(groups),
        certificate_chain=chain, private_key=private_key,
        alpn_protocols=split_list(alpn), extended_master_secret=not no_ems, encrypt_then_mac=not no_etm,
        session_cache=SessionCache(max_size=session_cache_size) if session_cache_size else None,
        server_cipher_order=server_cipher_order, split_cbc_records=not no_record_splitting,
    )
    apply_protocol_options(config, version_range=parse_versions(versions), dhe_groups=dhe_groups, ssl3=ssl3)
    if verify_client != "none" and not client_ca:
        raise click.UsageError("--verify-client needs --client-ca")
    config.verify_client, config.client_cafile = verify_client, client_ca
    config.record_size_limit = record_size_limit
    config.key_update_after = key_update_after
    config.record_padding = record_padding
    config.ticket_count = ticket_count
    config.external_psk = parse_external_psk(psk_identity, psk_hex)
    config.psk_key_exchange_modes = PSK_MODES[psk_mode]
    config.max_early_data = early_data
    config.client_renegotiation = client_renegotiation
    if tickets:
        from tlsstate.sessions.tickets import TicketKeys

        config.ticket_keys = TicketKeys(lifetime=ticket_lifetime, rotation_interval=ticket_key_rotation)
    listener = _listen(config, host, port, keylog, timeout=timeout, handshake_timeout=handshake_timeout)
    bound_host, bound_port = listener.address
    click.echo(f"ACCEPT {bound_host}:{bound_port}" + (" (www)" if www else " (echo)"), err=True)
    sys.stderr.flush()
    options = ServerOptions(www=www, idle_timeout=timeout, export=export, request_renegotiation=request_renegotiation)
    server = Server(listener, options, max_connections)
    try:
        server.serve(1 if once else count)
        server.join(timeout + 5)
    except KeyboardInterrupt:
        server.stop.set()
    finally:
        listener.close()
        if config.keylog is not None:
            config.keylog.close()


def _listen(
    config: TLSConfig, host: str, port: int, keylog: str | None, *, timeout: float, handshake_timeout: float
) -> TLSListener:
    """Open the key log into ``config`` and bind the listening socket; one-line click errors when either fails."""
    try:
        config.keylog = open_keylog(keylog)
    except OSError as exc:
        raise click.ClickException(f"cannot open key log {keylog or '$SSLKEYLOGFILE'}: {exc.strerror or exc}") from None
    try:
        return TLSListener(host, port, config, timeout=timeout, handshake_timeout=handshake_timeout)
    except TLSError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
