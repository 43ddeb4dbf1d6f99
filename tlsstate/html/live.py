"""Page data for a live TLS <= 1.2 connection (``tlsstate connect``, ``tlsstate demo``).

The derivation tree comes from the finished handshake's :class:`~tlsstate.crypto.keys.SecurityParameters` (the values
the connection installed); the timeline from the bytes a :class:`WireTap` saw on the socket, cut into records by the
library's :class:`~tlsstate.record.Deframer` and opened again, for their plaintext, by a second pair of
:class:`~tlsstate.record.HalfConnection` keyed through ``record/keying.py`` like the connection's own: before a
direction's ChangeCipherSpec its records are plaintext, after it they are protected by that writer's key of epoch 1
with sequence numbers from 0 (RFC 5246 §6.1, §7.1); the labels are the HalfConnection's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tlsstate.crypto.keys import SecurityParameters
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.html import formulas
from tlsstate.html.model import (
    PLAINTEXT_KEPT,
    SIX_VALUES,
    ConnectionView,
    Fact,
    RecordDetail,
    RecordView,
    TreeNode,
    link_keys,
    shown,
)
from tlsstate.record import Deframer, HalfConnection, Record
from tlsstate.record.keying import protections_for
from tlsstate.record.protection import RecordProtection
from tlsstate.wire.constants import ContentType, ProtocolVersion
from tlsstate.wire.errors import ProtocolError, TLSError

__all__ = ["LiveInputs", "WireTap", "content_type_name", "live_connection", "tapped_records", "tls12_branch"]


def content_type_name(value: int) -> str:
    """``handshake``, ``application_data``, … (RFC 5246 §6.2.1), or the number."""
    try:
        return ContentType(value).name.lower()
    except ValueError:
        return str(value)


class WireTap:
    """A TLSSocket ``on_wire`` callback: every chunk sent and received, in the order it happened."""

    def __init__(self, local_is_client: bool = True) -> None:
        self.local_is_client = local_is_client
        self.chunks: list[tuple[bool, bytes]] = []  # (from the client?, bytes)

    def __call__(self, direction: str, data: bytes) -> None:
        self.chunks.append(((direction == "out") == self.local_is_client, bytes(data)))


@dataclass
class LiveInputs:
    """What the builder needs besides the security parameters."""

    title: str
    facts: list[Fact]
    group: str | None = None
    session_hash: bytes | None = None
    transcript_length: int | None = None
    reveal: bool = False
    notes: list[str] = field(default_factory=list)


def _node(node_id: str, name: str, value: bytes | None, formula: str, *, secret: bool, reveal: bool) -> TreeNode:
    """A tree node; ``value`` None when not known."""
    if value is None:
        return TreeNode(node_id, name, "", None, formula, secret)
    return TreeNode(node_id, name, shown(value, secret, reveal), len(value), formula, secret)


def tls12_branch(prefix: str, sec: SecurityParameters, inputs: LiveInputs, handshake: int = 1) -> TreeNode:
    """randoms -> premaster -> master secret -> key block -> the six values (RFC 5246 §8.1, §6.3); ``handshake`` > 1:
    a secure renegotiation's new epoch (RFC 5746)."""
    version, suite, reveal = int(sec.version), sec.suite, inputs.reveal
    prefix = prefix if handshake == 1 else f"{prefix}h{handshake}-"
    branch = TreeNode(f"{prefix}h{handshake}", f"handshake {handshake}", "", None,
                      f"{ProtocolVersion(version).label}, {suite.name}" + (" (a renegotiation, RFC 5746)" if handshake > 1
                                                                          else ""))
    branch.children.append(_node(f"{prefix}cr", "client_random", sec.client_random, "ClientHello.random (RFC 5246 §7.4.1.2)",
                                 secret=False, reveal=reveal))
    branch.children.append(_node(f"{prefix}sr", "server_random", sec.server_random, "ServerHello.random (RFC 5246 §7.4.1.3)",
                                 secret=False, reveal=reveal))
    if inputs.session_hash is not None:
        branch.children.append(_node(f"{prefix}sh", "session_hash", inputs.session_hash,
                                     "Hash(ClientHello … ClientKeyExchange) (RFC 7627 §3)", secret=False, reveal=reveal))
    premaster = _node(f"{prefix}pm", "premaster_secret", sec.premaster_secret,
                      formulas.premaster_formula(suite, inputs.group) if sec.premaster_secret is not None
                      else "not known: the session was resumed (only its master secret is kept)", secret=True, reveal=reveal)
    master = _node(f"{prefix}ms", "master_secret", sec.master_secret,
                   formulas.master_formula(version, suite, sec.extended_master_secret, inputs.transcript_length),
                   secret=True, reveal=reveal)
    block = TreeNode(f"{prefix}kb", "key_block", "", suite.key_block_length(version),
                     formulas.key_block_formula(version, suite), True)
    start = 0
    for name in SIX_VALUES:
        value = bytes(getattr(sec.keys, name))
        end = start + len(value)
        cut = f"key_block[{start}:{end}] (RFC 5246 §6.3)" if value else "not used by this suite (0 bytes)"
        block.children.append(_node(f"{prefix}{name}", name, value, cut, secret=True, reveal=reveal))
        start = end
    master.children.append(block)
    premaster.children.append(master)
    branch.children.append(premaster)
    return branch


def _detail(header: bytes, fragment: bytes, plaintext: bytes | None, layout: tuple[bytes, bytes]) -> RecordDetail:
    """The bytes selecting a record shows."""
    nonce, tag = layout
    kept = plaintext[:PLAINTEXT_KEPT] if plaintext is not None else b""
    return RecordDetail(header.hex(), nonce.hex(), tag.hex(), kept, len(plaintext) if plaintext is not None else 0)


def _protections(sec: SecurityParameters) -> dict[bool, RecordProtection]:
    """Both directions' protections of one epoch, keyed as the connection keyed them (record/keying.py)."""
    version = ProtocolVersion(int(sec.version))
    negotiated = Negotiated(version, sec.suite, sec.client_random, sec.server_random, sec.session_id, version,
                            extended_master_secret=sec.extended_master_secret, encrypt_then_mac=sec.encrypt_then_mac)
    protections = protections_for(negotiated, sec.keys)
    return {True: protections.client, False: protections.server}


class _Halves:
    """A read-only copy of both directions' record layers: the tapped records are opened again with them to show their
    plaintext. Each ChangeCipherSpec activates the next epoch's keys for its direction (RFC 5246 §7.1; a secure
    renegotiation's handshake runs under the current keys and ends in a new epoch, RFC 5746)."""

    def __init__(self, epochs: list[SecurityParameters]) -> None:
        self.half = {True: HalfConnection("client"), False: HalfConnection("server")}
        self.queue = {True: [_protections(sec)[True] for sec in epochs], False: [_protections(sec)[False] for sec in epochs]}
        for from_client in (True, False):
            self._load(from_client)

    def _load(self, from_client: bool) -> None:
        if self.queue[from_client]:
            self.half[from_client].set_pending(self.queue[from_client].pop(0))

    def change_cipher_spec(self, from_client: bool) -> None:
        half = self.half[from_client]
        if half.pending is not None:
            half.activate_pending()
            self._load(from_client)


def _tapped_record(view: ConnectionView, sec: SecurityParameters, halves: _Halves, from_client: bool,
                   record: Record) -> None:
    """One tapped record on the timeline: opened with its direction's current keys (plaintext before its CCS)."""
    half = halves.half[from_client]
    fragment = bytes(record.fragment)
    header = record.to_bytes()[:5]
    protected = half.protection.protects
    label, seq = half.key_label, half.seq if protected else None
    layout = formulas.record_layout(sec.suite, int(sec.version), sec.encrypt_then_mac, fragment) if protected \
        else (b"", b"")
    try:
        content_type, plaintext = half.open(record)
        verdict, reason = "ok", ""
    except ProtocolError as exc:  # never for bytes the connection accepted; shown, not hidden, if it happens
        content_type, plaintext, verdict, reason = record.content_type, None, exc.alert.label, exc.message
    view.add_record(RecordView(len(view.records), from_client, content_type_name(content_type), seq, len(fragment),
                               None if plaintext is None else len(plaintext), verdict, view.key_index(label),
                               reason=reason, detail=_detail(header, fragment, plaintext, layout)))
    if record.content_type == ContentType.CHANGE_CIPHER_SPEC:
        halves.change_cipher_spec(from_client)


def tapped_records(view: ConnectionView, chunks: list[tuple[bool, bytes]]) -> Iterator[tuple[bool, Record]]:
    """The tapped bytes cut into records, ``(from_client, record)`` in the order they crossed the socket; bytes that
    stop being records are a note on ``view`` and that direction starts again."""
    deframers = {True: Deframer(), False: Deframer()}
    for from_client, data in chunks:
        try:
            deframers[from_client].feed(data)
            records = list(deframers[from_client])
        except TLSError as exc:
            view.notes.append(f"{'client' if from_client else 'server'} bytes stop being records: {exc}")
            deframers[from_client] = Deframer()
            continue
        for record in records:
            yield from_client, record


def _tapped_records(view: ConnectionView, epochs: list[SecurityParameters], chunks: list[tuple[bool, bytes]]) -> None:
    """The tapped records on the timeline, each opened with its direction's keys of its epoch."""
    halves = _Halves(epochs)
    for from_client, record in tapped_records(view, chunks):
        _tapped_record(view, epochs[-1], halves, from_client, record)


def live_connection(number: int, sec: SecurityParameters, chunks: list[tuple[bool, bytes]],
                    inputs: LiveInputs, epochs: list[SecurityParameters] | None = None) -> ConnectionView:
    """A live connection's page data: its tree from ``sec`` (or one branch per epoch of ``epochs``, the connection's
    handshakes in order, when it renegotiated), its timeline from the tapped ``chunks``."""
    epochs = epochs or [sec]
    tree = [tls12_branch(f"c{number}-", epoch, inputs, n) for n, epoch in enumerate(epochs, 1)]
    view = ConnectionView(number, inputs.title, list(inputs.facts), tree, [], [],
                          nonce_rule=formulas.nonce_rule(sec.suite, int(sec.version), sec.encrypt_then_mac),
                          notes=list(inputs.notes))
    _tapped_records(view, epochs, chunks)
    link_keys(view)
    return view
