"""``tlsstate connect HOST:PORT``: a TLS client like ``openssl s_client``.

Prints the negotiated version, cipher suite, the server's certificate chain (subject, issuer, key,
validity, SPKI SHA-256; from the HandshakeComplete event) and the EMS (RFC 7627),
EtM (RFC 7366) and resumption flags; with ``--show-keys`` the connection state (master secret and the
six key-block values, RFC 5246 §6.3). Then sends stdin and prints what comes back until the peer's
close_notify, EOF, or ``--wait`` idle seconds. Status lines go to stderr, application data to stdout.

The option parsers here (versions, suites, groups) are shared with ``tlsstate serve``.
"""

from __future__ import annotations

import hashlib
import os
import select
import sys

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rich.console import Console

from tlsstate.config import TLSConfig
from tlsstate.crypto import certs
from tlsstate.crypto.suites import CipherSuite, lookup
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.constants import NamedGroup, ProtocolVersion, parse_version
from tlsstate.wire.errors import ConfigurationError, TLSError, TLSTimeout
from tlsstate.wire.extensions import is_ip_address

GROUP_ALIASES: dict[str, NamedGroup] = {
    "x25519": NamedGroup.X25519,
    "p256": NamedGroup.SECP256R1, "p-256": NamedGroup.SECP256R1, "secp256r1": NamedGroup.SECP256R1,
    "prime256v1": NamedGroup.SECP256R1,
    "p384": NamedGroup.SECP384R1, "p-384": NamedGroup.SECP384R1, "secp384r1": NamedGroup.SECP384R1,
}


def split_list(text: str | None) -> list[str]:
    """``a,b:c d`` -> ``["a", "b", "c", "d"]``."""
    if not text:
        return []
    return [part for part in text.replace(":", ",").replace(" ", ",").split(",") if part]


def parse_versions(text: str | None) -> tuple[ProtocolVersion, ProtocolVersion] | None:
    """``tls1.2`` / ``tls1.0,tls1.2`` / ``tls1.0-tls1.2`` -> (lowest, highest); None when not given."""
    if not text:
        return None
    names = [p for chunk in split_list(text) for p in chunk.split("-") if p]
    try:
        versions = [parse_version(name) for name in names]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--versions") from None
    if not versions:
        raise click.BadParameter("no version given", param_hint="--versions")
    return min(versions), max(versions)


def parse_suites(text: str | None) -> list[CipherSuite] | None:
    """Comma/colon separated IANA or OpenSSL suite names or hex ids; None when not given."""
    if not text:
        return None
    try:
        return [lookup(name) for name in split_list(text)]
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--ciphers") from None


def parse_groups(text: str | None) -> list[NamedGroup] | None:
    """``x25519,p256,p384`` (also OpenSSL's spellings) -> named groups; None when not given."""
    if not text:
        return None
    groups = []
    for name in split_list(text):
        group = GROUP_ALIASES.get(name.lower())
        if group is None:
            raise click.BadParameter(f"unknown group {name!r} (x25519, p256, p384)", param_hint="--groups")
        groups.append(group)
    return groups


DHE_GROUP_NAMES = {"ffdhe2048": NamedGroup.FFDHE2048, "ffdhe3072": NamedGroup.FFDHE3072, "ffdhe4096": NamedGroup.FFDHE4096}


def parse_dhe_groups(text: str | None) -> list[NamedGroup] | None:
    """``ffdhe2048,ffdhe3072`` -> RFC 7919 groups for DHE_RSA; None when not given."""
    if not text:
        return None
    groups = []
    for name in split_list(text):
        group = DHE_GROUP_NAMES.get(name.lower())
        if group is None:
            raise click.BadParameter(
                f"unknown DHE group {name!r} (ffdhe2048, ffdhe3072, ffdhe4096)", param_hint="--dhe-groups"
            )
        groups.append(group)
    return groups


def load_identity(
    cert: str, key: str | None, role: str
) -> tuple[list[x509.Certificate], rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    """(certificate chain, private key) from PEM/DER/PKCS#12 files for ``serve`` and ``connect``: a one-line
    click error when they cannot be read or the key is neither RSA nor ECDSA (the kinds TLS 1.0-1.2 signs with)."""
    try:
        chain, private_key = certs.load_cert_and_key(cert, key)
    except (TLSError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load {role} certificate/key: {exc}") from None
    if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise click.ClickException(f"a {role} certificate needs an RSA or ECDSA key")
    return chain, private_key


def apply_protocol_options(config: TLSConfig, *, dhe_groups: str | None, ssl3: bool, versions_given: bool) -> None:
    """Options shared by connect and serve: --dhe-groups, --ssl3 (enables SSL 3.0 and, without --versions, allows it)."""
    config.dhe_groups = parse_dhe_groups(dhe_groups)
    if ssl3:
        config.enable_ssl3 = True
        if not versions_given:
            config.min_version = ProtocolVersion.SSL3


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


def version_name(version: int) -> str:
    """``TLS 1.2`` for a wire value."""
    try:
        return ProtocolVersion(version).label
    except ValueError:
        return f"0x{version:04x}"


def openssl_version_name(version: int) -> str:
    """OpenSSL's spelling: ``TLSv1.2``, ``TLSv1`` (for 1.0), ``SSLv3``."""
    return {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}.get(
        version, f"0x{version:04x}"
    )


def describe_certificate(cert: x509.Certificate) -> str:
    """One line: subject, issuer, key, validity (no secrets in a certificate)."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_text = f"RSA-{key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_text = f"EC-{key.curve.name}"
    else:
        key_text = type(key).__name__
    return (
        f"s:{cert.subject.rfc4514_string()}  i:{cert.issuer.rfc4514_string()}  {key_text}  "
        f"valid {cert.not_valid_before_utc:%Y-%m-%d} .. {cert.not_valid_after_utc:%Y-%m-%d}"
    )


def spki_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex (the value pinned by RFC 7469 pin-sha256 and curl
    --pinnedpubkey; ``openssl x509 -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256``)."""
    der = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def certificate_identity(cert: x509.Certificate) -> str:
    """One line naming a peer certificate: ``s:<subject> i:<issuer> spki-sha256:<hex>`` (public values only)."""
    return f"s:{cert.subject.rfc4514_string()} i:{cert.issuer.rfc4514_string()} spki-sha256:{spki_sha256(cert)}"


def peer_chain(tls: TLSSocket) -> list[x509.Certificate]:
    """The peer's certificate chain, leaf first: from the HandshakeComplete event, else from the connection."""
    if tls.handshake is not None and tls.handshake.peer_certificates:
        return list(tls.handshake.peer_certificates)
    return list(tls.connection.peer_certificates)


def hex_or_note(value: bytes, note: str = "not used by this suite") -> str:
    """Hex of a key-block value, or the note when the suite has no such value."""
    return value.hex() if value else f"({note})"


def _print_summary(console: Console, tls: TLSSocket, show_keys: bool) -> None:
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
    console.print(f"Extended master secret: {'yes' if hs.extended_master_secret else 'no'}", highlight=False)
    console.print(f"Encrypt-then-MAC: {'yes' if hs.encrypt_then_mac else 'no'}", highlight=False)
    console.print(f"ALPN protocol: {hs.alpn or '(none)'}", highlight=False)
    console.print(f"Session: {'Reused' if hs.resumed else 'New'}", highlight=False)
    if show_keys:
        sec = conn.security
        if sec is not None:
            console.print("--- connection state (secret: shown because --show-keys)", highlight=False)
            premaster = sec.premaster_secret
            if premaster:
                console.print(f"premaster secret     : {premaster.hex()}", highlight=False)
            console.print(f"client random        : {sec.client_random.hex()}", highlight=False)
            console.print(f"server random        : {sec.server_random.hex()}", highlight=False)
            console.print(f"master secret        : {sec.master_secret.hex()}", highlight=False)
            keys = sec.keys
            for label, value in (
                ("client write MAC key", keys.client_write_mac_key), ("server write MAC key", keys.server_write_mac_key),
                ("client write key", keys.client_write_key), ("server write key", keys.server_write_key),
                ("client write IV", keys.client_write_iv), ("server write IV", keys.server_write_iv),
            ):
                console.print(f"{label:<21}: {hex_or_note(value)}", highlight=False)
    console.print("---")


def _exchange(tls: TLSSocket, wait: float) -> tuple[int, bool]:
    """Send stdin, print what arrives; returns (bytes received, peer closed cleanly)."""
    stdin_fd: int | None = None
    if sys.stdin is not None and not sys.stdin.closed:
        try:
            stdin_fd = sys.stdin.fileno()
        except (OSError, ValueError):  # not a real file (e.g. click's test runner): send it all at once
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
            if data:
                tls.sendall(data)
    received = 0
    stdout = sys.stdout.buffer
    tls.settimeout(max(wait, 0.05))
    while True:
        for chunk in tls.take_plaintext():
            stdout.write(chunk)
            stdout.flush()
            received += len(chunk)
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
                tls.sendall(data)
            else:
                stdin_fd = None
        if tls.sock.fileno() in readable:
            try:
                tls.read_some()
            except TLSTimeout:
                return received, False


@click.command(help="TLS client, like openssl s_client: handshake, show parameters, send stdin, print replies.")
@click.argument("target", metavar="HOST:PORT")
@click.option("--servername", help="SNI host name (default: HOST unless it is an IP address).")
@click.option("--alpn", help="ALPN protocols to offer, comma separated (e.g. h2,http/1.1).")
@click.option("--versions", help="Protocol versions, e.g. tls1.2 or tls1.0-tls1.2.")
@click.option("--ciphers", help="Cipher suites (IANA or OpenSSL names, comma/colon separated).")
@click.option("--groups", help="ECDHE groups: x25519,p256,p384.")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False), help="Trust anchors (PEM).")
@click.option("--insecure", is_flag=True, help="Do not verify the server's certificate (tests only).")
@click.option("--show-keys", is_flag=True, help="Print the connection state: master secret and the six values.")
@click.option("--keylog", type=click.Path(dir_okay=False), help="Append NSS key log lines (CLIENT_RANDOM) here.")
@click.option("--reconnect", is_flag=True, help="Connect a second time and try to resume the session.")
@click.option("--no-ems", is_flag=True, help="Do not offer extended_master_secret (RFC 7627).")
@click.option("--no-etm", is_flag=True, help="Do not offer encrypt_then_mac (RFC 7366).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Connect/handshake timeout, seconds.")
@click.option("--wait", type=float, default=3.0, show_default=True, help="Stop after this many idle seconds.")
@click.option("--quiet", "-q", is_flag=True, help="Only application data (no status lines).")
@click.option("--dhe-groups", help="RFC 7919 groups offered for DHE_RSA: ffdhe2048,ffdhe3072,ffdhe4096.")
@click.option("--ssl3", is_flag=True, help="Enable SSL 3.0 (RFC 6101; off by default, RFC 7568).")
@click.option("--tickets/--no-tickets", default=True, show_default=True,
              help="Offer the RFC 5077 SessionTicket extension (and resume with a ticket on --reconnect).")
@click.option("--record-size-limit", type=click.IntRange(64, 16384),
              help="Announce record_size_limit N (RFC 8449): the largest record plaintext we accept.")
@click.option("--max-fragment-length", type=click.Choice(["512", "1024", "2048", "4096"]),
              help="Ask for max_fragment_length (RFC 6066 §4).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="Client certificate chain (PEM, leaf first).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Client private key (PEM; default: --cert file).")
def connect(
    target: str, servername: str | None, alpn: str | None, versions: str | None, ciphers: str | None,
    groups: str | None, cafile: str | None, insecure: bool, show_keys: bool, keylog: str | None,
    reconnect: bool, no_ems: bool, no_etm: bool, timeout: float, wait: float, quiet: bool,
    dhe_groups: str | None = None, ssl3: bool = False, cert: str | None = None, key: str | None = None,
    tickets: bool = True, record_size_limit: int | None = None, max_fragment_length: str | None = None,
) -> None:
    from tlsstate.sessions.cache import SessionStore
    from tlsstate.wire.keylog import KeyLogWriter, open_default_keylog

    if cafile and insecure:
        raise click.UsageError("--cafile and --insecure exclude each other")
    host, port = split_host_port(target)
    server_name = servername or (None if is_ip_address(host) else host)
    version_range = parse_versions(versions)
    config = TLSConfig(
        cipher_suites=parse_suites(ciphers), groups=parse_groups(groups), verify=not insecure, cafile=cafile,
        server_name=server_name, alpn_protocols=split_list(alpn), extended_master_secret=not no_ems,
        encrypt_then_mac=not no_etm, session_store=SessionStore(), session_key=f"{server_name or host}:{port}",
    )
    if version_range:
        config.min_version, config.max_version = version_range
    apply_protocol_options(config, dhe_groups=dhe_groups, ssl3=ssl3, versions_given=version_range is not None)
    config.session_tickets = tickets
    config.record_size_limit = record_size_limit
    config.max_fragment_length = int(max_fragment_length) if max_fragment_length else None
    if key and not cert:
        raise click.UsageError("--key needs --cert")
    if cert:
        config.client_certificate_chain, config.client_private_key = load_identity(cert, key, "client")
    try:
        config.keylog = KeyLogWriter(keylog) if keylog else open_default_keylog()
    except OSError as exc:
        raise click.ClickException(f"cannot open key log {keylog}: {exc.strerror}") from None
    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    try:
        config.check(server_side=False)
        for attempt in range(2 if reconnect else 1):
            console.print(f"CONNECTED to {host}:{port}" + (" (reconnect)" if attempt else ""), highlight=False)
            with TLSSocket.connect(host, port, config, timeout=timeout) as tls:
                _print_summary(console, tls, show_keys)
                if attempt == 0:
                    received, clean = _exchange(tls, wait)
                    console.print(
                        f"--- {received} bytes received; "
                        + ("peer sent close_notify" if clean else
                           ("connection closed without close_notify" if tls.peer_closed
                            else f"nothing more within {wait:g} s")),
                        highlight=False,
                    )
            if attempt == 1 and tls.handshake is not None:
                console.print(f"Resumption: {'yes' if tls.handshake.resumed else 'no'}", highlight=False)
    except TLSError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"connection to {host}:{port} failed: {exc.strerror or exc}") from None
    finally:
        if config.keylog is not None:
            config.keylog.close()
