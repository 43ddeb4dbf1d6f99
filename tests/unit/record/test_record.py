"""Deframer, HalfConnection and fragment_data behaviour (RFC 5246 §6, RFC 8446 §5)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.records import aim_explicit_iv
from tlsstate.crypto import suites
from tlsstate.record import Deframer, HalfConnection, Record, fragment_data
from tlsstate.record.protection import CbcMacThenEncrypt, NullProtection, make_protection, make_tls13_protection
from tlsstate.wire.constants import SSLV2_CLIENT_HELLO, AlertDescription
from tlsstate.wire.errors import (
    BadRecordMAC,
    ConfigurationError,
    DecodeError,
    InternalError,
    RecordOverflow,
    UnexpectedMessage,
)

records = st.lists(
    st.tuples(st.integers(20, 24), st.integers(0x0300, 0x0304), st.binary(max_size=700)), min_size=0, max_size=6
)


def _wire(items: list[tuple[int, int, bytes]]) -> bytes:
    return b"".join(Record(t, v, f).to_bytes() for t, v, f in items)


@settings(max_examples=60, deadline=None)
@given(items=records, cuts=st.lists(st.integers(0, 5000), max_size=12))
def test_any_chunking_gives_the_same_records(items: list[tuple[int, int, bytes]], cuts: list[int]) -> None:
    wire = _wire(items)
    points = sorted({c % (len(wire) + 1) for c in cuts})
    chunks = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    deframer = Deframer()
    got = []
    for chunk in chunks:
        deframer.feed(chunk)
        got.extend((r.content_type, r.version, r.fragment) for r in deframer)
    assert got == items
    assert deframer.buffered == 0
    assert deframer.next_record() is None


def test_byte_by_byte() -> None:
    wire = _wire([(22, 0x0303, b"a" * 300), (23, 0x0303, b"")])
    deframer = Deframer()
    got = []
    for i in range(len(wire)):
        deframer.feed(bytearray(wire[i : i + 1]))
        got.extend(deframer)
    assert [(r.content_type, r.fragment) for r in got] == [(22, b"a" * 300), (23, b"")]


@pytest.mark.parametrize(
    ("header", "error", "alert"),
    [
        (bytes.fromhex("1903030000"), UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE),  # type 25
        (bytes.fromhex("1303030000"), UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE),  # type 19
        (bytes.fromhex("ff03030000"), UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE),
        (bytes.fromhex("1702030000"), DecodeError, AlertDescription.DECODE_ERROR),  # major 2
        (bytes.fromhex("1703050000"), DecodeError, AlertDescription.DECODE_ERROR),  # 0x0305
        (bytes.fromhex("16feff0000"), DecodeError, AlertDescription.DECODE_ERROR),  # DTLS
        (bytes.fromhex("1703034801"), RecordOverflow, AlertDescription.RECORD_OVERFLOW),  # 2^14 + 2049
        (bytes.fromhex("170303ffff"), RecordOverflow, AlertDescription.RECORD_OVERFLOW),
    ],
)
def test_bad_headers(header: bytes, error: type[Exception], alert: AlertDescription) -> None:
    deframer = Deframer()
    deframer.feed(header[:4])
    assert deframer.next_record() is None  # the header is not complete yet
    deframer.feed(header[4:])
    with pytest.raises(error) as info:
        deframer.next_record()
    assert info.value.alert == alert  # type: ignore[attr-defined]
    with pytest.raises(error):  # sticky
        deframer.next_record()


@pytest.mark.parametrize("version", [0x0300, 0x0305, 0x0380, 0x03FE, 0x03FF])
def test_first_client_hello_record_any_minor(version: int) -> None:
    """RFC 5246 Appendix E.1: a server MUST accept any {03,XX} record version for the ClientHello: the first
    handshake record only; later records (and other first records) are checked as before."""
    deframer = Deframer(first_client_hello=True)
    deframer.feed(_wire([(22, version, b"hello"), (22, version, b"again")]))
    first = deframer.next_record()
    assert first is not None and (first.content_type, first.version, first.fragment) == (22, version, b"hello")
    if 0x0300 <= version <= 0x0304:
        assert deframer.next_record() is not None
        return
    with pytest.raises(DecodeError, match="bad record version"):
        deframer.next_record()
    client = Deframer()  # a client reading a server: strict from the first record
    client.feed(_wire([(22, version, b"x")]))
    with pytest.raises(DecodeError):
        client.next_record()
    not_handshake = Deframer(first_client_hello=True)  # E.1 speaks of the ClientHello only
    not_handshake.feed(_wire([(21, version, b"\x02\x28")]))
    with pytest.raises(DecodeError):
        not_handshake.next_record()


@pytest.mark.parametrize("header", [bytes.fromhex("1602030000"), bytes.fromhex("16feff0000")])
def test_first_client_hello_record_other_major(header: bytes) -> None:
    deframer = Deframer(first_client_hello=True)
    deframer.feed(header)
    with pytest.raises(DecodeError):
        deframer.next_record()


def test_first_record_sslv2_client_hello() -> None:
    """RFC 5246 Appendix E.2: the first record alone may be an SSLv2-format ClientHello; it comes out whole
    (header included) as SSLV2_CLIENT_HELLO, in any chunking; the same bytes later are unexpected_message."""
    msg = b"\x01\x03\x01\x00\x03\x00\x00\x00\x10\x00\x00\x2f" + bytes(range(16))
    v2 = bytes([0x80, len(msg)]) + msg
    tls = _wire([(22, 0x0301, b"next")])
    deframer = Deframer(first_client_hello=True)
    for i in range(len(v2)):
        deframer.feed(v2[i : i + 1])
        if i < len(v2) - 1:
            assert deframer.next_record() is None
    deframer.feed(tls)
    first = deframer.next_record()
    assert first is not None and (first.content_type, first.fragment) == (SSLV2_CLIENT_HELLO, v2)
    second = deframer.next_record()
    assert second is not None and second.fragment == b"next"
    client = Deframer()
    client.feed(v2)
    with pytest.raises(UnexpectedMessage, match="content type 128"):
        client.next_record()
    late = Deframer(first_client_hello=True)
    late.feed(tls + v2)
    assert late.next_record() is not None
    with pytest.raises(UnexpectedMessage, match="content type 128"):
        late.next_record()
    other_message = Deframer(first_client_hello=True)  # top bit set, but not msg_type 1
    other_message.feed(bytes([0x80, len(msg), 0x02]) + msg[1:])
    with pytest.raises(UnexpectedMessage):
        other_message.next_record()


def test_length_limits() -> None:
    deframer = Deframer()
    deframer.feed(Record(23, 0x0303, bytes(2**14 + 2048)).to_bytes())
    record = deframer.next_record()
    assert record is not None and len(record.fragment) == 2**14 + 2048
    tls13 = Deframer(max_fragment_length=2**14 + 256)
    tls13.feed(bytes.fromhex("1703034101"))
    with pytest.raises(RecordOverflow):
        tls13.next_record()
    small = Deframer(max_fragment_length=512)
    small.feed(Record(23, 0x0303, bytes(513)).to_bytes())
    with pytest.raises(RecordOverflow):
        small.next_record()


def _gcm_pair() -> tuple[HalfConnection, HalfConnection]:
    suite = suites.by_id(0xC02F)
    assert suite is not None
    key, iv = os.urandom(16), os.urandom(4)
    writer, reader = HalfConnection("client"), HalfConnection("client")
    for state in (writer, reader):
        state.set_pending(make_protection(suite, 0x0303, b"", key, iv))
    return writer, reader


def test_change_cipher_spec_switches_state() -> None:
    writer, reader = _gcm_pair()
    assert isinstance(writer.protection, NullProtection)
    assert "none" in writer.key_label
    clear = writer.seal(22, 0x0303, b"hello")
    assert clear == bytes.fromhex("1603030005") + b"hello"
    assert reader.open(Record(22, 0x0303, b"hello")) == (22, b"hello")
    writer.activate_pending()
    reader.activate_pending()
    assert writer.seq == reader.seq == 0 and writer.epoch == reader.epoch == 1
    assert writer.key_label == "client write key (epoch 1)"
    wire = writer.seal(23, 0x0303, b"secret")
    assert b"secret" not in wire and len(wire) == 5 + 8 + 6 + 16
    deframer = Deframer()
    deframer.feed(wire)
    record = deframer.next_record()
    assert record is not None and reader.open(record) == (23, b"secret")
    with pytest.raises(UnexpectedMessage):
        writer.activate_pending()  # no second pending state


def test_sequence_number_never_wraps() -> None:
    writer, reader = _gcm_pair()
    writer.activate_pending()
    reader.activate_pending()
    writer.seq = reader.seq = 2**64 - 1
    wire = writer.seal(23, 0x0303, b"last")
    assert wire[5:13] == b"\xff" * 8  # explicit nonce = the sequence number
    with pytest.raises(InternalError):
        writer.seal(23, 0x0303, b"one too many")
    assert reader.open(Record(23, 0x0303, wire[5:])) == (23, b"last")
    with pytest.raises(InternalError):
        reader.open(Record(23, 0x0303, wire[5:]))


def test_plaintext_limits() -> None:
    writer, reader = _gcm_pair()
    writer.activate_pending()
    reader.activate_pending()
    with pytest.raises(ConfigurationError):
        writer.seal(23, 0x0303, bytes(2**14 + 1))
    writer.max_plaintext_length = 2**14 + 1
    wire = writer.seal(23, 0x0303, bytes(2**14 + 1))
    with pytest.raises(RecordOverflow):
        reader.open(Record(23, 0x0303, wire[5:]))
    with pytest.raises(RecordOverflow):
        HalfConnection("server").open(Record(23, 0x0303, bytes(2**14 + 1)))


def _tls13_pair(suite_id: int = 0x1301) -> tuple[HalfConnection, HalfConnection]:
    suite = suites.by_id(suite_id)
    assert suite is not None
    key, iv = os.urandom(suite.cipher.key_length), os.urandom(12)
    writer, reader = HalfConnection("server"), HalfConnection("server")
    writer.activate_tls13(make_tls13_protection(suite, key, iv), label="server handshake traffic key")
    reader.activate_tls13(make_tls13_protection(suite, key, iv))
    return writer, reader


def _one(wire: bytes) -> Record:
    deframer = Deframer(max_fragment_length=2**14 + 256)
    deframer.feed(wire)
    record = deframer.next_record()
    assert record is not None
    return record


def test_tls13_inner_type_and_padding() -> None:
    writer, reader = _tls13_pair()
    assert writer.key_label == "server handshake traffic key (epoch 1)"
    wire = writer.seal(22, 0x0303, b"\x08\x00\x00\x00", padding=100)
    assert wire[:3] == bytes.fromhex("170303") and len(wire) == 5 + 4 + 1 + 100 + 16
    assert reader.open(_one(wire)) == (22, b"\x08\x00\x00\x00")
    wire = writer.seal(21, 0x0303, b"", padding=0)
    assert reader.open(_one(wire)) == (21, b"")
    # an unprotected change_cipher_spec passes through to the caller without using a sequence number
    assert reader.open(Record(20, 0x0303, b"\x01")) == (20, b"\x01")
    with pytest.raises(UnexpectedMessage):
        reader.open(Record(22, 0x0303, b"\x01"))


def test_tls13_all_zero_inner_plaintext_is_unexpected_message() -> None:
    suite = suites.by_id(0x1303)
    assert suite is not None
    key, iv = os.urandom(32), os.urandom(12)
    sealer = make_tls13_protection(suite, key, iv)
    wire = sealer.seal_record(0, 23, 0x0303, bytes(20))
    reader = HalfConnection("client")
    reader.activate_tls13(make_tls13_protection(suite, key, iv))
    with pytest.raises(UnexpectedMessage):
        reader.open(_one(wire))


def test_tls13_plaintext_over_limit_is_record_overflow() -> None:
    writer, reader = _tls13_pair()
    writer.max_plaintext_length = 2**14 + 1
    wire = writer.seal(23, 0x0303, bytes(2**14 + 1))
    with pytest.raises(RecordOverflow):
        reader.open(_one(wire))


def test_integrity_failure_is_sticky_and_identical() -> None:
    writer, reader = _tls13_pair()
    good = _one(writer.seal(23, 0x0303, b"data"))
    bad = Record(good.content_type, good.version, good.fragment[:-1] + bytes([good.fragment[-1] ^ 1]))
    with pytest.raises(BadRecordMAC) as first:
        reader.open(bad)
    with pytest.raises(BadRecordMAC) as second:
        reader.open(good)
    assert first.value is second.value
    with pytest.raises(BadRecordMAC):
        reader.seal(23, 0x0303, b"x")


def test_cbc_padding_and_mac_failures_look_the_same() -> None:
    """Lucky 13 / padding oracle: bad padding and bad MAC give the same error and message."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    suite = suites.by_id(0x002F)
    assert suite is not None
    mac_key, key = os.urandom(20), os.urandom(16)
    messages = set()
    for last_byte in (0x00, 0x05, 0x0F, 0xFF):  # good/bad padding lengths, MAC always wrong
        iv = os.urandom(16)
        body = bytes(31) + bytes([last_byte])
        fragment = iv + Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor().update(body + bytes(16))
        protection = make_protection(suite, 0x0303, mac_key, key, b"")
        with pytest.raises(BadRecordMAC) as info:
            protection.open(0, 23, 0x0303, fragment)
        messages.add(str(info.value))
    assert len(messages) == 1


def test_fragment_data() -> None:
    assert list(fragment_data(b"")) == []
    assert list(fragment_data(b"abcde", 2)) == [b"ab", b"cd", b"e"]
    assert [len(f) for f in fragment_data(bytes(2**15 + 1))] == [2**14, 2**14, 1]
    with pytest.raises(ConfigurationError):
        list(fragment_data(b"x", 0))
    with pytest.raises(ConfigurationError):
        HalfConnection("both")


def test_reprs_hold_no_secrets() -> None:
    suite = suites.by_id(0x002F)
    assert suite is not None
    mac_key, key, iv = b"\x11" * 20, b"\x22" * 16, b"\x33" * 16
    protection = make_protection(suite, 0x0301, mac_key, key, iv)
    state = HalfConnection("client")
    state.set_pending(protection)
    state.activate_pending()
    text = repr(state) + repr(protection) + str(vars(state))
    for secret in (mac_key, key, iv):
        assert secret.hex() not in text and repr(secret) not in text


@settings(max_examples=30, deadline=None)
@given(items=records, cuts=st.lists(st.integers(0, 5000), max_size=8))
def test_record_view_matches_next_record(items: list[tuple[int, int, bytes]], cuts: list[int]) -> None:
    wire = _wire(items)
    points = sorted({c % (len(wire) + 1) for c in cuts})
    chunks = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    deframer = Deframer()
    views = []
    for chunk in chunks:
        deframer.feed(chunk)
        while (item := deframer.next_record_view()) is not None:
            views.append(item)
    # views stay valid after later feeds
    assert [(t, v, bytes(f)) for t, v, f in views] == items


def test_open_fragment_equals_open() -> None:
    writer, reader = _gcm_pair()
    for state in (writer, reader):
        state.activate_pending()
    deframer = Deframer()
    deframer.feed(writer.seal(23, 0x0303, b"one") + writer.seal(21, 0x0303, b"\x01\x00"))
    first = deframer.next_record_view()
    second = deframer.next_record()
    assert first is not None and second is not None
    assert reader.open_fragment(*first) == (23, b"one")
    assert reader.open(second) == (21, b"\x01\x00")
    tls_writer, tls_reader = _tls13_pair()
    deframer.feed(tls_writer.seal(22, 0x0303, b"hs"))
    view = deframer.next_record_view()
    assert view is not None and tls_reader.open_fragment(*view) == (22, b"hs")


def test_tls13_padding_limit() -> None:
    writer, reader = _tls13_pair()
    wire = writer.seal(23, 0x0303, b"ab", padding=2**14 - 2)  # TLSInnerPlaintext of exactly 2^14 + 1
    assert len(wire) == 5 + 2**14 + 1 + 16
    assert reader.open(_one(wire)) == (23, b"ab")
    with pytest.raises(ConfigurationError):
        writer.seal(23, 0x0303, b"ab", padding=2**14 - 1)
    with pytest.raises(ConfigurationError):
        writer.seal(23, 0x0303, b"ab", padding=-1)
    assert writer.seq == 1  # refused records use no sequence number


def test_make_protection_rejects_bad_configuration() -> None:
    gcm, cbc, tls13 = suites.by_id(0xC02F), suites.by_id(0x002F), suites.by_id(0x1301)
    assert gcm is not None and cbc is not None and tls13 is not None
    with pytest.raises(ConfigurationError):
        make_protection(gcm, 0x0303, b"", bytes(15), bytes(4))  # key length
    with pytest.raises(ConfigurationError):
        make_protection(gcm, 0x0303, b"", bytes(16), bytes(12))  # GCM salt is 4 bytes
    with pytest.raises(ConfigurationError):
        make_protection(cbc, 0x0301, bytes(20), bytes(16), b"")  # TLS 1.0 needs the implicit IV
    with pytest.raises(ConfigurationError):
        make_protection(cbc, 0x0303, bytes(19), bytes(16), b"")  # MAC key length
    with pytest.raises(ConfigurationError):
        make_protection(tls13, 0x0303, b"", bytes(16), bytes(12))
    with pytest.raises(ConfigurationError):
        make_protection(cbc, 0x0304, bytes(20), bytes(16), b"")
    with pytest.raises(ConfigurationError):
        make_tls13_protection(tls13, bytes(16), bytes(4))
    ssl3_etm = make_protection(cbc, 0x0300, bytes(20), bytes(16), bytes(16), encrypt_then_mac=True)
    assert "EtM" not in ssl3_etm.name  # RFC 7366 does not apply to SSL 3.0


def test_dead_tls12_state_refuses_to_seal_and_protection_can_be_replaced() -> None:
    writer, reader = _gcm_pair()
    writer.activate_pending()
    reader.activate_pending()
    wire = writer.seal(23, 0x0303, b"ok")
    with pytest.raises(BadRecordMAC):
        reader.open(Record(23, 0x0303, wire[5:-1] + bytes([wire[-1] ^ 1])))
    with pytest.raises(BadRecordMAC):
        reader.seal(23, 0x0303, b"after failure")
    # assigning the protection directly is honoured by the next seal
    fresh = HalfConnection("server")
    fresh.protection = writer.protection
    assert fresh.seal(23, 0x0303, b"x")[5:13] == bytes(8)  # explicit nonce = seq 0, i.e. GCM, not plaintext
    fresh.protection = NullProtection()
    assert fresh.seal(23, 0x0303, b"x") == bytes.fromhex("1703030001") + b"x"


def test_explicit_iv_hook_is_one_shot_and_ivs_are_random() -> None:
    suite = suites.by_id(0x002F)
    assert suite is not None
    key = os.urandom(16)
    protection = make_protection(suite, 0x0303, os.urandom(20), key, b"")
    assert isinstance(protection, CbcMacThenEncrypt)
    aim_explicit_iv(protection, key, bytes(16))
    first = protection.seal(0, 23, 0x0303, b"a")
    ivs = {protection.seal(seq, 23, 0x0303, b"a")[:16] for seq in range(1, 200)}
    assert first[:16] == bytes(16)
    assert len(ivs) == 199 and bytes(16) not in ivs


def _open_all_by_views(reader: HalfConnection, chunks: list[bytes]) -> list[object]:
    """Reference path: Deframer.next_record_view + HalfConnection.open_fragment; errors recorded and final."""
    deframer, out = Deframer(), []
    try:
        for chunk in chunks:
            deframer.feed(chunk)
            while (view := deframer.next_record_view()) is not None:
                content_type, plaintext = reader.open_fragment(*view)
                out.append((content_type, view[1], plaintext))
    except Exception as exc:
        out.append((type(exc).__name__, str(exc)))
    return out


def _open_all_by_open_next(reader: HalfConnection, chunks: list[bytes]) -> list[object]:
    deframer, out = Deframer(), []
    try:
        for chunk in chunks:
            deframer.feed(chunk)
            while (opened := reader.open_next(deframer)) is not None:
                out.append(opened)
    except Exception as exc:
        out.append((type(exc).__name__, str(exc)))
    return out


@settings(max_examples=80, deadline=None)
@given(
    suite_id=st.sampled_from([0xC02F, 0xCCA8, 0xC013, 0x002F, 0x1301]),
    plaintexts=st.lists(st.tuples(st.sampled_from([21, 22, 23]), st.binary(max_size=300)), max_size=5),
    damage=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(1, 255))),
    cuts=st.lists(st.integers(0, 5000), max_size=6),
    start_seq=st.sampled_from([0, 2**64 - 2]),
)
def test_open_next_equals_view_then_open_fragment(
    suite_id: int, plaintexts: list[tuple[int, bytes]], damage: tuple[int, int] | None, cuts: list[int], start_seq: int
) -> None:
    """open_next is a fused fast path: same records, same errors (header, MAC, sequence, length) as the
    two-step path, for any chunking, tampering and sequence numbers near exhaustion."""
    suite = suites.by_id(suite_id)
    assert suite is not None
    version = 0x0304 if suite_id == 0x1301 else 0x0303
    mac_key = os.urandom(suite.mac_key_length())
    key = os.urandom(suite.cipher.key_length)
    iv = os.urandom(suite.iv_length(version) if suite_id != 0x1301 else 12)
    def state() -> HalfConnection:
        half = HalfConnection("server")
        if suite_id == 0x1301:
            half.activate_tls13(make_tls13_protection(suite, key, iv))
        else:
            half.set_pending(make_protection(suite, 0x0303, mac_key, key, iv))
            half.activate_pending()
        half.seq = start_seq
        return half
    writer = state()
    wire = bytearray()
    for content_type, data in plaintexts:
        try:
            wire += writer.seal(content_type, 0x0303, data)
        except InternalError:
            break
    if damage is not None and wire:
        wire[damage[0] % len(wire)] ^= damage[1]
    points = sorted({c % (len(wire) + 1) for c in cuts})
    chunks = [bytes(wire[a:b]) for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    expected = _open_all_by_views(state(), chunks)
    assert _open_all_by_open_next(state(), chunks) == expected
    if damage is None and len(expected) == len(plaintexts):
        assert [(t, p) for t, _v, p in expected] == plaintexts  # type: ignore[misc]


def test_open_next_errors_are_sticky_and_typed() -> None:
    writer, reader = _gcm_pair()
    for half in (writer, reader):
        half.activate_pending()
    deframer = Deframer()
    assert reader.open_next(deframer) is None
    record = bytearray(writer.seal(23, 0x0303, b"payload"))
    deframer.feed(bytes(record[:7]))
    assert reader.open_next(deframer) is None  # header there, fragment not yet
    record[-1] ^= 1
    deframer.feed(bytes(record[7:]))
    with pytest.raises(BadRecordMAC):
        reader.open_next(deframer)
    deframer.feed(writer.seal(23, 0x0303, b"next"))
    with pytest.raises(BadRecordMAC):  # the state is dead after an integrity failure
        reader.open_next(deframer)
    bad_header = Deframer()
    bad_header.feed(bytes.fromhex("1903030001") + b"x")
    with pytest.raises(UnexpectedMessage):
        _gcm_pair()[1].open_next(bad_header)
    overflow = Deframer(max_fragment_length=100)
    overflow.feed(bytes.fromhex("1703030065") + bytes(101))
    with pytest.raises(RecordOverflow):
        _gcm_pair()[1].open_next(overflow)


ZERO_COPY_SUITES = [0xC02F, 0xC02C, 0xCCA8, 0xC0AC, 0xC0AE, 0xC013, 0x002F, 0x0005, 0x0002, 0x1301, 0x1303, 0x1304]


def _direction(suite_id: int, count: int = 2, version: int = 0x0303) -> list[HalfConnection]:
    """``count`` states of one direction with the same keys and fresh protections (writer, readers...)."""
    suite = suites.by_id(suite_id)
    assert suite is not None
    key = os.urandom(suite.cipher.key_length)
    states = [HalfConnection("client") for _ in range(count)]
    if suite.is_tls13:
        iv = os.urandom(12)
        for half in states:
            half.activate_tls13(make_tls13_protection(suite, key, iv))
        return states
    mac_key, iv = os.urandom(suite.mac_key_length()), os.urandom(suite.iv_length(version))
    for half in states:
        half.set_pending(make_protection(suite, version, mac_key, key, iv))
        half.activate_pending()
    return states


@pytest.mark.parametrize("suite_id", ZERO_COPY_SUITES)
def test_seal_into_writes_the_record_seal_would(suite_id: int) -> None:
    """Two writers with the same keys, one using seal and one seal_into: byte-identical records where
    sealing is deterministic (AEADs, stream, null); with CBC (random explicit IV) the reader opens both."""
    by_seal, by_seal_into, reader = _direction(suite_id, 3)
    deterministic = suite_id not in (0xC013, 0x002F)
    buffer = bytearray(5 + 2**14 + 400)
    for size in (0, 1, 15, 16, 17, 255, 1024, 2**14):
        data = os.urandom(size)
        expected = by_seal.seal(23, 0x0303, data)
        bound = by_seal_into.sealed_size_bound(size)
        length = by_seal_into.seal_into(23, 0x0303, data, memoryview(buffer)[:bound])
        assert length <= bound
        record = bytes(buffer[:length])
        if deterministic:
            assert record == expected
        deframer = Deframer()
        deframer.feed(record)
        assert reader.open_next(deframer) == (23, 0x0303, data)


def test_seal_into_refuses_a_short_buffer_before_changing_state() -> None:
    writer, reader = _direction(0xC02F)
    data = os.urandom(100)
    with pytest.raises(ConfigurationError):
        writer.seal_into(23, 0x0303, data, bytearray(writer.sealed_size_bound(100) - 1))
    assert writer.seq == 0
    out = bytearray(writer.sealed_size_bound(100))
    deframer = Deframer()
    deframer.feed(bytes(out[: writer.seal_into(23, 0x0303, data, out)]))
    assert reader.open_next(deframer) == (23, 0x0303, data)  # sequence number 0 was not used up
    tls13_writer, _ = _direction(0x1301)
    with pytest.raises(ConfigurationError):  # TLS 1.3 adds the inner content type and padding
        tls13_writer.seal_into(23, 0x0303, data, bytearray(5 + 100 + 16), padding=5)


@settings(max_examples=60, deadline=None)
@given(
    suite_id=st.sampled_from(ZERO_COPY_SUITES),
    plaintexts=st.lists(st.tuples(st.sampled_from([21, 22, 23]), st.binary(max_size=600)), max_size=5),
    damage=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(1, 255))),
    cuts=st.lists(st.integers(1, 3000), max_size=6),
)
def test_receive_buffer_and_open_next_into_equal_feed_and_open_next(
    suite_id: int, plaintexts: list[tuple[int, bytes]], damage: tuple[int, int] | None, cuts: list[int]
) -> None:
    """Bytes written into receive_buffer() in any pieces and opened with open_next_into give the same
    records and the same errors as feed() + open_next()."""
    writer, reader, ref_reader = _direction(suite_id, 3)
    wire = bytearray()
    for content_type, data in plaintexts:
        wire += writer.seal(content_type, 0x0303, data)
    if damage is not None and wire:
        wire[damage[0] % len(wire)] ^= damage[1]
    # the reference: a reader with the same keys, fed whole bytes
    expected: list[object] = []
    deframer = Deframer()
    try:
        deframer.feed(bytes(wire))
        while (opened := ref_reader.open_next(deframer)) is not None:
            expected.append(opened)
    except Exception as exc:  # the error is part of what must match
        expected.append((type(exc).__name__, str(exc)))
    got: list[object] = []
    deframer, out = Deframer(), bytearray(2**14 + 256)
    position, pieces = 0, iter(cuts)
    try:
        while position < len(wire):
            size = min(next(pieces, len(wire)), len(wire) - position)
            view = deframer.receive_buffer(size + 7)  # more room than used: received() commits what was written
            view[:size] = wire[position : position + size]
            deframer.received(size)
            position += size
            while (result := reader.open_next_into(deframer, out)) is not None:
                got.append((result[0], result[1], bytes(out[: result[2]])))
    except Exception as exc:
        got.append((type(exc).__name__, str(exc)))
    assert got == expected


@pytest.mark.parametrize("suite_id", [0xC02F, 0xCCA8, 0xC0AC, 0x1301, 0x1303])
def test_open_next_into_wipes_unverified_plaintext(suite_id: int) -> None:
    """pyca decrypt_into writes the plaintext before it checks the tag; a forged record must leave
    nothing of it in the caller's buffer."""
    writer, reader = _direction(suite_id)
    secret = b"attack at dawn " * 40
    record = bytearray(writer.seal(23, 0x0303, secret))
    record[-1] ^= 0x01  # tag only: the ciphertext (and so the unverified plaintext) is intact
    deframer, out = Deframer(), bytearray(b"\xee" * (2**14 + 256))
    deframer.feed(bytes(record))
    with pytest.raises(BadRecordMAC):
        reader.open_next_into(deframer, out)
    assert b"attack" not in out
    assert set(out[len(secret) + 1 :]) == {0xEE}  # nothing beyond the plaintext's room was touched


def test_receive_buffer_contract() -> None:
    deframer = Deframer()
    view = deframer.receive_buffer(10)
    assert len(view) == 10
    with pytest.raises(ConfigurationError):
        deframer.received(11)
    view[:5] = bytes.fromhex("1703030001")
    deframer.received(5)
    with pytest.raises(ConfigurationError):
        deframer.received(1)  # nothing lent any more
    assert deframer.next_record() is None and deframer.buffered == 5
    deframer.feed(b"x")  # feed and receive_buffer mix
    record = deframer.next_record()
    assert record is not None and record.fragment == b"x" and deframer.buffered == 0
    with pytest.raises(ConfigurationError):
        deframer.receive_buffer(0)
    first = deframer.receive_buffer(5 + 3)
    first[:8] = bytes.fromhex("1603030003") + b"abc"
    deframer.received(8)
    kept = deframer.next_record_view()
    assert kept is not None
    again = deframer.receive_buffer(8)  # the buffer is reused from its start
    again[:8] = bytes.fromhex("1603030003") + b"XYZ"
    deframer.received(8)
    assert bytes(kept[2]) == b"abc"  # a view handed out earlier is not changed by later input


def test_receive_buffer_memory_is_bounded_by_what_is_buffered() -> None:
    """A long stream of records through receive_buffer keeps one buffer of about the largest pending size."""
    writer, reader = _direction(0xC02F)
    deframer, out = Deframer(), bytearray(2**14)
    buffers = set()
    for index in range(300):
        data = bytes([index % 256]) * (index * 53 % 2**14)
        bound = writer.sealed_size_bound(len(data))
        view = deframer.receive_buffer(bound)
        deframer.received(writer.seal_into(23, 0x0303, data, view))
        buffers.add(id(deframer.buffer))
        opened = reader.open_next_into(deframer, out)
        assert opened is not None and bytes(out[: opened[2]]) == data
    assert len(deframer.buffer) <= 2 * (5 + 2**14 + 2048)
    assert len(buffers) < 10
