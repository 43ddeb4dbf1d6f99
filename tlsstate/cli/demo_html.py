"""``tlsstate demo --html FILE``: the demo's two connections as one page.

Each run becomes a connection: the derivation tree from the security parameters the client installed, the timeline
from the handshake bytes on the socket, then the four application records (with the key label and sequence number the
client's connection state gave them, and their plaintext), then the three proofs, each a red record with the key it
was tried with, the sequence number expected and why it failed. Like the demo's terminal screen, secrets are shown
in full: the demo's keys exist only for the demo.
"""

from __future__ import annotations

from tlsstate.cli.demo_model import Proof, RecordRow, Run
from tlsstate.crypto.suites import lookup
from tlsstate.html import formulas
from tlsstate.html.live import LiveInputs, live_connection
from tlsstate.html.model import ConnectionView, Fact, Page, RecordDetail, RecordView, link_keys

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


def demo_page(runs: list[Run], intro: str) -> Page:
    """The demo's page: one connection per run."""
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
    return Page("tlsstate demo: the connection state, its six values, and three records that fail", "tlsstate demo",
                views, True, intro=intro)
