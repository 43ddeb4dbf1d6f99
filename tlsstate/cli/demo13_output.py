"""``tlsstate demo``'s TLS 1.3 part on the screen (one rich panel) and in ``--json`` (the ``tls13`` object).

The formulas beside each value are the one copy in :mod:`tlsstate.html.formulas` (through
:func:`tlsstate.cli.keys13.tls13_schedule`); secrets are shown in full, as in the rest of the demo: its keys exist
only for the demo.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tlsstate.cli.demo13 import SHARE_SIZES, SIX_TO_13
from tlsstate.cli.demo_model import KeyUpdate13, Run13
from tlsstate.html.model import key_base

__all__ = ["panel13", "run13_to_json", "tried"]


def _check(ok: bool) -> str:
    return "matches" if ok else "MISMATCH"


def _depth(name: str) -> int:
    """How deep a schedule row sits in the RFC 9846 §7.1 tree (for the indentation on the screen)."""
    base, _, part = name.partition(" ")
    depth = {"early_secret": 0, "handshake_secret": 1, "master_secret": 2}.get(base, 2 if "handshake_" in base else 3)
    return depth + (1 if part else 0)


def _parameters(run: Run13) -> Table:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column(overflow="fold")
    head.add_row("protocol", run.version)
    head.add_row("cipher suite", f"{run.suite} (AES-128-GCM, HKDF-SHA256)")
    head.add_row("group", f"{run.group} (0x11EC): ML-KEM-768 and X25519 at once (RFC 10024 §3)")
    head.add_row("key shares", SHARE_SIZES)
    head.add_row("shared secret", f"{run.shared_secret.hex()} ({len(run.shared_secret)} B)")
    head.add_row("  =", " || ".join(f"{name} ({len(value)} B)" for name, value in run.shared_parts))
    for name, value in run.shared_parts:
        head.add_row(f"  {name}", value.hex())
    for name, value in run.transcript_hashes:
        head.add_row(f"Hash({name})", value.hex())
    head.add_row("check", "the schedule derived again from the shared secret and the handshake messages on the "
                 f"wire: {_check(run.schedule_recomputed)}; the client's NSS key log "
                 f"({len(run.keylog)} lines): {_check(run.keylog_matches)}")
    return head


def _schedule(run: Run13) -> Table:
    table = Table(title="the HKDF tree (RFC 9846 §7.1): shared secret → early → handshake → master secret → "
                        "each direction's traffic secrets, each with its write key and IV (§7.3)", expand=True)
    table.add_column("value", style="bold", no_wrap=True)
    table.add_column("bytes", justify="right")
    table.add_column("hex", overflow="fold")
    table.add_column("formula", overflow="fold")
    for name, value, formula in run.schedule:
        table.add_row("  " * _depth(name) + name, str(len(value)), value.hex(), formula)
    return table


def _six(run: Run13) -> Table:
    table = Table(title="where the six values went", expand=True, caption=(
        "TLS 1.2 cut one key block into six values for the whole connection; TLS 1.3 derives one key and one IV per "
        "direction per epoch from that direction's traffic secret, and has no MAC keys"))
    table.add_column("TLS 1.2 (RFC 5246 §6.3)", style="bold", no_wrap=True)
    table.add_column("TLS 1.3")
    for old, new in SIX_TO_13:
        table.add_row(old, new)
    return table


def _records(run: Run13) -> Table:
    table = Table(title="records on the wire (each with the traffic secret, i.e. the epoch, and the sequence number "
                        "that protected it)", expand=True, caption=(
        "each traffic secret starts at seq 0 (RFC 9846 §5.3): the Finished messages went under the handshake "
        "traffic secrets (epoch 1), application data under application traffic secret 0 (epoch 2); after the "
        "client's KeyUpdate its records use secret 1 (epoch 3) from seq 0 while the server's direction stays on "
        "secret 0"))
    for column in ("direction", "seq", "protected with", "content", "plaintext", "on the wire"):
        table.add_column(column)
    for r in run.records:
        table.add_row(r.direction, str(r.seq), r.key_label, r.content_type, f"{r.plaintext_length} B",
                      f"{r.wire_length} B")
    return table


def _key_update(update: KeyUpdate13) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("KeyUpdate", f"{update.direction}: KeyUpdate(update_not_requested) sent under {update.sent_under}, "
                 f"seq {update.seq} (RFC 9846 §4.6.3)")
    grid.add_row(update.new_label, f"{update.secret.hex()} = {update.formula}")
    grid.add_row("  its key", update.key.hex())
    grid.add_row("  its IV", update.iv.hex())
    grid.add_row("sequence numbers", f"the client's next record was seq {update.first_seq} under the new key; the "
                 "server → client direction did not move (no update requested)")
    grid.add_row("check", "the first record after it opens with this key and IV at seq 0: " + _check(update.checked))
    return grid


def panel13(index: int, run: Run13, proofs: RenderableType) -> Panel:
    """The TLS 1.3 part's panel: parameters, schedule, six values, records, KeyUpdate, the proofs (``proofs``)."""
    parts: list[RenderableType] = [_parameters(run), _schedule(run), _six(run), _records(run)]
    if run.key_update is not None:
        parts += [Text("\na live KeyUpdate: one direction moves to a new epoch", style="bold underline"),
                  _key_update(run.key_update)]
    parts += [Text.assemble(("\ntampering with live TLS 1.3 connection states\n", "bold underline"), (
        "Each proof uses its own connection; the client's real Connection is the receiver.", "italic")), proofs]
    return Panel(Group(*parts), title=f"{index}. {run.suite} (TLS 1.3, {run.group})", border_style="green")


def _row(row: Any) -> dict[str, Any]:
    """A record for --json, with its bytes as sent (so a reader can open it with the key log)."""
    return {"direction": row.direction, "seq": row.seq, "key_label": row.key_label, "content_type": row.content_type,
            "plaintext_length": row.plaintext_length, "wire_length": row.wire_length, "wire": row.wire.hex()}


def run13_to_json(run: Run13) -> dict[str, Any]:
    """The ``tls13`` object of the --json document."""
    update = run.key_update
    return {
        "suite": run.suite, "version": run.version, "group": run.group, "key_shares": SHARE_SIZES,
        "shared_secret": run.shared_secret.hex(),
        "shared_secret_parts": [{"name": name, "length": len(value), "value": value.hex()}
                                for name, value in run.shared_parts],
        "handshake_transcript": run.transcript.hex(),
        "transcript_hashes": {name: value.hex() for name, value in run.transcript_hashes},
        "schedule": {name: value.hex() for name, value, _ in run.schedule},
        "schedule_formulas": {name: formula for name, _, formula in run.schedule},
        "schedule_recomputed": run.schedule_recomputed,
        "keylog": run.keylog, "keylog_matches": run.keylog_matches,
        "where_the_six_values_went": [{"tls12": old, "tls13": new} for old, new in SIX_TO_13],
        "records": [_row(r) for r in run.records],
        "key_update": None if update is None else {
            "direction": update.direction, "sent_under": update.sent_under, "seq": update.seq,
            "old_label": update.old_label, "new_label": update.new_label, "secret": update.secret.hex(),
            "key": update.key.hex(), "iv": update.iv.hex(), "formula": update.formula, "first_seq": update.first_seq,
            "checked": update.checked},
        "proofs": [{"attack": p.attack, "action": p.action, "rejected": p.rejected, "error": p.error,
                    "alert": p.alert, "server_saw": p.server_saw, "why": p.why, "key_tried": p.key_tried,
                    "seq_expected": p.seq_expected, "key": p.key.hex(), "nonce": p.nonce.hex(),
                    "tried": tried(p.key_tried, p.key, p.nonce, p.seq_expected), "wire": p.wire.hex(),
                    "keylog": keylog} for p, keylog in zip(run.proofs, run.proof_keylogs, strict=True)],
        "server_log": run.server_log,
    }


def tried(key_tried: str, key: bytes, nonce: bytes, seq: int | None) -> str:
    """Which key and nonce the receiver tried a tampered TLS 1.3 record with (RFC 9846 §5.3)."""
    return (f"opened with the {key_base(key_tried)} write key {key.hex()} and nonce {nonce.hex()} "
            f"(write_iv XOR seq {seq}): the AES-GCM tag did not verify")
