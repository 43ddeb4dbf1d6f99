"""``tlsstate keys`` and ``tlsstate prf``: the SSL 3.0 – TLS 1.2 key schedule on the command line.

``keys`` derives a connection state (RFC 5246 §8.1 master secret or RFC 7627 §4 extended master secret, §6.3 key
block and its six values) and says what each value is for; ``--json`` prints one stable object. With no arguments it
runs a built-in, externally verifiable session (Wireshark's test capture ``dmgr.pcapng``). It derives through the
same road as a handshake: :func:`~tlsstate.crypto.negotiated.master_secret_for` and
:func:`~tlsstate.crypto.negotiated.connection_keys_for`; the key block shown is the six values end to end.

``prf`` runs the PRF itself (RFC 2246 §5 for TLS 1.0/1.1, RFC 5246 §5 for TLS 1.2). For ``--version ssl3`` it runs the
SSL 3.0 expansion MD5(secret + SHA1('A'..  + secret + seed)) of RFC 6101 §6.1; that construction has no label, so
``--label`` must then be left out (a label is rejected rather than silently ignored).

Bad input exits with status 2 and a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from tlsstate.cli.describe import VALUE_TITLES
from tlsstate.cli.options import OneLineErrors, parse_hex
from tlsstate.crypto import prf as prf_functions
from tlsstate.crypto.hashes import hash_algorithm
from tlsstate.crypto.keys import KEY_NAMES, ConnectionKeys
from tlsstate.crypto.negotiated import Negotiated, connection_keys_for, master_secret_for
from tlsstate.crypto.suites import CipherFamily, CipherSuite, NonceStyle, lookup
from tlsstate.wire.constants import ProtocolVersion, parse_version
from tlsstate.wire.errors import ConfigurationError

# The built-in example: the TLS 1.0 session in Wireshark's test capture test/captures/dmgr.pcapng, whose RSA
# pre-master secret Wireshark decrypts with the capture's key. tshark 4.0.17 prints the same master secret and key
# block (../shared/vectors/wireshark-test-suite/expected-tshark/dmgr.json), so the output can be checked externally.
EXAMPLE = {
    "source": "Wireshark test suite capture test/captures/dmgr.pcapng (TLS 1.0 session, RSA key exchange); "
    "tshark prints the same master secret and key block for it",
    "version": "tls1.0",
    "suite": "TLS_RSA_WITH_AES_128_CBC_SHA",
    "client_random": "73646aa7c4a448f0be31b2fe5e10e7406616ab1ce8ee1e638bcbb0c0f4bfcbe0",
    "server_random": "556e22664f38386e79296be3b135595c38609d983b48c391de796f88fdcb1d5c",
    "premaster": "030355a7a3b70332c6a03868e29a8a1910afd7a2f1e18f1de7b587c42aa17f227e4a5d1f7fa8720f14d666744b0351be",
}

MAX_PRF_LENGTH = 65536
MAX_PREMASTER_LENGTH = 1024  # FFDHE8192 gives 1024 bytes; PSK premasters are shorter


def parse_version_option(text: str) -> ProtocolVersion:
    """``--version`` through constants.parse_version, as a one-line error."""
    try:
        return parse_version(text)
    except ValueError as exc:
        raise click.UsageError(f"--version: {exc}") from None


def _check_length(option: str, value: bytes, length: int) -> None:
    """A one-line usage error unless ``value`` has exactly ``length`` bytes."""
    if len(value) != length:
        raise click.UsageError(f"{option} must be {length} bytes, got {len(value)}")


# --- what each value is for -------------------------------------------------------------------------------------------


def _mac_name(suite: CipherSuite, version: ProtocolVersion) -> str:
    """The record MAC: the SSL 3.0 MAC (RFC 6101 §5.2.3.1) or HMAC (RFC 5246 §6.2.3.1) with the suite's hash."""
    name = suite.mac.hash_name.upper()
    return f"SSL 3.0 MAC with {name}" if version is ProtocolVersion.SSL3 else f"HMAC-{name}"


def describe(suite: CipherSuite, version: ProtocolVersion) -> dict[str, str]:
    """What each of the six values does for this suite and version (RFC 5246 §6.2.3, §6.3; RFC 5288; RFC 7905)."""
    cipher = suite.cipher
    out: dict[str, str] = {}
    for side in ("client", "server"):
        if suite.mac_key_length():
            out[f"{side}_write_mac_key"] = f"authenticates records the {side} sends ({_mac_name(suite, version)})"
        else:
            out[f"{side}_write_mac_key"] = f"not used: the {cipher.name} AEAD authenticates records itself"
        if cipher.family is CipherFamily.NULL:
            out[f"{side}_write_key"] = "not used: NULL cipher, records are not encrypted"
        elif cipher.is_export:
            out[f"{side}_write_key"] = (f"encrypts records the {side} sends ({cipher.name}): expanded from 5 bytes of "
                                        "key block and the randoms (RFC 2246 §6.3, RFC 6101 §6.2.2)")
        else:
            out[f"{side}_write_key"] = f"encrypts records the {side} sends ({cipher.name})"
        iv_length = suite.iv_length(version)
        if cipher.is_export and iv_length:
            out[f"{side}_write_iv"] = f"CBC IV of the {side}'s first record, from the randoms only (export cipher)"
        elif cipher.family is CipherFamily.CBC and iv_length:
            out[f"{side}_write_iv"] = f"implicit CBC IV of the {side}'s first record (later ones chain from the last block)"
        elif cipher.family is CipherFamily.CBC:
            out[f"{side}_write_iv"] = "not used in this version: TLS 1.1+ CBC records carry an explicit IV"
        elif cipher.nonce_style is NonceStyle.EXPLICIT_PREFIX:
            mode = "GCM" if "GCM" in cipher.algorithm else "CCM"
            out[f"{side}_write_iv"] = f"{mode} salt: first 4 bytes of every {side} record nonce (explicit 8 follow)"
        elif cipher.nonce_style is NonceStyle.XOR_SEQUENCE:
            out[f"{side}_write_iv"] = f"ChaCha20-Poly1305 nonce mask, XORed with the {side}'s sequence number"
        else:
            out[f"{side}_write_iv"] = f"not used: {cipher.name} has no IV"
    return out


def _prf_name(version: ProtocolVersion, suite: CipherSuite) -> str:
    """Which PRF derives this version's secrets (RFC 6101 §6.1, RFC 2246 §5, RFC 5246 §5)."""
    if version is ProtocolVersion.SSL3:
        return "SSL 3.0 MD5/SHA-1 expansion"
    if version < ProtocolVersion.TLS1_2:
        return "TLS 1.0 PRF (P_MD5 xor P_SHA1)"
    return f"TLS 1.2 PRF (P_{suite.prf_hash.upper()})"


@dataclass(frozen=True)
class KeySchedule:
    """What ``tlsstate keys`` derived: the hello parameters, the master secret and how, the six values."""

    negotiated: Negotiated
    master: bytes
    master_how: str
    keys: ConnectionKeys
    source: str | None  # the example session's description, None for the user's own input

    @property
    def key_block(self) -> bytes:
        """The key block itself: the six values are its consecutive slices (RFC 5246 §6.3), except for export
        ciphers, whose final keys and IVs are derived from its key material (RFC 2246 §6.3)."""
        n = self.negotiated
        if n.suite.cipher.is_export:
            length = n.suite.key_block_length(n.version)
            return prf_functions.key_block(n.version, n.suite.prf_hash, self.master, n.client_random, n.server_random,
                                           length)
        return b"".join(getattr(self.keys, name) for name in KEY_NAMES)


def _render(console: Console, schedule: KeySchedule) -> None:
    """The explained layout: suite, master secret and key block with their formulas, then each value's job."""
    version, suite = schedule.negotiated.version, schedule.negotiated.suite
    if schedule.source:
        console.print(f"[bold]Example session:[/] {escape(schedule.source)}")
    console.print(f"[bold]{version.label}[/]  {suite.name} ({suite.hex_id})")
    mac = "none (AEAD)" if not suite.mac_key_length() else _mac_name(suite, version)
    console.print(
        f"  key exchange {suite.key_exchange.value}, cipher {suite.cipher.name}, MAC {mac}, {_prf_name(version, suite)}"
    )
    console.print()
    console.print(f"[bold cyan]master secret[/] (48 bytes) = {escape(schedule.master_how)}")
    console.print(f"  {schedule.master.hex()}", soft_wrap=True)
    if version is ProtocolVersion.SSL3:
        block_how = "SSL 3.0 expansion(master secret, server_random + client_random)  [RFC 6101 §6.2.2]"
    else:
        block_how = 'PRF(master secret, "key expansion", server_random + client_random)  [RFC 5246 §6.3]'
    block = schedule.key_block
    console.print(f"[bold cyan]key block[/] ({len(block)} bytes) = {escape(block_how)}")
    console.print(f"  {block.hex()}", soft_wrap=True)
    console.print()
    descriptions = describe(suite, version)
    for name, title in VALUE_TITLES.items():
        value: bytes = getattr(schedule.keys, name)
        console.print(f"[bold green]{title}[/] ({len(value)} bytes): {escape(descriptions[name])}")
        console.print(f"  {value.hex() if value else '(none)'}", soft_wrap=True)


def _json_document(schedule: KeySchedule) -> dict[str, Any]:
    """The ``--json`` object: version, suite, EMS flag, master secret, the six values, key block (stable keys)."""
    n = schedule.negotiated
    document: dict[str, Any] = {
        "version": n.version.cli_name,
        "cipher_suite": n.suite.name,
        "cipher_suite_id": n.suite.hex_id,
        "extended_master_secret": n.extended_master_secret,
        "master_secret": schedule.master.hex(),
        **schedule.keys.as_hex_dict(),
        "key_block": schedule.key_block.hex(),
    }
    if schedule.source:
        document["example_source"] = schedule.source
    return document


# --- reading the options (each check in the order the command applies it) ---------------------------------------------


def _require_inputs(
    version_text: str | None, suite_text: str | None, client_random: str | None, server_random: str | None,
    premaster: str | None, master_secret: str | None,
) -> None:
    """Version, suite and both randoms are needed, and exactly one of the two secrets."""
    missing = [
        opt
        for opt, value in (
            ("--version", version_text),
            ("--suite", suite_text),
            ("--client-random", client_random),
            ("--server-random", server_random),
        )
        if value is None
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (run with no arguments for an example)")
    if (premaster is None) == (master_secret is None):
        raise click.UsageError("give exactly one of --premaster or --master-secret")


def _key_block_suite(version_text: str, suite_text: str) -> tuple[ProtocolVersion, CipherSuite]:
    """A version that has a key block (SSL 3.0 - TLS 1.2) and a suite valid in it."""
    version = parse_version_option(version_text)
    if version is ProtocolVersion.TLS1_3:
        raise click.UsageError("--version: TLS 1.3 has no key block; its keys come from the HKDF schedule (RFC 8446 §7)")
    try:
        suite = lookup(suite_text)
    except ConfigurationError as exc:
        raise click.UsageError(f"--suite: {exc}") from None
    if suite.is_tls13 or not suite.readable_in(version):
        raise click.UsageError(f"--suite: {suite.name} is not valid in {version.label}")
    return version, suite


def _random(option: str, text: str) -> bytes:
    """ClientHello.random / ServerHello.random: 32 bytes of hex (RFC 5246 §7.4.1.2)."""
    value = parse_hex(option, text)
    _check_length(option, value, prf_functions.RANDOM_LENGTH)
    return value


def _premaster(suite: CipherSuite, text: str) -> bytes:
    """The pre-master secret: 48 bytes for RSA key exchange (RFC 5246 §7.4.7.1), else 1..MAX_PREMASTER_LENGTH."""
    premaster = parse_hex("--premaster", text)
    if suite.key_exchange.value == "RSA":
        _check_length("--premaster", premaster, 48)
    elif not 0 < len(premaster) <= MAX_PREMASTER_LENGTH:
        raise click.UsageError(f"--premaster must be 1..{MAX_PREMASTER_LENGTH} bytes, got {len(premaster)}")
    return premaster


def _master_secret(
    negotiated: Negotiated, premaster: bytes | None, session_hash: str | None, master_secret: str | None
) -> tuple[bytes, str]:
    """(master secret, how it was obtained): given, or derived through :func:`master_secret_for`."""
    version = negotiated.version
    if premaster is None:
        if session_hash is not None:
            raise click.UsageError("--session-hash needs --premaster (the master secret is already derived)")
        assert master_secret is not None
        master = parse_hex("--master-secret", master_secret)
        _check_length("--master-secret", master, prf_functions.MASTER_SECRET_LENGTH)
        return master, "given"
    if not negotiated.extended_master_secret:
        if version is ProtocolVersion.SSL3:
            how = "SSL 3.0 expansion(premaster, client_random + server_random)  [RFC 6101 §6.1]"
        else:
            how = 'PRF(premaster, "master secret", client_random + server_random)  [RFC 5246 §8.1]'
        return master_secret_for(negotiated, premaster), how
    if version is ProtocolVersion.SSL3:
        raise click.UsageError("--session-hash: SSL 3.0 has no extended master secret (RFC 7627 is TLS only)")
    assert session_hash is not None
    hash_bytes = parse_hex("--session-hash", session_hash)
    expected = 36 if version < ProtocolVersion.TLS1_2 else hash_algorithm(negotiated.suite.prf_hash).digest_size
    _check_length("--session-hash", hash_bytes, expected)
    how = 'PRF(premaster, "extended master secret", session_hash)  [RFC 7627 §4]'
    return master_secret_for(negotiated, premaster, hash_bytes), how


@click.command("keys", cls=OneLineErrors)
@click.option("--version", "version_text", metavar="V", help="ssl3, tls1.0, tls1.1, tls1.2 or a wire value like 0x0303.")
@click.option("--suite", "suite_text", metavar="S", help="Cipher suite: IANA name, OpenSSL name or hex id (0x002f).")
@click.option("--client-random", metavar="HEX", help="ClientHello.random (32 bytes).")
@click.option("--server-random", metavar="HEX", help="ServerHello.random (32 bytes).")
@click.option("--premaster", metavar="HEX", help="Pre-master secret (48 bytes for RSA key exchange).")
@click.option("--master-secret", metavar="HEX", help="Master secret (48 bytes) instead of --premaster.")
@click.option("--session-hash", metavar="HEX", help="With --premaster: derive the extended master secret (RFC 7627).")
@click.option("--shared-secret", metavar="HEX", help="TLS 1.3: the (EC)DHE or hybrid KEM shared secret (RFC 9846 §7.4).")
@click.option("--psk", metavar="HEX", help="TLS 1.3: the pre-shared key (resumption or external).")
@click.option("--hello-hash", metavar="HEX", help="TLS 1.3: transcript hash of ClientHello..ServerHello.")
@click.option("--finished-hash", metavar="HEX", help="TLS 1.3: transcript hash of ClientHello..server Finished.")
@click.option("--client-finished-hash", metavar="HEX",
              help="TLS 1.3: transcript hash of ClientHello..client Finished (the resumption master secret).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the explained layout.")
def keys(
    version_text: str | None,
    suite_text: str | None,
    client_random: str | None,
    server_random: str | None,
    premaster: str | None,
    master_secret: str | None,
    session_hash: str | None,
    as_json: bool,
    shared_secret: str | None = None,
    psk: str | None = None,
    hello_hash: str | None = None,
    finished_hash: str | None = None,
    client_finished_hash: str | None = None,
) -> None:
    """Derive and explain a connection state from a premaster or master secret (SSL 3.0 - TLS 1.2), or a TLS 1.3 key
    schedule from its shared secret / PSK and transcript hashes (``--version tls1.3``).

    With no arguments, derives a built-in example session from a Wireshark test capture.
    """
    tls13_inputs = (shared_secret, psk, hello_hash, finished_hash, client_finished_hash)
    if version_text is not None and parse_version_option(version_text) is ProtocolVersion.TLS1_3:
        for option, value in (("--client-random", client_random), ("--server-random", server_random),
                              ("--premaster", premaster), ("--master-secret", master_secret),
                              ("--session-hash", session_hash)):
            if value is not None:
                raise click.UsageError(f"{option} is TLS 1.0-1.2 only: TLS 1.3 has no key block (RFC 9846 §7)")
        from tlsstate.cli.keys13 import print_tls13_schedule, tls13_schedule

        rows = tls13_schedule(suite_text, *tls13_inputs)
        assert suite_text is not None
        print_tls13_schedule(rows, suite_text, as_json)
        return
    if any(value is not None for value in tls13_inputs):
        raise click.UsageError("--shared-secret, --psk and the transcript hashes are TLS 1.3 only (--version tls1.3)")
    source = None
    given = (version_text, suite_text, client_random, server_random, premaster, master_secret, session_hash)
    if all(value is None for value in given):
        source = EXAMPLE["source"]
        version_text, suite_text = EXAMPLE["version"], EXAMPLE["suite"]
        client_random, server_random, premaster = EXAMPLE["client_random"], EXAMPLE["server_random"], EXAMPLE["premaster"]
    _require_inputs(version_text, suite_text, client_random, server_random, premaster, master_secret)
    assert version_text is not None and suite_text is not None and client_random is not None and server_random is not None
    version, suite = _key_block_suite(version_text, suite_text)
    negotiated = Negotiated(
        version=version, suite=suite, client_random=_random("--client-random", client_random),
        server_random=_random("--server-random", server_random), session_id=b"", client_version=version,
        extended_master_secret=premaster is not None and session_hash is not None,
    )
    premaster_bytes = None if premaster is None else _premaster(suite, premaster)
    try:
        master, how = _master_secret(negotiated, premaster_bytes, session_hash, master_secret)
        schedule = KeySchedule(negotiated, master, how, connection_keys_for(negotiated, master), source)
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(_json_document(schedule), indent=2))
        return
    console = Console(highlight=False)
    console.width = max(console.width, 120)  # keep each explanation on one line when piped
    _render(console, schedule)


@click.command("prf", cls=OneLineErrors)
@click.option("--version", "version_text", required=True, metavar="V", help="ssl3, tls1.0, tls1.1, tls1.2 or 0x0303.")
@click.option("--hash", "hash_name", type=click.Choice(["sha256", "sha384"]), help="TLS 1.2 PRF hash (default sha256).")
@click.option("--secret", required=True, metavar="HEX", help="The PRF secret.")
@click.option("--label", default=None, metavar="TEXT", help='ASCII label, e.g. "master secret" (not for ssl3).')
@click.option("--seed", required=True, metavar="HEX", help="The seed (e.g. client_random + server_random).")
@click.option("--length", required=True, type=int, metavar="N", help="Output bytes.")
def prf(version_text: str, hash_name: str | None, secret: str, label: str | None, seed: str, length: int) -> None:
    """Run the TLS PRF on a secret, label and seed; prints the output as hex.

    ssl3 runs the SSL 3.0 expansion MD5(secret + SHA1('A'.. + secret + seed)), which has no label: --label is rejected.
    """
    version = parse_version_option(version_text)
    secret_bytes = parse_hex("--secret", secret)
    seed_bytes = parse_hex("--seed", seed)
    if not 1 <= length <= MAX_PRF_LENGTH:
        raise click.UsageError(f"--length must be 1..{MAX_PRF_LENGTH}, got {length}")
    if version is ProtocolVersion.TLS1_3:
        raise click.UsageError("--version: TLS 1.3 uses HKDF, not the TLS PRF")
    if hash_name is not None and version is not ProtocolVersion.TLS1_2:
        raise click.UsageError(f"--hash applies to TLS 1.2 only; {version.label} has a fixed PRF")
    try:
        if version is ProtocolVersion.SSL3:
            if label:
                raise click.UsageError("--label: the SSL 3.0 expansion has no label; leave --label out")
            if length > 416:
                raise click.UsageError(f"--length: the SSL 3.0 expansion gives at most 416 bytes, {length} requested")
            output = prf_functions.ssl3_expand(secret_bytes, seed_bytes, length)
        else:
            if label is None:
                raise click.UsageError("--label is required for TLS (e.g. --label 'key expansion')")
            try:
                label_bytes = label.encode("ascii")
            except UnicodeEncodeError:
                raise click.UsageError("--label must be ASCII") from None
            output = prf_functions.prf(version, hash_name or "sha256", secret_bytes, label_bytes, seed_bytes, length)
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(output.hex())
