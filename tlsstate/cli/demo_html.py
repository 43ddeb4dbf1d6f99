"""``tlsstate demo --html FILE``: the demo's two connections as one page.

Each run becomes a connection: the derivation tree from the security parameters the client installed, the timeline
from the handshake bytes on the socket, then the four application records (with the key label and sequence number the
client's connection state gave them, and their plaintext), then the three proofs, each a red record with the key it
was tried with, the sequence number expected and why it failed. Like the demo's terminal screen, secrets are shown
in full: the demo's keys exist only for the demo.

The TLS 1.3 part is one more connection drawn by :func:`tlsstate.html.live13.live_connection13` (the HKDF tree from
the connection's schedule, every record opened under its traffic secret, the KeyUpdate's next generation hung under
the one before), then its three proofs as red records with the traffic secret they were tried with.
"""

from __future__ import annotations

from tlsstate.cli.demo_model import Proof, RecordRow, Run, Run13
from tlsstate.crypto.suites import lookup
from tlsstate.html import formulas
from tlsstate.html.live import LiveInputs, live_connection
from tlsstate.html.live13 import live_connection13
from tlsstate.html.model import ConnectionView, Fact, Page, RecordDetail, RecordView, key_base, link_keys

__all__ = ["demo_page"]


def _detail(run: Run, wire: bytes, plaintext: bytes | None) -> RecordDetail:
    """Header, explicit nonce / IV, tag and plaintext of one record the demo handled."""
    sec = run.security
    assert sec is not None
    nonce, tag = formulas.record_layout(sec.suite, int(sec.version), sec.encrypt_then_mac, wire[5:])
    kept = plaintext or b""
    return RecordDetail(wire[:5].hex(), nonce.hex(), tag.hex(), kept, len(kept))


def _app_record(view: ConnectionView, run: Run, row: RecordRow) -> None:
    from_client = row.direction.startswith("client")
    view.add_record(RecordView(len(view.records), from_client, row.content_type, row.seq, row.wire_length - 5,
                               row.plaintext_length, "ok", view.key_index(row.key_label),
                               detail=_detail(run, row.wire, row.plaintext)))


def _proof_record(view: ConnectionView, run: Run, proof: Proof) -> None:
    verdict = proof.alert if proof.rejected else "accepted (the proof FAILED)"
    view.add_record(RecordView(
        len(view.records), False, "application_data", proof.seq_expected, len(proof.wire) - 5, None, verdict,
        view.key_index(proof.key_tried), note=f"proof: {proof.attack}", detail=_detail(run, proof.wire, None),
        reason=f"{proof.error}. {proof.why} What was done, on a connection of its own: {proof.action}."
               + (f" The server logged: {proof.server_saw}" if proof.server_saw else "")))


def _facts(run: Run) -> list[Fact]:
    checks = {None: "no premaster secret to check", True: "matches", False: "MISMATCH"}
    return [
        Fact("protocol", run.version), Fact("cipher suite", f"{run.suite} ({run.openssl_name})"),
        Fact("key exchange", run.key_exchange + (f" with {run.group}" if run.group else "")),
        Fact("extended master secret", "yes (RFC 7627)" if run.extended_master_secret else "no"),
        Fact("encrypt-then-MAC", "yes (RFC 7366)" if run.encrypt_then_mac else "no"),
        Fact("master secret recomputed", checks[run.master_recomputed]),
        Fact("key block recomputed", checks[run.keys_recomputed]),
    ]


def _nss_label(label: str) -> str:
    """``server application traffic secret 0 (epoch 2)`` -> ``SERVER_TRAFFIC_SECRET_0``, the page's name for it."""
    writer, _, rest = key_base(label).partition(" ")
    return f"{writer.upper()}_TRAFFIC_SECRET_{rest.rpartition(' ')[2]}"


def _connection13(number: int, run: Run13) -> ConnectionView:
    """The TLS 1.3 part: its schedule and records (html/live13.py), then its proofs, red."""
    suite = lookup(run.suite)
    assert run.secrets is not None
    checks = {True: "matches", False: "MISMATCH"}
    facts = [Fact("protocol", run.version), Fact("cipher suite", run.suite), Fact("group", run.group),
             Fact("schedule recomputed from the wire", checks[run.schedule_recomputed]),
             Fact("key log", checks[run.keylog_matches])]
    if run.key_update is not None:
        facts.append(Fact("KeyUpdate", f"{run.key_update.old_label} -> {run.key_update.new_label}"))
    inputs = LiveInputs(f"{number + 1}. {run.suite} (TLS 1.3, {run.group})", facts, group=run.group, reveal=True,
                        notes=["TLS 1.3: no MAC keys; one key and one IV per direction per traffic secret (epoch)"])
    view = live_connection13(number, run.secrets, suite, run.wire, inputs)
    for proof in run.proofs:
        layout = formulas.record_layout(suite, 0x0304, False, proof.wire[5:])
        view.add_record(RecordView(
            len(view.records), False, "application_data", proof.seq_expected, len(proof.wire) - 5, None,
            proof.alert if proof.rejected else "accepted (the proof FAILED)",
            view.key_index(_nss_label(proof.key_tried)), note=f"proof: {proof.attack}",
            detail=RecordDetail(proof.wire[:5].hex(), layout[0].hex(), layout[1].hex(), b"", 0),
            reason=f"{proof.error}: tried nonce {proof.nonce.hex()} (write_iv XOR seq {proof.seq_expected}). "
                   f"{proof.why} What was done, on a connection of its own: {proof.action}."
                   + (f" The server logged: {proof.server_saw}" if proof.server_saw else "")))
    link_keys(view)
    return view


def demo_page(runs: list[Run], intro: str, run13: Run13 | None = None) -> Page:
    """The demo's page: one connection per run, then the TLS 1.3 part's."""
    views = []
    for number, run in enumerate(runs):
        sec = run.security
        assert sec is not None
        inputs = LiveInputs(f"{number + 1}. {run.suite} ({run.version})", _facts(run), group=run.group,
                            session_hash=run.session_hash, transcript_length=len(run.handshake_transcript) or None,
                            reveal=True)
        view = live_connection(number, sec, run.wire, inputs)
        for row in run.records:
            _app_record(view, run, row)
        for proof in run.proofs:
            _proof_record(view, run, proof)
        if lookup(run.suite).is_aead:
            view.notes.insert(0, "AEAD suite: the tag authenticates each record, so the two MAC keys are empty")
        link_keys(view)
        views.append(view)
    if run13 is not None:
        views.append(_connection13(len(views), run13))
    return Page("tlsstate demo: the connection state, its six values, and three records that fail", "tlsstate demo",
                views, True, intro=intro)
