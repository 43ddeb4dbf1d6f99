"""Page data for ``tlsstate decrypt``: built from the very results ``--json`` prints, so the two never disagree.

Per connection: the facts are :meth:`ConnectionResult.to_json` (every scalar key it has, so fields added there show
up here too), the record counts its ``records_*`` counters, the timeline the per-record results the follower kept
(:class:`~tlsstate.capture.trace.RecordInfo`, the ``--records`` lines) and the tree each handshake's
:class:`~tlsstate.capture.trace.Derivation` (the ``--explain`` steps, each with its source and RFC section).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tlsstate.capture.report import CONTENT_TYPES
from tlsstate.html import formulas
from tlsstate.html.model import (
    DETAIL_PAGE_RECORDS,
    SIX_VALUES,
    ConnectionView,
    Fact,
    Page,
    RecordDetail,
    RecordView,
    TcpMark,
    TreeNode,
    link_keys,
    shown,
)
from tlsstate.wire.constants import ProtocolVersion

if TYPE_CHECKING:
    from tlsstate.capture.decrypt import ConnectionResult
    from tlsstate.capture.trace import Derivation

__all__ = ["capture_connection", "capture_index", "capture_page"]

TRAFFIC_GENERATION = re.compile(r"(CLIENT|SERVER)_TRAFFIC_SECRET_(\d+)")
PUBLIC = frozenset({"client_random", "server_random", "encrypted_premaster", "session_hash"})
#: --json keys the page shows elsewhere (the counters in the legend, gaps and notes in their own lists)
NOT_FACTS = frozenset({"connection", "notes", "gaps", "retransmissions", "records", "records_ok", "records_failed",
                       "records_undecryptable", "records_truncated"})
#: the TCP counters of --json, shown only when something happened
TCP_COUNTERS = frozenset(f"{way}_{what}" for way in ("client_to_server", "server_to_client")
                         for what in ("retransmitted_bytes", "retransmitted_segments", "differing_bytes", "keep_alives",
                                      "zero_window_probes"))
FACT_LIMIT = 400  # characters of one fact (a first line of hostile data can be long)


def _branch(prefix: str, derivation: Derivation, reveal: bool, ssl3: bool = False) -> TreeNode:
    """One handshake's steps as a tree: secrets nest what is derived from them, the six values under key_block (cut
    in the order of RFC 5246 §6.3; SSL 3.0: RFC 6101 §6.2.2)."""
    cut = "RFC 6101 §6.2.2" if ssl3 else "RFC 5246 §6.3"
    branch = TreeNode(f"{prefix}h{derivation.handshake}", f"handshake {derivation.handshake}", "", None, "")
    node = branch
    block: TreeNode | None = None
    for step, (name, value, source) in enumerate(derivation.steps):
        secret = name not in PUBLIC
        leaf = TreeNode(f"{prefix}h{derivation.handshake}s{step}", name, shown(value, secret, reveal), len(value), source,
                        secret)
        if name in SIX_VALUES:
            if block is None:
                formula = source if "RFC" in source else f"{source} ({cut})"
                block = TreeNode(f"{prefix}h{derivation.handshake}kb", "key_block", "", 0, formula, True)
                node.children.append(block)
            start = block.length or 0
            leaf.formula = f"key_block[{start}:{start + len(value)}] ({cut})" if value else "not used (0 bytes)"
            block.length = start + len(value)
            block.children.append(leaf)
        elif name.endswith((" key", " iv")):
            node.children.append(leaf)  # a traffic key / IV under the secret it comes from
        elif name == "master_secret" and node.name == "premaster_secret":
            node.children.append(leaf)
            node = leaf
        elif (previous := _previous_generation(branch, name)) is not None:
            previous.children.append(leaf)  # a KeyUpdate's secret comes from the one before (RFC 8446 §7.2)
            node = leaf
        elif name in ("premaster_secret", "master_secret") or "SECRET" in name:
            branch.children.append(leaf)
            node = leaf
        else:
            branch.children.append(leaf)
    return branch


def _previous_generation(branch: TreeNode, name: str) -> TreeNode | None:
    """For ``CLIENT_TRAFFIC_SECRET_N`` (N >= 1): the node of generation N-1 in ``branch``, if it is there."""
    match = TRAFFIC_GENERATION.fullmatch(name)
    if match is None or match.group(2) == "0":
        return None
    wanted = f"{match.group(1)}_TRAFFIC_SECRET_{int(match.group(2)) - 1}"
    return next((node for node in branch.walk() if node.name == wanted), None)


def _tcp_marks(session: Any) -> list[TcpMark]:
    """Where TCP gaps and retransmissions fall among the records (kept by the follower; read defensively), one mark
    per gap and per retransmitted segment, in capture order."""
    marks = [TcpMark(e.before, e.arrow == "c>s", e.length, "gap", e.offset, e.frame)
             for e in getattr(session, "gaps_at", [])]
    marks += [TcpMark(e.before, e.arrow == "c>s", e.length, "retransmission", e.offset, e.frame, e.differing,
                      e.control) for e in getattr(session, "retransmissions_at", [])]
    return sorted(marks, key=lambda mark: (mark.before, mark.frame))


def _fact_text(value: Any) -> str:
    """A --json value as one line of text (lists and dicts joined), bounded."""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        text = ", ".join(_fact_text(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k} {_fact_text(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= FACT_LIMIT else text[:FACT_LIMIT] + f"… ({len(text)} characters)"


def _facts(document: dict[str, Any], conn: ConnectionResult) -> list[Fact]:
    """Every --json key of the connection that has a value, in --json order (TCP counters only when not 0)."""
    return [Fact(key, _fact_text(value)) for key, value in document.items()
            if key not in NOT_FACTS and value is not None and value != "" and not (key in TCP_COUNTERS and value == 0)]


def _reason(record: object) -> str:
    """Why a record failed, when the follower says (read defensively: the cause is a newer field)."""
    for name in ("cause", "reason"):
        value = getattr(record, name, None)
        if value:
            return str(getattr(value, "message", value))  # a Cause carries its message
    return ""


def _details(conn: ConnectionResult, view: ConnectionView, budget: int) -> int:
    """Attach the kept bytes (``TlsSession.record_bytes``) to at most ``budget`` records; returns how many."""
    s = conn.session
    kept: dict[int, Any] = getattr(s, "record_bytes", {})
    used = 0
    for record in view.records:
        if used >= budget:
            break
        data = kept.get(record.index)
        if data is None:
            continue
        layout = (b"", b"")
        if record.seq is not None and s.suite is not None and s.version is not None:
            layout = formulas.record_layout(s.suite, s.version, s.etm, data.fragment_edges)
        plaintext = data.plaintext if record.verdict == "ok" else b""
        record.detail = RecordDetail(data.header.hex(), layout[0].hex(), layout[1].hex(), plaintext,
                                     data.plaintext_length if plaintext or record.verdict == "ok" else 0)
        used += 1
    return used


def capture_connection(conn: ConnectionResult, *, reveal: bool, details: int = DETAIL_PAGE_RECORDS) -> ConnectionView:
    """One decrypted connection's page data; the first ``details`` records carry their bytes."""
    s = conn.session
    document = conn.to_json()
    prefix = f"c{conn.number}-"
    view = ConnectionView(conn.number, f"connection {conn.number}: {conn.client} → {conn.server}, {conn.version}, "
                          f"{conn.cipher_suite_name}", _facts(document, conn),
                          [_branch(prefix, d, reveal, s.version == ProtocolVersion.SSL3) for d in s.derivations], [], [])
    view.summary = {k: int(document[k]) for k in ("records_ok", "records_failed", "records_undecryptable",
                                                  "records_truncated") if isinstance(document.get(k), int)}
    if s.suite is not None and s.version is not None:
        view.nonce_rule = formulas.nonce_rule(s.suite, s.version, s.etm)
    view.notes = [str(n) for n in document.get("notes") or []]
    view.notes += [f"TCP gap: {g.get('length')} bytes missing in {g.get('direction')} at stream offset {g.get('offset')}"
                   for g in document.get("gaps") or []]
    for index, record in enumerate(s.records):
        seq = record.seq
        failed = record.verdict not in ("ok", "no_keys", "unsupported", "truncated")
        view.add_record(RecordView(
            index, record.direction == "c>s", CONTENT_TYPES.get(record.content_type, str(record.content_type)), seq,
            record.length, record.plaintext_length if record.verdict == "ok" else None, record.verdict,
            view.key_index(record.key), reason=_reason(record) or (record.verdict if failed else ""),
        ))
    view.marks = _tcp_marks(s)
    branch_of: dict[str, int] = {}
    for number, derivation in enumerate(s.derivations):
        for label in derivation.protected:
            branch_of.setdefault(label, number)
    link_keys(view, branch_of)
    _details(conn, view, details)
    return view


def capture_page(connections: list[ConnectionResult], source: str, *, reveal: bool, title: str = "") -> Page:
    """One page for ``connections`` (the whole capture, or one connection for ``--html-dir``)."""
    views, budget = [], DETAIL_PAGE_RECORDS
    for conn in connections:
        views.append(capture_connection(conn, reveal=reveal, details=budget))
        budget -= sum(1 for record in views[-1].records if record.detail is not None)
    return Page(title or f"{source}: {len(views)} TLS connection(s)", source, views, reveal)


def _line(conn: ConnectionResult) -> str:
    """One index line: the connection, its records and failures."""
    summary = conn.session.summary()
    return (f"connection {conn.number}: {conn.client} → {conn.server}, {conn.version}, {conn.cipher_suite_name}; "
            f"{summary['records_ok']} ok, {summary['records_failed']} failed")


def capture_index(connections: list[ConnectionResult], source: str, file_name: str, *, reveal: bool) -> Page:
    """``--html-dir``'s index.html: one link per connection page (``file_name`` formats the connection number)."""
    return Page(f"{source}: {len(connections)} TLS connection(s)", source, [], reveal,
                links=[(file_name.format(conn.number), _line(conn)) for conn in connections])
