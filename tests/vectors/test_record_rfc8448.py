"""TLS 1.3 record protection against RFC 8448 §3 (Simple 1-RTT Handshake).

Record bytes and application plaintexts: Botan's copy of the RFC 8448 records
(../shared/vectors/botan/tls_13_rfc8448/transcripts.vec, SOURCES.md §1c/§2). Traffic keys and IVs:
printed in RFC 8448 §3 ("{server} derive write traffic keys for handshake data" etc.); the server
handshake key is also in SOURCES.md. Every record is opened by a HalfConnection in TLS 1.3 mode with the
right sequence number and re-sealed to the exact same bytes (AES-128-GCM is deterministic).
"""

from __future__ import annotations

import pytest

from tests.helpers.env import VECTORS
from tlsstate.crypto import suites
from tlsstate.record import Deframer, HalfConnection
from tlsstate.record.protection import make_tls13_protection
from tlsstate.wire.errors import BadRecordMAC

# RFC 8448 §3 traffic keys (TLS_AES_128_GCM_SHA256)
SERVER_HS = ("3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30")
CLIENT_HS = ("dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f")
SERVER_AP = ("9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984")
CLIENT_AP = ("17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9")
SUITE = suites.by_id(0x1301)


def _transcript() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (VECTORS / "botan" / "tls_13_rfc8448" / "transcripts.vec").read_text().splitlines():
        if line.startswith("[") and values:
            break  # only the first section, [Simple_1RTT_Handshake]
        key, sep, value = line.partition(" = ")
        if sep:
            values[key.strip()] = value.strip()
    return values


T = _transcript()

# (record name, writer, keys, sequence number, inner content type, expected plaintext or a prefix check)
CASES = [
    ("Record_ServerHandshakeMessages", "server", SERVER_HS, 0, 22,
     T["Message_EncryptedExtensions"] + T["Message_Server_Certificate"] + T["Message_Server_CertificateVerify"]
     + T["Message_Server_Finished"]),
    ("Record_ClientFinished", "client", CLIENT_HS, 0, 22, None),
    ("Record_NewSessionTicket", "server", SERVER_AP, 0, 22, None),
    ("Record_Client_AppData", "client", CLIENT_AP, 0, 23, T["Client_AppData"]),
    ("Record_Server_AppData", "server", SERVER_AP, 1, 23, T["Server_AppData"]),
    ("Record_Client_CloseNotify", "client", CLIENT_AP, 1, 21, "0100"),
    ("Record_Server_CloseNotify", "server", SERVER_AP, 2, 21, "0100"),
]


def _state(writer: str, keys: tuple[str, str], seq: int) -> HalfConnection:
    assert SUITE is not None
    state = HalfConnection(writer)
    state.activate_tls13(make_tls13_protection(SUITE, bytes.fromhex(keys[0]), bytes.fromhex(keys[1])))
    state.seq = seq
    return state


@pytest.mark.parametrize(("name", "writer", "keys", "seq", "inner_type", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rfc8448_record(name: str, writer: str, keys: tuple[str, str], seq: int, inner_type: int,
                        expected: str | None) -> None:
    wire = bytes.fromhex(T[name])
    deframer = Deframer(max_fragment_length=2**14 + 256)
    deframer.feed(wire)
    record = deframer.next_record()
    assert record is not None and deframer.buffered == 0
    content_type, plaintext = _state(writer, keys, seq).open(record)
    assert content_type == inner_type
    if expected is not None:
        assert plaintext.hex() == expected.lower()
    elif name == "Record_ClientFinished":
        assert plaintext[:4] == bytes.fromhex("14000020")
    else:
        assert plaintext[0] == 4  # new_session_ticket
    assert _state(writer, keys, seq).seal(content_type, 0x0303, plaintext) == wire


def test_rfc8448_wrong_sequence_number_fails() -> None:
    wire = bytes.fromhex(T["Record_Server_AppData"])
    deframer = Deframer()
    deframer.feed(wire)
    record = deframer.next_record()
    assert record is not None
    state = _state("server", SERVER_AP, 0)  # the record was sent with seq 1
    with pytest.raises(BadRecordMAC):
        state.open(record)
    with pytest.raises(BadRecordMAC):  # dead state
        state.open(record)


def test_rfc8448_client_keys_do_not_open_server_records() -> None:
    deframer = Deframer()
    deframer.feed(bytes.fromhex(T["Record_ServerHandshakeMessages"]))
    record = deframer.next_record()
    assert record is not None
    with pytest.raises(BadRecordMAC):
        _state("client", CLIENT_HS, 0).open(record)
