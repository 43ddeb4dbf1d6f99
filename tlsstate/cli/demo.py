"""``tlsstate demo``: real handshakes on loopback that show the connection state and why it has six values.

A tlsstate server thread listens on a free loopback port; a tlsstate client connects over real TCP,
first with RSA key exchange and TLS_RSA_WITH_AES_128_CBC_SHA in TLS 1.0 (the last version whose CBC
suites cut all six values from the key block: TLS 1.1+ sends an explicit IV in every record instead,
RFC 4346 §6.2.3.2), then with ECDHE (X25519) and TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 in
TLS 1.2. For each it shows the premaster secret, the master secret and
how it was derived (RFC 5246 §8.1, RFC 7627 §4), the key block cut into the six values
(RFC 5246 §6.3), the application records with the key and sequence number that protected each, and
then proves on live connection states that a flipped byte, a reflected record and a replayed record
are each rejected with ``bad_record_mac`` (RFC 5246 §6.2.3, §7.2.2). A third part
(:mod:`tlsstate.cli.demo13`) does the same in TLS 1.3 with X25519MLKEM768 and TLS_AES_128_GCM_SHA256: the HKDF
tree from the shared secret to each direction's traffic secrets, key and IV, where the six values went, a live
KeyUpdate, and the three proofs (RFC 9846).

The master secret and the six values are recomputed through the one road from negotiation to keys
(:mod:`tlsstate.crypto.negotiated`) and compared with what the connection installed. Every socket has a timeout,
the server thread is stopped and joined: the demo never hangs.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tlsstate.cli.demo13 import run_tls13
from tlsstate.cli.demo13_output import panel13, run13_to_json, tried
from tlsstate.cli.demo_model import Epoch, Proof, RecordRow, Run, Run13
from tlsstate.cli.demo_peers import DemoClient, DemoServer, echo, run_proofs
from tlsstate.cli.describe import VALUE_TITLES, version_name
from tlsstate.config import PrivateKey, TLSConfig
from tlsstate.crypto import prf
from tlsstate.crypto.certs import self_signed_localhost
from tlsstate.crypto.keys import SecurityParameters
from tlsstate.crypto.negotiated import Negotiated, connection_keys_for, master_secret_for
from tlsstate.crypto.suites import lookup
from tlsstate.record import Deframer
from tlsstate.wire.constants import ContentType, NamedGroup, ProtocolVersion
from tlsstate.wire.errors import TLSError

# (suite, protocol version): TLS 1.0 CBC shows all six values, TLS 1.2 GCM the modern AEAD shape.
DEMO_SUITES = (
    ("TLS_RSA_WITH_AES_128_CBC_SHA", ProtocolVersion.TLS1_0),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ProtocolVersion.TLS1_2),
)
#: What each of the six values does, in key-block order (RFC 5246 §6.3).
JOBS = {
    "client_write_mac_key": "MAC, client → server",
    "server_write_mac_key": "MAC, server → client",
    "client_write_key": "cipher, client → server",
    "server_write_key": "cipher, server → client",
    "client_write_iv": "IV/nonce, client → server",
    "server_write_iv": "IV/nonce, server → client",
}
#: (title, ConnectionKeys attribute, job) of the six values.
SIX_NAMES = tuple((title, attr, JOBS[attr]) for attr, title in VALUE_TITLES.items())
NOT_USED = "not used by this suite"
MESSAGES = (b"Hello from the client: what is the connection state?",
            b"Six values: two MAC keys, two cipher keys, two IVs.")


def why(attack: str, aead: bool, encrypt_then_mac: bool) -> str:
    """One plain sentence per proof, for the protection this suite uses (RFC 5246 §6.2.3)."""
    if attack == "flipped byte":
        if aead:
            return "The AEAD tag covers every byte of the ciphertext (and the header), so changing any one byte breaks it."
        covered = "ciphertext, IV included (encrypt-then-MAC)" if encrypt_then_mac else "plaintext and padding"
        return f"The MAC covers every byte of the {covered}, so changing any one byte breaks it."
    if attack == "reflected record":
        return ("The two directions use different keys: a record sealed with the client write key cannot be opened "
                "with the server write key the client reads with.")
    where = "the AEAD additional data" if aead else "the MAC input"
    return (f"The 64-bit sequence number is part of {where} (it is never sent), and the receiver's counter has "
            "moved on, so an old record no longer verifies.")


def _epochs(client: DemoClient) -> list[Epoch]:
    return [
        Epoch(number, bytes(sec.client_random), bytes(sec.server_random), bytes(sec.master_secret),
              {attr: bytes(getattr(sec.keys, attr)) for attr in VALUE_TITLES})
        for number, sec in enumerate(client.conn.epochs, 1)
    ]


# ---------------------------------------------------------------------------------------------- peers


def _server_config(cert_chain: list[x509.Certificate], private_key: PrivateKey) -> TLSConfig:
    """The TLS 1.0-1.2 echo server: every suite, X25519 or P-256, and the client may renegotiate (RFC 5746)."""
    return TLSConfig(
        certificate_chain=cert_chain, private_key=private_key,
        cipher_suites=None, groups=[NamedGroup.X25519, NamedGroup.SECP256R1],
        split_cbc_records=False,  # one record per message, so the records table shows each echo as one row
        client_renegotiation=True,  # the client renegotiates once: a second epoch (RFC 5746)
    )


def _client(port: int, suite_name: str, cafile: str, version: ProtocolVersion) -> DemoClient:
    """A client offering exactly one suite and one version."""
    return DemoClient(port, TLSConfig(
        min_version=version, max_version=version,
        cipher_suites=[lookup(suite_name)], groups=[NamedGroup.X25519],
        cafile=cafile, server_name="localhost", split_cbc_records=False,  # one record per message (as above)
    ))


def _handshake_before_ccs(stream: bytes) -> bytes:
    """The handshake bytes one side sent before its ChangeCipherSpec (RFC 5246 §7.1), from its plaintext records."""
    deframer = Deframer()
    deframer.feed(stream)
    out = b""
    for record in deframer:
        if record.content_type == ContentType.CHANGE_CIPHER_SPEC:
            break
        if record.content_type == ContentType.HANDSHAKE:
            out += record.fragment
    return out


def _ems_transcript(client: DemoClient) -> bytes:
    """The handshake messages up to ClientKeyExchange, in order, from the plaintext records on the wire.

    Client sends ClientHello, (server flight), ClientKeyExchange before its ChangeCipherSpec; RFC 7627 §3
    hashes exactly these for the extended master secret.
    """
    mine, theirs = _handshake_before_ccs(bytes(client.wire["out"])), _handshake_before_ccs(bytes(client.wire["in"]))
    hello_length = 4 + int.from_bytes(mine[1:4], "big")
    return mine[:hello_length] + theirs + mine[hello_length:]


def _session_hash_name(version: int, prf_hash: str) -> str:
    """RFC 7627 §3: the handshake hash of the version's PRF (MD5 || SHA-1 before TLS 1.2)."""
    return prf_hash.upper().replace("SHA", "SHA-") if version >= ProtocolVersion.TLS1_2 else "MD5 || SHA-1"


# ---------------------------------------------------------------------------------------------- one suite


def _negotiated(sec: SecurityParameters) -> Negotiated:
    """The hello parameters of the client's finished handshake, as the one road to keys takes them."""
    version = ProtocolVersion(sec.version)
    return Negotiated(
        version=version, suite=sec.suite, client_random=sec.client_random, server_random=sec.server_random,
        session_id=sec.session_id, client_version=version, extended_master_secret=sec.extended_master_secret,
        encrypt_then_mac=sec.encrypt_then_mac,
    )


def _derivation(sec: SecurityParameters, transcript: bytes) -> str:
    """How the master secret was derived, in one line (RFC 5246 §8.1, or RFC 7627 §4 with the session hash)."""
    if sec.extended_master_secret:
        return (
            'master_secret = PRF(premaster_secret, "extended master secret", session_hash)[0..47]  '
            f"(RFC 7627 §4; session_hash = {_session_hash_name(sec.version, sec.suite.prf_hash)} of the "
            f"{len(transcript)} bytes of "
            "handshake messages from ClientHello to ClientKeyExchange)"
        )
    return (
        'master_secret = PRF(premaster_secret, "master secret", client_random + server_random)[0..47]  '
        "(RFC 5246 §8.1)"
    )


def _recompute_master(negotiated: Negotiated, premaster: bytes, session_hash: bytes, master: bytes) -> bool | None:
    """Derive the master secret again from the shown inputs and compare (None without a premaster secret)."""
    if not premaster:
        return None
    return master_secret_for(negotiated, premaster, session_hash) == master


def _describe_connection(client: DemoClient, version: ProtocolVersion) -> Run:
    """The connection state of the client's finished handshake, with both derivations checked again."""
    hs = client.tls.handshake
    assert hs is not None
    sec = client.conn.security
    if sec is None:
        raise TLSError("handshake finished without security parameters")
    suite = sec.suite
    premaster = bytes(sec.premaster_secret or b"")
    transcript = _ems_transcript(client)
    session_hash = prf.session_hash(sec.version, suite.prf_hash, transcript)
    negotiated = _negotiated(sec)
    return Run(
        suite=suite.name, openssl_name=suite.openssl_name, version=version_name(hs.version),
        key_exchange=suite.key_exchange.value, group="x25519" if suite.key_exchange.is_ephemeral else None,
        extended_master_secret=hs.extended_master_secret, encrypt_then_mac=hs.encrypt_then_mac,
        premaster_secret=premaster, master_secret=bytes(sec.master_secret),
        client_random=bytes(sec.client_random), server_random=bytes(sec.server_random),
        derivation=_derivation(sec, transcript),
        master_recomputed=_recompute_master(negotiated, premaster, session_hash, sec.master_secret),
        session_hash=session_hash if sec.extended_master_secret else None, handshake_transcript=transcript,
        key_block_length=suite.key_block_length(hs.version),
        keys={attr: bytes(getattr(sec.keys, attr)) for attr in VALUE_TITLES},
        keys_recomputed=connection_keys_for(negotiated, sec.master_secret) == sec.keys,
        security=sec, wire=list(client.tap.chunks),
    )


def run_suite(server: DemoServer, suite_name: str, version: ProtocolVersion, cafile: str) -> Run:
    """One full handshake + records + the three proofs (each proof on its own connection)."""
    client = _client(server.port, suite_name, cafile, version)
    try:
        run = _describe_connection(client, version)
        run.records = echo(client, MESSAGES)
        client.tls.renegotiate()  # RFC 5746: a second handshake under the first epoch's keys, then a new epoch
        run.records += echo(client, MESSAGES)
        run.epochs = _epochs(client)
    finally:
        client.close()
    aead, encrypt_then_mac = lookup(suite_name).is_aead, run.encrypt_then_mac
    run.proofs = run_proofs(server, lambda: _client(server.port, suite_name, cafile, version),
                            lambda attack: why(attack, aead, encrypt_then_mac))
    return run


def run_demo() -> tuple[list[Run], list[str], Run13]:
    """Run both TLS 1.0/1.2 suites against a fresh server, then the TLS 1.3 part against one of its own; returns
    the runs, the first server's connection log and the TLS 1.3 part."""
    chain, key = self_signed_localhost()
    with tempfile.TemporaryDirectory(prefix="tlsstate-demo-") as tmp:
        cafile = os.path.join(tmp, "localhost.pem")
        with open(cafile, "wb") as f:
            f.write(chain[0].public_bytes(Encoding.PEM))
        with DemoServer(_server_config(chain, key)) as server:
            runs = [run_suite(server, name, version, cafile) for name, version in DEMO_SUITES]
            log = server.wait_log(8)
        run13 = run_tls13(chain, key, cafile, tmp)
    return runs, log, run13


# ---------------------------------------------------------------------------------------------- output


def _value(value: bytes) -> str:
    """A value in hex for --json, or the note that this suite has no such value."""
    return value.hex() if value else NOT_USED


def _public(row: RecordRow | Proof) -> dict[str, Any]:
    """A row or proof for --json: its fields without the raw bytes the page shows."""
    return {name: value for name, value in vars(row).items() if not isinstance(value, bytes)}


def runs_to_json(runs: list[Run], log: list[str], run13: Run13 | None = None) -> dict[str, Any]:
    """The --json document; the TLS 1.3 part is its ``tls13`` object."""
    out: list[dict[str, Any]] = []
    for run in runs:
        out.append({
            "suite": run.suite, "openssl_name": run.openssl_name, "version": run.version,
            "key_exchange": run.key_exchange, "group": run.group,
            "extended_master_secret": run.extended_master_secret, "encrypt_then_mac": run.encrypt_then_mac,
            "premaster_secret": run.premaster_secret.hex(), "master_secret": run.master_secret.hex(),
            "client_random": run.client_random.hex(), "server_random": run.server_random.hex(),
            "master_secret_derivation": run.derivation, "master_secret_recomputed": run.master_recomputed,
            "session_hash": run.session_hash.hex() if run.session_hash else None,
            "handshake_transcript": run.handshake_transcript.hex(),
            "key_block_length": run.key_block_length, "key_block_recomputed": run.keys_recomputed,
            "key_block": {name: _value(run.keys[attr]) for name, attr, _ in SIX_NAMES},
            "records": [_public(r) for r in run.records],
            "proofs": [_public(p) for p in run.proofs],
            "epochs": [{"epoch": e.number, "client_random": e.client_random.hex(),
                        "server_random": e.server_random.hex(), "master_secret": e.master_secret.hex(),
                        "key_block": {name: _value(e.keys[attr]) for name, attr, _ in SIX_NAMES}}
                       for e in run.epochs],
        })
    parts: list[Run | Run13] = [*runs, *([run13] if run13 else [])]
    ok = all(p.rejected for run in parts for p in run.proofs) and all(len(run.proofs) == 3 for run in parts)
    document: dict[str, Any] = {"runs": out, "server_log": log, "all_rejected_with_bad_record_mac": ok}
    if run13 is not None:
        document["tls13"] = run13_to_json(run13)
    return document


def _key_block_note(run: Run) -> str:
    """The caption under the six values: why some are empty or short, and whether the recomputation matched."""
    notes = []
    if not run.keys["client_write_mac_key"]:
        notes.append("AEAD suite: the tag authenticates, so there are no MAC keys")
    if not run.keys["client_write_iv"]:
        notes.append("TLS 1.1+ CBC: every record carries its own explicit IV, so none is cut from the key block")
    elif len(run.keys["client_write_iv"]) in (8, 16):
        notes.append("SSL 3.0/TLS 1.0 CBC: the write IV from the key block encrypts the first record; each later "
                     "record chains from the last ciphertext block of the one before (TLS 1.1+ sends an explicit "
                     "IV per record instead)")
    elif run.keys["client_write_iv"] and len(run.keys["client_write_iv"]) == 4:
        notes.append("GCM: the 4-byte IV is the nonce salt; each record adds an 8-byte explicit nonce")
    if run.keys_recomputed is not None:
        notes.append("recomputed from the master secret and randoms: " + ("matches" if run.keys_recomputed
                                                                          else "MISMATCH"))
    return "; ".join(notes)


INTRO = (
    "A TLS connection state is, for each direction, the keys that protect it plus a sequence number.\n"
    "Both peers derive them from one master secret: key_block = PRF(master_secret, \"key expansion\", "
    "server_random + client_random), cut in order into six values (RFC 5246 §6.3):\n"
    "a MAC key, a cipher key and an IV for records the client writes, and the same three for records "
    "the server writes.\nTwo directions × three jobs = six values. Below: two real handshakes over "
    "loopback TCP between a tlsstate client and a tlsstate server thread,\nthen a TLS 1.3 one (X25519MLKEM768), "
    "where an HKDF tree gives each direction one key and one IV per epoch instead (RFC 9846 §7)."
)


def _parameters_grid(run: Run) -> Table:
    """What the handshake agreed and the secrets it derived, one row each."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("protocol", run.version)
    head.add_row("cipher suite", f"{run.suite} ({run.openssl_name})")
    head.add_row("key exchange", run.key_exchange + (f" with {run.group}" if run.group else
                                                      " (client encrypts the premaster to the server's RSA key)"))
    head.add_row("extended master secret", "yes (RFC 7627)" if run.extended_master_secret else "no")
    head.add_row("encrypt-then-MAC", "yes (RFC 7366)" if run.encrypt_then_mac else
                 ("no (AEAD suite: not applicable)" if not run.keys["client_write_mac_key"] else "no"))
    head.add_row("client random", run.client_random.hex())
    head.add_row("server random", run.server_random.hex())
    head.add_row("premaster secret", run.premaster_secret.hex() or "(not exposed)")
    head.add_row("master secret", run.master_secret.hex())
    head.add_row("derived as", run.derivation)
    if run.session_hash:
        head.add_row("session hash", run.session_hash.hex())
    if run.master_recomputed is not None:
        head.add_row("check", "master secret recomputed from the values above: "
                     + ("matches" if run.master_recomputed else "MISMATCH"))
    return head


def _six_values_table(run: Run) -> Table:
    """The key block cut into the six values (RFC 5246 §6.3), with what each one does."""
    six = Table(
        title=f'key_block = PRF(master_secret, "key expansion", server_random + client_random): '
              f"{run.key_block_length} bytes cut into the six values", expand=True,
        caption=_key_block_note(run))
    six.add_column("value", style="bold", no_wrap=True)
    six.add_column("bytes", justify="right")
    six.add_column("hex", overflow="fold")
    six.add_column("job")
    for name, attr, job in SIX_NAMES:
        value = run.keys[attr]
        six.add_row(name, str(len(value)), value.hex() if value else Text(NOT_USED, style="dim"), job)
    return six


def _records_table(run: Run) -> Table:
    """The application records and the key and sequence number that protected each."""
    records = Table(title="application records on the wire", expand=True, caption=(
        "seq 0 of each direction was its Finished message, the first record under the new keys; after the "
        "secure renegotiation (RFC 5746) the new epoch's keys protect the records and the numbers start again"))
    for col in ("direction", "seq", "protected with", "plaintext", "on the wire"):
        records.add_column(col)
    for r in run.records:
        records.add_row(r.direction, str(r.seq), r.key_label, f"{r.plaintext_length} B", f"{r.wire_length} B")
    return records


def _epochs_table(run: Run) -> Table:
    """Every epoch of the connection: the renegotiation made new randoms, master secret and six values."""
    table = Table(title="epochs: the handshake, then a secure renegotiation (RFC 5746) on the same connection",
                  expand=True)
    for col in ("epoch", "client random", "master secret", "client write key", "server write key"):
        table.add_column(col, overflow="fold")
    for e in run.epochs:
        table.add_row(str(e.number), e.client_random.hex(), e.master_secret.hex(), e.keys["client_write_key"].hex(),
                      e.keys["server_write_key"].hex())
    return table


def _proofs_grid(proofs: list[Proof]) -> Table:
    """The three tampering experiments: verdict, what was done, why it fails, what the server logged."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for p in proofs:
        result = Text(f"rejected with {p.alert}", style="bold green") if p.rejected else Text(
            f"NOT rejected as expected: {p.error}", style="bold red")
        grid.add_row(Text(p.attack, style="bold"), result)
        grid.add_row("  what we did", p.action)
        grid.add_row("  why", p.why)
        if p.key:  # TLS 1.3: the key and nonce the receiver tried (RFC 9846 §5.3)
            grid.add_row("  tried", tried(p.key_tried, p.key, p.nonce, p.seq_expected))
        if p.server_saw:
            grid.add_row("  server log", Text(p.server_saw, style="dim"))
    return grid


def _run_panel(index: int, run: Run) -> Panel:
    """One suite's panel: parameters, six values, records, proofs."""
    proofs_head = Text.assemble(
        ("\ntampering with live connection states\n", "bold underline"),
        ("Each proof uses its own connection, because a failed record kills the connection state "
         "(the peer gets a fatal alert).", "italic"))
    body = Group(_parameters_grid(run), _six_values_table(run), _records_table(run), _epochs_table(run), proofs_head,
                 _proofs_grid(run.proofs))
    return Panel(body, title=f"{index}. {run.suite}", border_style="green")


def render(runs: list[Run], log: list[str], run13: Run13 | None = None) -> None:
    """The rich screen."""
    console = Console()
    if not console.is_terminal:  # piped or captured: room for a 48-byte secret in hex on one line
        console = Console(width=max(console.width, 132))
    console.print(Panel(Text(INTRO), title="tlsstate demo: what is the connection state, and why six values?",
                        border_style="cyan"))
    for index, run in enumerate(runs, 1):
        console.print(_run_panel(index, run))
    if run13 is not None:
        console.print(panel13(len(runs) + 1, run13, _proofs_grid(run13.proofs)))
    table = Table(title="server log (one line per connection, never secrets)", expand=True)
    table.add_column("connection")
    for line in log + (run13.server_log if run13 else []):
        table.add_row(line)
    console.print(table)


@click.command(help="Real handshakes on loopback (TLS 1.0, 1.2, 1.3): show the six values and the TLS 1.3 key "
                    "schedule, and prove tampering, reflection, replay fail.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of the screen.")
@click.option("--html", "html", type=click.Path(dir_okay=False), default=None,
              help="Also write the three connections as one self-contained HTML page (tree, timeline, proofs).")
def demo(as_json: bool, html: str | None = None) -> None:
    """Run the three parts and their nine proofs; exit status 1 unless every tampered record was rejected."""
    try:
        runs, log, run13 = run_demo()
    except (TLSError, OSError) as exc:
        raise click.ClickException(f"demo failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # a bug: still one line, never a traceback
        raise click.ClickException(f"demo failed (internal error): {type(exc).__name__}: {exc}") from None
    document = runs_to_json(runs, log, run13)
    if html is not None:
        from tlsstate.cli.demo_html import demo_page
        from tlsstate.html.render import write_page

        try:
            write_page(html, demo_page(runs, INTRO, run13))
        except OSError as exc:
            raise click.ClickException(f"cannot write {html}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        render(runs, log, run13)
    if not document["all_rejected_with_bad_record_mac"]:
        raise SystemExit(1)
