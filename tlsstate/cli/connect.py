"""``tlsstate connect HOST:PORT``: a TLS client like ``openssl s_client``.

Prints the negotiated version, cipher suite, the server's certificate chain (subject, issuer, key,
validity, SPKI SHA-256; from the HandshakeComplete event) and the EMS (RFC 7627),
EtM (RFC 7366) and resumption flags; with ``--show-keys`` the connection state (master secret and the
six key-block values, RFC 5246 §6.3). Then sends stdin and prints what comes back until the peer's
close_notify, EOF, or ``--wait`` idle seconds. Status lines go to stderr, application data to stdout. A stdin
line that is only ``R`` renegotiates (RFC 5746, as in s_client); each new epoch is printed like the first.

The options and parsers it shares with ``tlsstate serve`` are in :mod:`tlsstate.cli.options`.
"""

from __future__ import annotations

import os
import select
import sys
from pathlib import Path

import click
from rich.console import Console

from tlsstate.cli.describe import (
    VALUE_TITLES,
    describe_certificate,
    peer_chain,
    spki_sha256,
    tls13_schedule_rows,
    version_name,
)
from tlsstate.cli.exporting import DEFAULT_EXPORT_LENGTH, export_request, exporter_options, keying_material_lines
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
from tlsstate.config import TLSConfig
from tlsstate.crypto.dh import group_name
from tlsstate.crypto.schedule13 import traffic_key_and_iv
from tlsstate.crypto.suites import CipherSuite
from tlsstate.handshake.outputs import Tls13Secrets
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import TLSError, TLSTimeout


def split_host_port(target: str, default_port: int = 443) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``host`` -> (host, port)."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port_text = rest.lstrip(":")
    elif target.count(":") == 1:
        host, port_text = target.split(":")
    else:
        host, port_text = target, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise click.BadParameter(f"bad port in {target!r}", param_hint="HOST:PORT") from None
    if not host or not 0 < port < 65536:
        raise click.BadParameter(f"bad address {target!r}", param_hint="HOST:PORT")
    return host, port


def hex_or_note(value: bytes, note: str = "not used by this suite") -> str:
    """Hex of a key-block value, or the note when the suite has no such value."""
    return value.hex() if value else f"({note})"


def _print_summary(console: Console, tls: TLSSocket, show_keys: bool) -> None:
    """What the handshake agreed, like ``openssl s_client``; with ``show_keys`` also the connection state."""
    hs = tls.handshake
    assert hs is not None
    conn = tls.connection
    console.print("---")
    chain = peer_chain(tls)
    console.print("Certificate chain", highlight=False)
    for depth, cert in enumerate(chain):
        console.print(f" {depth} {describe_certificate(cert)}", highlight=False, markup=False)
        console.print(f"   spki-sha256:{spki_sha256(cert)}", highlight=False, markup=False)
    console.print("---")
    console.print(f"Protocol  : {version_name(hs.version)}", highlight=False)
    console.print(
        f"Cipher    : {hs.cipher_suite.name} ({hs.cipher_suite.openssl_name}, {hs.cipher_suite.hex_id})", highlight=False
    )
    if hs.key_exchange_group is not None:
        console.print(f"Group     : {group_name(hs.key_exchange_group)}", highlight=False)
    if hs.hello_retry:
        console.print("HelloRetryRequest: yes", highlight=False)
    if hs.version < ProtocolVersion.TLS1_3:
        console.print(f"Extended master secret: {'yes' if hs.extended_master_secret else 'no'}", highlight=False)
        console.print(f"Encrypt-then-MAC: {'yes' if hs.encrypt_then_mac else 'no'}", highlight=False)
    console.print(f"ALPN protocol: {hs.alpn or '(none)'}", highlight=False)
    console.print(f"Session: {'Reused' if hs.resumed else 'New'}", highlight=False)
    if show_keys and conn.tls13_secrets is not None:
        _print_tls13_schedule(console, conn.tls13_secrets, hs.cipher_suite)
    elif show_keys:
        sec = conn.security
        if sec is not None:
            console.print("--- connection state (secret: shown because --show-keys)", highlight=False)
            premaster = sec.premaster_secret
            if premaster:
                console.print(f"premaster secret     : {premaster.hex()}", highlight=False)
            console.print(f"client random        : {sec.client_random.hex()}", highlight=False)
            console.print(f"server random        : {sec.server_random.hex()}", highlight=False)
            console.print(f"master secret        : {sec.master_secret.hex()}", highlight=False)
            for name, title in VALUE_TITLES.items():
                console.print(f"{title:<21}: {hex_or_note(getattr(sec.keys, name))}", highlight=False)
    console.print("---")


def _print_tls13_schedule(console: Console, secrets: Tls13Secrets, suite: CipherSuite) -> None:
    """The TLS 1.3 key schedule (RFC 9846 §7.1) and the key and IV of each traffic secret (§7.3)."""
    console.print("--- TLS 1.3 key schedule (secret: shown because --show-keys)", highlight=False)
    for title, value in tls13_schedule_rows(secrets):
        console.print(f"{title:<37}: {value.hex() if value else '(not in this handshake)'}", highlight=False)
    for title, secret in (("client early", secrets.client_early_traffic_secret),
                          ("client handshake", secrets.client_handshake_traffic_secret),
                          ("server handshake", secrets.server_handshake_traffic_secret),
                          ("client application 0", secrets.client_application_traffic_secret_0),
                          ("server application 0", secrets.server_application_traffic_secret_0)):
        if secret:
            key, iv = traffic_key_and_iv(suite, secret)
            console.print(f"{title + ' write key':<37}: {key.hex()}", highlight=False)
            console.print(f"{title + ' write IV':<37}: {iv.hex()}", highlight=False)


def _send_key_update(console: Console, tls: TLSSocket) -> None:
    """--key-update: one KeyUpdate asking the server to update too (RFC 9846 §4.6.3)."""
    if tls.handshake is None or tls.handshake.version < ProtocolVersion.TLS1_3:
        raise click.ClickException("--key-update needs TLS 1.3 (this connection is TLS 1.2 or older)")
    tls.key_update(request_peer=True)
    console.print(f"KeyUpdate sent (update_requested): {tls.connection.write_state.key_label}", highlight=False)


RENEGOTIATE_LINE = b"R"


def _send_input(tls: TLSSocket, console: Console, show_keys: bool, data: bytes) -> None:
    """Send ``data`` from stdin; a line that is only ``R`` renegotiates instead (RFC 5746), as in s_client."""
    pending = b""
    for line in data.splitlines(keepends=True):
        if line.rstrip(b"\r\n") == RENEGOTIATE_LINE and line.endswith(b"\n"):
            if pending:
                tls.sendall(pending)
                pending = b""
            console.print("RENEGOTIATING", highlight=False)
            tls.renegotiate()
            _print_summary(console, tls, show_keys)
        else:
            pending += line
    if pending:
        tls.sendall(pending)


def _exchange(tls: TLSSocket, wait: float, console: Console, show_keys: bool) -> tuple[int, bool]:
    """Send stdin (an ``R`` line renegotiates), print what arrives and each renegotiation the server asks for;
    returns (bytes received, peer closed cleanly)."""
    stdin_fd: int | None = None
    if sys.stdin is not None and not sys.stdin.closed:
        try:
            stdin_fd = sys.stdin.fileno()
        except (OSError, ValueError):  # not a real file (e.g. click's test runner): send it all at once
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
            if data:
                _send_input(tls, console, show_keys, data)
    received = 0
    handshakes = tls.connection.handshakes
    stdout = sys.stdout.buffer
    tls.settimeout(max(wait, 0.05))
    while True:
        for chunk in tls.take_plaintext():
            stdout.write(chunk)
            stdout.flush()
            received += len(chunk)
        if tls.connection.handshakes != handshakes:  # the server asked and we renegotiated
            handshakes = tls.connection.handshakes
            console.print("RENEGOTIATED (the server asked)", highlight=False)
            _print_summary(console, tls, show_keys)
        if tls.peer_closed:
            return received, not tls.truncated
        watch: list[int] = [tls.sock.fileno()]
        if stdin_fd is not None:
            watch.append(stdin_fd)
        readable, _, _ = select.select(watch, [], [], wait)
        if not readable:
            return received, False  # idle for --wait seconds
        if stdin_fd is not None and stdin_fd in readable:
            data = os.read(stdin_fd, 16384)
            if data:
                _send_input(tls, console, show_keys, data)
                handshakes = tls.connection.handshakes
            else:
                stdin_fd = None
        if tls.sock.fileno() in readable:
            try:
                tls.read_some()
            except TLSTimeout:
                return received, False


def _report_early_data(console: Console, tls: TLSSocket, data: bytes) -> None:
    """--early-data: whether the server took the 0-RTT data (RFC 9846 §4.2.10); what it did not take was not
    delivered and is sent now, after the handshake."""
    status = tls.connection.early_data_status
    sent = tls.connection.early_data_sent
    if status == "accepted":
        console.print(f"Early data: accepted ({sent} bytes)", highlight=False)
        return
    if status == "rejected":
        console.print(f"Early data: rejected ({sent} bytes not delivered; sending them now)", highlight=False)
    else:
        console.print("Early data: not sent (no ticket allowing that much; sending it now)", highlight=False)
    tls.sendall(data)


def _client_config(
    *, server_name: str, port: int, versions: str | None, ciphers: str | None, groups: str | None, insecure: bool,
    cafile: str | None, alpn: str | None, no_ems: bool, no_etm: bool, dhe_groups: str | None, ssl3: bool,
    tickets: bool, no_record_splitting: bool, record_size_limit: int | None, key_update_after: int | None,
    record_padding: int | None, psk_identity: str | None, psk_hex: str | None, max_fragment_length: str | None,
    cert: str | None, key: str | None, keylog: str | None,
) -> TLSConfig:
    """The client configuration ``connect``'s options describe (the key log opened last)."""
    from tlsstate.sessions.cache import SessionStore

    version_range = parse_versions(versions)
    config = TLSConfig(
        cipher_suites=parse_suites(ciphers), groups=parse_groups(groups), verify=not insecure, cafile=cafile,
        server_name=server_name, alpn_protocols=split_list(alpn), extended_master_secret=not no_ems,
        encrypt_then_mac=not no_etm, session_store=SessionStore(), session_key=f"{server_name}:{port}",
    )
    apply_protocol_options(config, version_range=version_range, dhe_groups=dhe_groups, ssl3=ssl3)
    config.session_tickets = tickets
    config.split_cbc_records = not no_record_splitting
    config.record_size_limit = record_size_limit
    config.key_update_after = key_update_after
    config.record_padding = record_padding
    config.external_psk = parse_external_psk(psk_identity, psk_hex)
    config.max_fragment_length = int(max_fragment_length) if max_fragment_length else None
    if key and not cert:
        raise click.UsageError("--key needs --cert")
    if cert:
        config.client_certificate_chain, config.client_private_key = load_identity(cert, key, "client")
    try:
        config.keylog = open_keylog(keylog)
    except OSError as exc:
        raise click.ClickException(f"cannot open key log {keylog}: {exc.strerror}") from None
    return config


@click.command(help="TLS client, like openssl s_client: handshake, show parameters, send stdin, print replies.")
@click.argument("target", metavar="HOST:PORT")
@click.option("--servername", help="SNI host name (default: HOST unless it is an IP address).")
@click.option("--alpn", help="ALPN protocols to offer, comma separated (e.g. h2,http/1.1).")
@protocol_options
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False), help="Trust anchors (PEM).")
@click.option("--insecure", is_flag=True, help="Do not verify the server's certificate (tests only).")
@click.option("--show-keys", is_flag=True, help="Print the connection state: master secret and the six values "
              "(TLS 1.3: every secret of the key schedule and each traffic key and IV).")
@click.option("--keylog", type=click.Path(dir_okay=False),
              help="Append NSS key log lines (CLIENT_RANDOM; TLS 1.3: the traffic secrets) here.")
@click.option("--reconnect", is_flag=True, help="Connect a second time and try to resume the session.")
@extension_switches("offer")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Connect/handshake timeout, seconds.")
@click.option("--wait", type=float, default=3.0, show_default=True, help="Stop after this many idle seconds.")
@click.option("--quiet", "-q", is_flag=True, help="Only application data (no status lines).")
@legacy_options("RFC 7919 groups offered for DHE_RSA: ffdhe2048,ffdhe3072,ffdhe4096.")
@record_splitting_switch
@click.option("--tickets/--no-tickets", default=True, show_default=True,
              help="Offer the RFC 5077 SessionTicket extension (and resume with a ticket on --reconnect).")
@click.option("--record-size-limit", type=click.IntRange(64, 16384),
              help="Announce record_size_limit N (RFC 8449): the largest record plaintext we accept.")
@click.option("--max-fragment-length", type=click.Choice(["512", "1024", "2048", "4096"]),
              help="Ask for max_fragment_length (RFC 6066 §4).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="Client certificate chain (PEM, leaf first).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Client private key (PEM; default: --cert file).")
@click.option("--html", "html", type=click.Path(dir_okay=False), default=None,
              help="Also write the connection state as one self-contained HTML page (secrets in full with --show-keys).")
@exporter_options
@click.option("--key-update", is_flag=True,
              help="TLS 1.3: send KeyUpdate(update_requested) right after the handshake (RFC 9846 §4.6.3).")
@click.option("--key-update-after", type=click.IntRange(1), metavar="N",
              help="TLS 1.3: send KeyUpdate after N records under one key (default: the AEAD's limit, §5.5).")
@click.option("--record-padding", type=click.IntRange(1, 16385), metavar="N",
              help="TLS 1.3: pad each application data record to a multiple of N bytes (RFC 9846 §5.4).")
@psk_option
@psk_mode_option
@click.option("--early-data", "early_data_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="TLS 1.3 0-RTT, with --reconnect: the second connection sends FILE as early data right after its "
                   "ClientHello when the first one's ticket allows that much (RFC 9846 §4.2.10), and says whether the "
                   "server accepted it; data not accepted is sent after the handshake. Early data can be replayed (§8).")
@click.option("--server-renegotiation", is_flag=True,
              help="Answer a server's HelloRequest with a secure renegotiation (RFC 5746); default: the warning "
                   "no_renegotiation. A stdin line that is only R renegotiates (as in s_client).")
def connect(
    target: str, servername: str | None, alpn: str | None, versions: str | None, ciphers: str | None,
    groups: str | None, cafile: str | None, insecure: bool, show_keys: bool, keylog: str | None,
    reconnect: bool, no_ems: bool, no_etm: bool, timeout: float, wait: float, quiet: bool,
    dhe_groups: str | None = None, ssl3: bool = False, cert: str | None = None, key: str | None = None,
    tickets: bool = True, record_size_limit: int | None = None, max_fragment_length: str | None = None,
    no_record_splitting: bool = False, html: str | None = None, keymatexport: str | None = None,
    keymatexportlen: int = DEFAULT_EXPORT_LENGTH, keymatexport_context: str | None = None,
    keymatexport_early: bool = False,
    key_update: bool = False, key_update_after: int | None = None, record_padding: int | None = None,
    psk_identity: str | None = None, psk_hex: str | None = None, psk_mode: str = "psk_dhe_ke",
    early_data_file: str | None = None, server_renegotiation: bool = False,
) -> None:
    """Handshake (twice with --reconnect), print what was agreed, then exchange stdin and the replies."""
    if cafile and insecure:
        raise click.UsageError("--cafile and --insecure exclude each other")
    host, port = split_host_port(target)
    export = export_request(keymatexport, keymatexportlen, keymatexport_context, keymatexport_early)
    server_name = servername or host  # an IP address is verified against the IP SANs, never sent (RFC 6066 §3)
    config = _client_config(
        server_name=server_name, port=port, versions=versions, ciphers=ciphers, groups=groups, insecure=insecure,
        cafile=cafile, alpn=alpn, no_ems=no_ems, no_etm=no_etm, dhe_groups=dhe_groups, ssl3=ssl3, tickets=tickets,
        no_record_splitting=no_record_splitting, record_size_limit=record_size_limit, key_update_after=key_update_after,
        record_padding=record_padding, psk_identity=psk_identity, psk_hex=psk_hex,
        max_fragment_length=max_fragment_length, cert=cert, key=key, keylog=keylog,
    )
    config.server_renegotiation = server_renegotiation
    config.psk_key_exchange_modes = PSK_MODES[psk_mode]
    if early_data_file and not reconnect:
        raise click.UsageError("--early-data needs --reconnect (the first connection's ticket allows early data)")
    early = Path(early_data_file).read_bytes() if early_data_file else b""
    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    page = None
    if html:
        from tlsstate.cli.connect_html import ConnectPage  # Jinja2 is loaded only for --html

        page = ConnectPage(target, reveal=show_keys)
    try:
        config.check(server_side=False)
        for attempt in range(2 if reconnect else 1):
            console.print(f"CONNECTED to {host}:{port}" + (" (reconnect)" if attempt else ""), highlight=False)
            tap = page.tap() if page is not None else None
            with TLSSocket.connect(host, port, config, timeout=timeout, on_wire=tap, handshake=False) as tls:
                if attempt == 1 and early:
                    tls.connection.send_early_data(early)
                tls.do_handshake()
                _print_summary(console, tls, show_keys)
                for line in keying_material_lines(tls.connection, export) if export else ():
                    console.print(line, highlight=False, markup=False)
                if key_update and attempt == 0:
                    _send_key_update(console, tls)
                if attempt == 1 and early:
                    _report_early_data(console, tls, early)
                if attempt == 0 or early:
                    received, clean = _exchange(tls, wait, console, show_keys)
                    console.print(
                        f"--- {received} bytes received; "
                        + ("peer sent close_notify" if clean else
                           ("connection closed without close_notify" if tls.peer_closed
                            else f"nothing more within {wait:g} s")),
                        highlight=False,
                    )
            if attempt == 1 and tls.handshake is not None:
                console.print(f"Resumption: {'yes' if tls.handshake.resumed else 'no'}", highlight=False)
            if page is not None and tap is not None:
                page.add(tls, tap)
        if page is not None and html is not None:
            try:
                page.write(html)
            except OSError as exc:
                raise click.ClickException(f"cannot write {html}: {exc.strerror or exc}") from None
            console.print(f"--- HTML page written to {html}", highlight=False)
    except TLSError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"connection to {host}:{port} failed: {exc.strerror or exc}") from None
    finally:
        if config.keylog is not None:
            config.keylog.close()
