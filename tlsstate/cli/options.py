"""What several ``tlsstate`` commands read from their command line, in one place.

* the click options ``connect`` and ``serve`` both take (:func:`protocol_options`, :func:`extension_switches`,
  :func:`legacy_options`) and the parsers behind them: protocol versions (RFC 8446 §4.2.1 names), cipher suites
  (IANA or OpenSSL names, hex ids), (EC)DHE groups (RFC 8422 §5.1.1, RFC 7919 §2);
* :func:`apply_protocol_options`, which puts the parsed values into a :class:`~tlsstate.config.TLSConfig`;
* :func:`load_identity`: a certificate chain and its private key, with one-line errors;
* :func:`open_keylog`: the NSS key log to append to (``--keylog`` or ``$SSLKEYLOGFILE``);
* :func:`parse_hex` and :class:`OneLineErrors` for commands (``keys``, ``prf``) whose every usage error is one line.

Bad input becomes a click error (exit status 2, or 1 for unreadable files), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tlsstate.crypto.suites import CipherSuite, lookup
from tlsstate.wire.constants import NamedGroup, ProtocolVersion, parse_version
from tlsstate.wire.errors import ConfigurationError, TLSError
from tlsstate.wire.keylog import KeyLogWriter, open_default_keylog

# ``tlsstate keys`` and ``prf`` import this module for parse_hex and OneLineErrors: load_identity imports the
# certificate layer itself, and the configuration and key classes are types only here.
if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    from tlsstate.config import TLSConfig

F = TypeVar("F", bound=Callable[..., Any])

GROUP_ALIASES: dict[str, NamedGroup] = {
    "x25519": NamedGroup.X25519,
    "p256": NamedGroup.SECP256R1, "p-256": NamedGroup.SECP256R1, "secp256r1": NamedGroup.SECP256R1,
    "prime256v1": NamedGroup.SECP256R1,
    "p384": NamedGroup.SECP384R1, "p-384": NamedGroup.SECP384R1, "secp384r1": NamedGroup.SECP384R1,
    "p521": NamedGroup.SECP521R1, "p-521": NamedGroup.SECP521R1, "secp521r1": NamedGroup.SECP521R1,
    "x448": NamedGroup.X448,
    "x25519mlkem768": NamedGroup.X25519MLKEM768, "secp256r1mlkem768": NamedGroup.SECP256R1MLKEM768,
    "ffdhe2048": NamedGroup.FFDHE2048, "ffdhe3072": NamedGroup.FFDHE3072, "ffdhe4096": NamedGroup.FFDHE4096,
    "ffdhe6144": NamedGroup.FFDHE6144, "ffdhe8192": NamedGroup.FFDHE8192,
}
DHE_GROUP_NAMES = {"ffdhe2048": NamedGroup.FFDHE2048, "ffdhe3072": NamedGroup.FFDHE3072, "ffdhe4096": NamedGroup.FFDHE4096}


# --- click options shared by connect and serve ------------------------------------------------------------------------


def _stacked(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply click option decorators so that ``--help`` lists them in the order given."""

    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def protocol_options(function: F) -> F:
    """``--versions``, ``--ciphers``, ``--groups``: what a peer may negotiate (parsed by :func:`parse_versions`,
    :func:`parse_suites`, :func:`parse_groups`)."""
    return _stacked(
        click.option("--versions", help="Protocol versions, e.g. tls1.3, tls1.2 or tls1.0-tls1.3 (default: tls1.0-tls1.3)."),
        click.option("--ciphers", help="Cipher suites (IANA or OpenSSL names, comma/colon separated; TLS 1.3 "
                     "suites among them choose TLS 1.3's, none: no TLS 1.3)."),
        click.option("--groups", help="(EC)DHE groups, IANA names or short ones, case-insensitive: "
                     "X25519MLKEM768,SecP256r1MLKEM768,x25519,secp256r1 (p256),secp384r1 (p384),secp521r1 (p521),x448,"
                     "ffdhe2048..ffdhe8192 (TLS 1.3; for TLS 1.2 DHE see --dhe-groups)."),
    )(function)


def extension_switches(verb: str) -> Callable[[F], F]:
    """``--no-ems``, ``--no-etm``: turn off RFC 7627 / RFC 7366; ``verb`` is what the role does ("offer")."""
    return _stacked(
        click.option("--no-ems", is_flag=True, help=f"Do not {verb} extended_master_secret (RFC 7627)."),
        click.option("--no-etm", is_flag=True, help=f"Do not {verb} encrypt_then_mac (RFC 7366)."),
    )


def legacy_options(dhe_groups_help: str) -> Callable[[F], F]:
    """``--dhe-groups`` (RFC 7919 groups for DHE_RSA; the help says how the role uses them) and ``--ssl3``."""
    return _stacked(
        click.option("--dhe-groups", help=dhe_groups_help),
        click.option("--ssl3", is_flag=True, help="Enable SSL 3.0 (RFC 6101; off by default, RFC 7568)."),
    )


def record_splitting_switch(function: F) -> F:
    """``--no-record-splitting``: send each write as one record even in SSL 3.0 / TLS 1.0 with CBC
    (:attr:`~tlsstate.config.TLSConfig.split_cbc_records`; on by default, against BEAST)."""
    return click.option(
        "--no-record-splitting", is_flag=True,
        help="SSL 3.0/TLS 1.0 CBC: do not send each write's first byte in a record of its own (1/n-1 split, BEAST).",
    )(function)


# --- parsers ----------------------------------------------------------------------------------------------------------


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


def _parse_named(text: str | None, names: dict[str, NamedGroup], error: str, option: str) -> list[NamedGroup] | None:
    """Groups by name from ``names`` (case-insensitive); ``error`` formats the message for an unknown ``{name!r}``."""
    if not text:
        return None
    groups = []
    for name in split_list(text):
        group = names.get(name.lower())
        if group is None:
            raise click.BadParameter(error.format(name=name), param_hint=option)
        groups.append(group)
    return groups


def parse_groups(text: str | None) -> list[NamedGroup] | None:
    """``x25519,p256,p384`` (also OpenSSL's spellings) -> named groups (RFC 8422 §5.1.1); None when not given."""
    return _parse_named(
        text, GROUP_ALIASES,
        "unknown group {name!r} (X25519MLKEM768, SecP256r1MLKEM768, x25519, secp256r1, secp384r1, secp521r1, x448, "
        "ffdhe2048-ffdhe8192)", "--groups",
    )


def parse_dhe_groups(text: str | None) -> list[NamedGroup] | None:
    """``ffdhe2048,ffdhe3072`` -> RFC 7919 groups for DHE_RSA; None when not given."""
    return _parse_named(
        text, DHE_GROUP_NAMES, "unknown DHE group {name!r} (ffdhe2048, ffdhe3072, ffdhe4096)", "--dhe-groups"
    )


def parse_hex(option: str, text: str) -> bytes:
    """Hex with optional ``0x`` prefix and ``:``/space separators; a one-line usage error otherwise."""
    cleaned = text.strip().lower().replace(":", "").replace(" ", "")
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    if len(cleaned) % 2:
        raise click.UsageError(f"{option}: odd number of hex digits ({len(cleaned)})")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise click.UsageError(f"{option}: not hex: {text[:40]!r}") from None


# --- from options to configuration ------------------------------------------------------------------------------------


def apply_protocol_options(
    config: TLSConfig,
    *,
    version_range: tuple[ProtocolVersion, ProtocolVersion] | None,
    dhe_groups: str | None,
    ssl3: bool,
) -> None:
    """Options shared by connect and serve: the ``--versions`` range (default: up to TLS 1.3, RFC 9846), ``--dhe-groups``,
    and ``--ssl3`` (enables SSL 3.0, RFC 6101, and, without ``--versions``, allows it)."""
    if version_range:
        config.min_version, config.max_version = version_range
    else:
        config.max_version = ProtocolVersion.TLS1_3
    config.dhe_groups = parse_dhe_groups(dhe_groups)
    if ssl3:
        config.enable_ssl3 = True
        if version_range is None:
            config.min_version = ProtocolVersion.SSL3


def load_identity(
    cert: str, key: str | None, role: str
) -> tuple[list[x509.Certificate], rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey]:
    """(certificate chain, private key) from PEM/DER/PKCS#12 files for ``serve`` and ``connect``: a one-line
    click error when they cannot be read or the key is not RSA, ECDSA or Ed25519 (the kinds tlsstate signs with)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    from tlsstate.crypto import certs

    try:
        chain, private_key = certs.load_cert_and_key(cert, key)
    except (TLSError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load {role} certificate/key: {exc}") from None
    if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise click.ClickException(f"a {role} certificate needs an RSA, ECDSA or Ed25519 key")
    return chain, private_key


def psk_option(function: F) -> F:
    """``--psk-identity ID --psk HEX``: a TLS 1.3 external PSK (RFC 9846 §4.2.11), for connect and serve."""
    return _stacked(
        click.option("--psk-identity", help="TLS 1.3 external PSK identity (with --psk; RFC 9846 §4.2.11)."),
        click.option("--psk", "psk_hex", metavar="HEX", help="TLS 1.3 external PSK key, hex (SHA-256, psk_dhe_ke)."),
    )(function)


#: ``--psk-mode`` values: the TLS 1.3 PSK key exchange modes offered (client) or accepted (server), preferred first.
PSK_MODES: dict[str, tuple[int, ...]] = {"psk_dhe_ke": (1,), "psk_ke": (0,), "both": (1, 0)}


def psk_mode_option(function: F) -> F:
    """``--psk-mode psk_dhe_ke|psk_ke|both``: RFC 9846 §4.2.9, for connect and serve."""
    return click.option(
        "--psk-mode", type=click.Choice(list(PSK_MODES)), default="psk_dhe_ke", show_default=True,
        help="TLS 1.3 PSK key exchange modes (tickets and --psk; RFC 9846 §4.2.9): psk_dhe_ke (an (EC)DHE exchange "
             "too), psk_ke (the PSK alone: no forward secrecy, no key_share) or both (psk_dhe_ke preferred).",
    )(function)


def parse_external_psk(identity: str | None, key_hex: str | None) -> tuple[bytes, bytes] | None:
    """(identity, key) from ``--psk-identity`` / ``--psk``, which go together; None when neither is given."""
    if identity is None and key_hex is None:
        return None
    if identity is None or key_hex is None:
        raise click.UsageError("--psk-identity and --psk go together")
    key = parse_hex("--psk", key_hex)
    if len(key) < 16:
        raise click.UsageError("--psk: at least 16 bytes")
    return identity.encode(), key


def open_keylog(path: str | None) -> KeyLogWriter | None:
    """The NSS key log to append to: ``--keylog`` when given, else ``$SSLKEYLOGFILE`` (None when neither).

    Raises OSError when the file cannot be opened; each command words that error its own way.
    """
    return KeyLogWriter(path) if path else open_default_keylog()


# --- one-line usage errors --------------------------------------------------------------------------------------------


def _one_line(error: click.UsageError) -> click.UsageError:
    """The same message as a usage error without a context: click then prints only ``Error: <message>``."""
    return click.UsageError(error.format_message().replace("\n", " "))


class OneLineErrors(click.Command):
    """A command whose usage errors (option parsing and its own checks) are one line, exit status 2.

    click prints the usage and a help hint above a usage error that knows its context; the errors are raised again
    here without one.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None
