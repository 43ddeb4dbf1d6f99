"""TLS 1.3 records of the WG editor's trace (../shared/vectors/rfc8448/draft-ietf-tls-tls13-vectors.txt,
SOURCES.md §2): a complete, self-consistent NSS trace with every traffic key/IV and every record before and
after protection, in 5 scenarios (1-RTT, resumed 0-RTT with early data, HelloRetryRequest, client
authentication, compatibility mode).

Every protected record must open with one of its sender's announced write keys at the right sequence
number (records per key counted independently), give the printed payload and the record kind as inner
content type, and re-seal to the printed bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from tests.helpers.env import VECTORS
from tlsstate.crypto import suites
from tlsstate.record import Deframer, HalfConnection
from tlsstate.record.protection import make_tls13_protection
from tlsstate.wire.errors import BadRecordMAC

TRACE = VECTORS / "rfc8448" / "draft-ietf-tls-tls13-vectors.txt"
HEX_LINE = re.compile(r"^\s+([0-9a-f]{2}(?: [0-9a-f]{2})*)\s*$")
FIELD = re.compile(r"^\s+(.+?) \((\d+) octets\):\s*((?:[0-9a-f]{2} ?)*)\s*$")
SECTION = re.compile(r"^(\d+)\.  (.+)$")
DERIVE = re.compile(r"^\s+\{(client|server)\}\s+derive (write|read) traffic keys for (.+?)(?: \(|:)")
SEND = re.compile(r"^\s+\{(client|server)\}\s+send (handshake|application_data|alert) record")
KINDS = {"handshake": 22, "application_data": 23, "alert": 21}


@dataclass
class TraceRecord:
    section: str
    sender: str
    kind: str
    payload: bytes
    wire: bytes


@dataclass
class Section:
    name: str
    keys: dict[str, list[tuple[str, bytes, bytes]]] = field(default_factory=lambda: {"client": [], "server": []})
    records: list[TraceRecord] = field(default_factory=list)


def _parse() -> list[Section]:
    lines = TRACE.read_text().splitlines()
    sections: list[Section] = []
    i = 0
    current_keys: tuple[str, str] | None = None  # (owner of the write keys, label)
    pending: dict[str, bytes] = {}
    sending: tuple[str, str] | None = None

    def read_field(start: int) -> tuple[str, bytes, int]:
        match = FIELD.match(lines[start])
        assert match is not None
        name, length = match.group(1), int(match.group(2))
        data = bytes.fromhex(match.group(3))
        j = start + 1
        while len(data) < length:
            line = lines[j]
            hex_match = HEX_LINE.match(line)
            if hex_match:
                data += bytes.fromhex(hex_match.group(1))
            j += 1
        assert len(data) == length, (name, length, len(data))
        return name, data, j

    while i < len(lines):
        line = lines[i]
        if (m := SECTION.match(line)) and not line.startswith(" "):
            sections.append(Section(f"{m.group(1)} {m.group(2).strip()}"))
            current_keys, sending = None, None
        elif sections and (m := DERIVE.match(line)):
            who, direction, label = m.group(1), m.group(2), m.group(3)
            owner = who if direction == "write" else ("server" if who == "client" else "client")
            current_keys, pending, sending = (owner, label), {}, None
        elif sections and (m := SEND.match(line)):
            sending, current_keys = (m.group(1), m.group(2)), None
            pending = {}
        elif sections and FIELD.match(line):
            name, data, end = read_field(i)
            if current_keys is not None and name in ("key expanded", "iv expanded"):
                pending[name] = data
                if len(pending) == 2:
                    owner, label = current_keys
                    entry = (label, pending["key expanded"], pending["iv expanded"])
                    if entry not in sections[-1].keys[owner]:
                        sections[-1].keys[owner].append(entry)
                    current_keys = None
            elif sending is not None and name in ("payload", "complete record"):
                pending[name] = data
                if len(pending) == 2:
                    sections[-1].records.append(
                        TraceRecord(sections[-1].name, sending[0], sending[1], pending["payload"],
                                    pending["complete record"])
                    )
                    sending, pending = None, {}
            i = end
            continue
        i += 1
    return [s for s in sections if s.records]


SECTIONS = _parse()


def test_trace_shape() -> None:
    assert [s.name.split()[0] for s in SECTIONS] == ["3", "4", "5", "6", "7"]
    protected = sum(1 for s in SECTIONS for r in s.records if r.wire[0] == 23)
    assert protected >= 25


@pytest.mark.parametrize("section", SECTIONS, ids=[s.name.split()[0] + "-" + s.name.split()[1] for s in SECTIONS])
def test_trace_records(section: Section) -> None:
    used: dict[tuple[str, int], int] = {}  # (sender, key index) -> records opened with it
    opened = 0
    for record in section.records:
        if record.wire[0] != 23:  # unprotected ClientHello / ServerHello / compatibility CCS
            assert record.wire[5:] == record.payload
            continue
        deframer = Deframer(max_fragment_length=2**14 + 256)
        deframer.feed(record.wire)
        wire_record = deframer.next_record()
        assert wire_record is not None and deframer.buffered == 0
        matches = []
        for index, (_label, key, iv) in enumerate(section.keys[record.sender]):
            suite = suites.by_id(0x1301 if len(key) == 16 else 0x1302)
            assert suite is not None
            state = HalfConnection(record.sender)
            state.activate_tls13(make_tls13_protection(suite, key, iv))
            state.seq = used.get((record.sender, index), 0)
            try:
                content_type, plaintext = state.open(wire_record)
            except BadRecordMAC:
                continue
            matches.append((index, content_type, plaintext, suite, key, iv, state.seq - 1))
        assert len(matches) == 1, f"{record.sender} {record.kind}: {len(matches)} keys open it"
        index, content_type, plaintext, suite, key, iv, seq = matches[0]
        used[(record.sender, index)] = seq + 1
        assert content_type == KINDS[record.kind]
        assert plaintext == record.payload
        resealer = HalfConnection(record.sender)
        resealer.activate_tls13(make_tls13_protection(suite, key, iv))
        resealer.seq = seq
        assert resealer.seal(content_type, 0x0303, plaintext) == record.wire
        opened += 1
    assert opened >= 4
