"""Page data for a live TLS 1.3 connection (``tlsstate connect`` against a TLS 1.3 server).

The derivation tree is the connection's own HKDF schedule (RFC 9846 §7.1, the
:class:`~tlsstate.handshake.outputs.Tls13Secrets` it derived): early secret -> handshake secret -> the handshake
traffic secrets; master secret -> the application traffic secrets 0, the exporter and resumption master secrets;
each traffic secret with the key and IV it gives (§7.3). The timeline comes from the bytes a
:class:`~tlsstate.html.live.WireTap` saw, cut into records by the library's Deframer and opened again through
``record/keying.py``: plaintext until a direction's first protected record, then its handshake traffic key, then
its application traffic key (a record that does not open under the current key is tried under the next one, so
the switch needs no knowledge of the handshake's states; RFC 9846 §5.1: keys change only at message boundaries).
A KeyUpdate's later generations are derived as RFC 9846 §7.2 says when a record needs them, and added to the tree
under the generation before.
"""

from __future__ import annotations

from collections.abc import Callable

from tlsstate.crypto.schedule13 import next_traffic_secret, traffic_key_and_iv
from tlsstate.crypto.suites import CipherSuite
from tlsstate.handshake.outputs import Tls13Secrets
from tlsstate.html import formulas
from tlsstate.html.live import LiveInputs, _detail, _node, content_type_name, tapped_records
from tlsstate.html.model import ConnectionView, RecordView, TreeNode, link_keys
from tlsstate.record import HalfConnection, Record
from tlsstate.record.keying import traffic_protection
from tlsstate.record.protection import RecordProtection
from tlsstate.wire.constants import ContentType
from tlsstate.wire.errors import BadRecordMAC, ProtocolError
from tlsstate.wire.keylog import TLS13_SECRET_LABELS

__all__ = ["live_connection13", "tls13_branch"]

#: (page name = NSS key log label, Tls13Secrets name) per traffic secret; formulas: html/formulas.TLS13_SCHEDULE
_TRAFFIC = tuple((label, name) for name, label in TLS13_SECRET_LABELS.items() if "traffic" in name)  # early: 0-RTT


def _traffic_node(prefix: str, name: str, secret: bytes | None, formula: str, suite: CipherSuite,
                  reveal: bool) -> TreeNode:
    """A traffic secret with the write key and IV it gives (RFC 9846 §7.3)."""
    node = _node(f"{prefix}{name}", name, secret, formula, secret=True, reveal=reveal)
    if secret:
        key, iv = traffic_key_and_iv(suite, secret)
        node.children.append(_node(f"{prefix}{name}k", f"{name} key", key, formulas.TLS13_KEY, secret=True, reveal=reveal))
        node.children.append(_node(f"{prefix}{name}i", f"{name} iv", iv, formulas.TLS13_IV, secret=True, reveal=reveal))
    return node


def tls13_branch(prefix: str, secrets: Tls13Secrets, suite: CipherSuite, inputs: LiveInputs) -> TreeNode:
    """The key schedule of one TLS 1.3 handshake as far as it went (RFC 9846 §7.1)."""
    reveal = inputs.reveal
    branch = TreeNode(f"{prefix}h1", "handshake 1", "", None, f"TLS 1.3, {suite.name}, HKDF-{secrets.hash_name.upper()}")
    if secrets.shared_secret is not None:
        branch.children.append(_node(f"{prefix}ss", "shared_secret", secrets.shared_secret,
                                     "(EC)DHE or hybrid KEM shared secret (RFC 9846 §7.4)", secret=True, reveal=reveal))
    schedule = formulas.TLS13_SCHEDULE
    early = _node(f"{prefix}es", "early_secret", secrets.early_secret, schedule["early_secret"], secret=True,
                  reveal=reveal)
    handshake = _node(f"{prefix}hs", "handshake_secret", secrets.handshake_secret,
                      schedule["handshake_secret"],
                      secret=True, reveal=reveal)
    master = _node(f"{prefix}ms", "master_secret", secrets.master_secret,
                   schedule["master_secret"], secret=True,
                   reveal=reveal)
    for name, attribute in _TRAFFIC:
        if getattr(secrets, attribute) is None and "EARLY" in name:
            continue  # no early data in this handshake
        parent = early if "EARLY" in name else handshake if "HANDSHAKE" in name else master
        parent.children.append(_traffic_node(prefix, name, getattr(secrets, attribute), schedule[attribute], suite,
                                             reveal))
    if secrets.early_exporter_master_secret is not None:
        early.children.append(_node(f"{prefix}ex", "early_exporter_master_secret", secrets.early_exporter_master_secret,
                                    schedule["early_exporter_master_secret"], secret=True, reveal=reveal))
    master.children.append(_node(f"{prefix}xs", "exporter_master_secret", secrets.exporter_master_secret,
                                 schedule["exporter_master_secret"],
                                 secret=True, reveal=reveal))
    master.children.append(_node(f"{prefix}rs", "resumption_master_secret", secrets.resumption_master_secret,
                                 schedule["resumption_master_secret"],
                                 secret=True, reveal=reveal))
    handshake.children.append(master)
    early.children.append(handshake)
    branch.children.append(early)
    return branch


class _Direction:
    """One direction's record layer for the page: plaintext, then each traffic secret in turn (tried on failure), then
    the generations a KeyUpdate derives from the application traffic secret (RFC 9846 §7.2)."""

    def __init__(self, writer: str, suite: CipherSuite, secrets: list[tuple[str, bytes | None]]) -> None:
        self.half = HalfConnection(writer)
        self.suite = suite
        self.next = [(label, secret) for label, secret in secrets if secret]
        self.label = f"{writer} write: none (plaintext)"
        self.secret = b""

    def advance(self) -> bool:
        """Switch to the next traffic secret (sequence number 0, RFC 9846 §5.3); False when none is left."""
        if not self.next:
            return False
        self.install(*self.next.pop(0))
        return True

    def install(self, label: str, secret: bytes) -> None:
        self.half.activate_tls13(traffic_protection(self.suite, secret), label=label)
        self.label, self.secret = label, secret

    def updated(self) -> tuple[str, bytes] | None:
        """The next generation of the application traffic secret (a KeyUpdate, RFC 9846 §7.2), or None."""
        base, _, generation = self.label.rpartition("_")
        if not base.endswith("TRAFFIC_SECRET") or "HANDSHAKE" in base or not generation.isdigit():
            return None
        return f"{base}_{int(generation) + 1}", next_traffic_secret(self.suite.prf_hash, self.secret)


def _trial(direction: _Direction, protection: RecordProtection, label: str, seq: int,
           record: Record) -> tuple[int, bytes, HalfConnection]:
    """Open ``record`` on a copy of the direction's state (a failed open would kill the real one)."""
    trial = HalfConnection(direction.half.writer)
    trial.activate_tls13(protection, label=label)
    trial.seq = seq
    content_type, plaintext = trial.open(record)
    return content_type, plaintext, trial


def _open(direction: _Direction, record: Record,
          on_update: Callable[[str, str, bytes], None]) -> tuple[int, bytes | None, int | None, str]:
    """(content type, plaintext or None, sequence number, the verdict): under the current key, else the next ones."""
    protected = record.content_type == ContentType.APPLICATION_DATA
    if protected and not direction.half.tls13 and not direction.advance():
        return record.content_type, None, None, "no_keys"
    while True:
        seq = direction.half.seq if protected else None
        try:
            content_type, plaintext, trial = _trial(direction, direction.half.protection, direction.label,
                                                    direction.half.seq, record)
        except BadRecordMAC:
            if protected and direction.advance():
                continue
            update = direction.updated() if protected else None
            if update is not None:
                try:
                    content_type, plaintext, trial = _trial(
                        direction, traffic_protection(direction.suite, update[1]), update[0], 0, record)
                except BadRecordMAC:
                    pass
                else:
                    on_update(direction.label, *update)
                    direction.install(*update)
                    direction.half.seq = trial.seq
                    return content_type, plaintext, 0, "ok"
            # the connection accepted these bytes: what fails here is a key the page lacks, not the record
            return record.content_type, None, seq, "no_keys"
        except ProtocolError as exc:
            return record.content_type, None, seq, exc.alert.label
        direction.half.seq = trial.seq
        return content_type, plaintext, seq, "ok"


def live_connection13(number: int, secrets: Tls13Secrets, suite: CipherSuite, chunks: list[tuple[bool, bytes]],
                      inputs: LiveInputs) -> ConnectionView:
    """A live TLS 1.3 connection's page data: its HKDF tree and its timeline from the tapped ``chunks``."""
    view = ConnectionView(number, inputs.title, list(inputs.facts), [tls13_branch(f"c{number}-", secrets, suite, inputs)],
                          [], [], nonce_rule=formulas.nonce_rule(suite, 0x0304, False), notes=list(inputs.notes))
    directions = {
        True: _Direction("client", suite, [(n, getattr(secrets, a)) for n, a in _TRAFFIC if n.startswith("CLIENT")]),
        False: _Direction("server", suite, [(n, getattr(secrets, a)) for n, a in _TRAFFIC if n.startswith("SERVER")]),
    }
    branch = view.tree[0]

    def on_update(previous: str, label: str, secret: bytes) -> None:  # a KeyUpdate: the new generation's branch
        parent = next((node for node in branch.walk() if node.name == previous), branch)
        formula = formulas.tls13_update_formula(previous)
        parent.children.append(_traffic_node(f"c{number}-", label, secret, formula, suite, inputs.reveal))

    for from_client, record in tapped_records(view, chunks):
        direction = directions[from_client]
        content_type, plaintext, seq, verdict = _open(direction, record, on_update)
        fragment = bytes(record.fragment)
        layout = formulas.record_layout(suite, 0x0304, False, fragment) if seq is not None else (b"", b"")
        label = direction.label if seq is not None else f"{direction.half.writer} write: none (plaintext)"
        view.add_record(RecordView(
            len(view.records), from_client, content_type_name(content_type), seq, len(fragment),
            None if plaintext is None else len(plaintext), verdict, view.key_index(label),
            reason="" if verdict == "ok" else verdict,
            detail=_detail(record.to_bytes()[:5], fragment, plaintext, layout),
        ))
    link_keys(view)
    return view
