"""Property tests (hypothesis) for every protection family and version, through HalfConnection.

Round trip of random plaintexts 0..2^14; any flipped byte → BadRecordMAC; reflection (a client-written
record opened with the server's keys) → BadRecordMAC; replay and reordering → BadRecordMAC; the two
directions use different keys; a failed state stays dead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsstate.crypto import suites
from tlsstate.record import Deframer, HalfConnection, Record
from tlsstate.record.protection import RecordProtection, make_protection, make_tls13_protection
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import BadRecordMAC

SSL3, TLS10, TLS11, TLS12, TLS13 = (
    ProtocolVersion.SSL3, ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3
)


@dataclass(frozen=True)
class Config:
    suite_id: int
    version: ProtocolVersion
    etm: bool = False

    @property
    def id(self) -> str:
        suite = suites.by_id(self.suite_id)
        assert suite is not None
        return f"{suite.openssl_name}-{self.version.cli_name}{'-etm' if self.etm else ''}"


CONFIGS = [
    Config(0x0001, TLS12), Config(0x0002, SSL3), Config(0x0002, TLS10), Config(0x003B, TLS12), Config(0xC03B, TLS12),
    Config(0x0004, SSL3), Config(0x0004, TLS12), Config(0x0005, SSL3), Config(0x0005, TLS10),
    Config(0x000A, SSL3), Config(0x000A, TLS10), Config(0x000A, TLS11), Config(0x000A, TLS12), Config(0x000A, TLS12, True),
    Config(0x002F, SSL3), Config(0x002F, TLS10), Config(0x002F, TLS11), Config(0x002F, TLS12),
    Config(0x002F, TLS10, True), Config(0x002F, TLS11, True), Config(0x002F, TLS12, True),
    Config(0x0035, TLS12), Config(0x003C, TLS12), Config(0x003C, TLS12, True),
    Config(0xC028, TLS12), Config(0xC028, TLS12, True),
    Config(0x009C, TLS12), Config(0x009D, TLS12), Config(0xC09C, TLS12), Config(0xC09D, TLS12),
    Config(0xC0A0, TLS12), Config(0xC0A1, TLS12), Config(0xCCA8, TLS12),
    Config(0x1301, TLS13), Config(0x1302, TLS13), Config(0x1303, TLS13), Config(0x1304, TLS13), Config(0x1305, TLS13),
]
IDS = [c.id for c in CONFIGS]


@dataclass
class Keys:
    """Random key material for both directions of one connection."""

    config: Config
    material: dict[str, tuple[bytes, bytes, bytes]]

    @classmethod
    def random(cls, config: Config) -> Keys:
        suite = suites.by_id(config.suite_id)
        assert suite is not None
        if config.version == TLS13:
            lengths = (0, suite.cipher.key_length, 12)
        else:
            lengths = (suite.mac_key_length(), suite.cipher.key_length, suite.iv_length(config.version))
        material = {who: tuple(os.urandom(n) for n in lengths) for who in ("client", "server")}
        return cls(config, material)  # type: ignore[arg-type]

    def protection(self, writer: str) -> RecordProtection:
        suite = suites.by_id(self.config.suite_id)
        assert suite is not None
        mac_key, key, iv = self.material[writer]
        if self.config.version == TLS13:
            return make_tls13_protection(suite, key, iv)
        return make_protection(suite, self.config.version, mac_key, key, iv, encrypt_then_mac=self.config.etm)

    def state(self, writer: str, *, keys_of: str | None = None) -> HalfConnection:
        """A HalfConnection for ``writer``'s direction protected with ``keys_of``'s keys (default: its own)."""
        state = HalfConnection(writer)
        protection = self.protection(keys_of or writer)
        if self.config.version == TLS13:
            state.activate_tls13(protection)
        else:
            state.set_pending(protection)
            state.activate_pending()
        return state


def _record(wire: bytes) -> Record:
    deframer = Deframer()
    deframer.feed(wire)
    record = deframer.next_record()
    assert record is not None and deframer.buffered == 0
    return record


def _seal(state: HalfConnection, config: Config, plaintext: bytes, content_type: int = 23) -> Record:
    return _record(state.seal(content_type, int(min(config.version, TLS12)), plaintext))


plaintexts = st.lists(st.binary(max_size=2**14), min_size=1, max_size=3)
FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@FAST
@given(data=plaintexts, content_type=st.sampled_from([21, 22, 23]))
def test_round_trip(config: Config, data: list[bytes], content_type: int) -> None:
    keys = Keys.random(config)
    for writer in ("client", "server"):
        sender, receiver = keys.state(writer), keys.state(writer)
        for plaintext in data:
            record = _seal(sender, config, plaintext, content_type)
            assert receiver.open(record) == (content_type, plaintext)
        assert sender.seq == receiver.seq == len(data)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@FAST
@given(plaintext=st.binary(max_size=300), where=st.integers(min_value=0), mask=st.integers(1, 255))
def test_flipped_byte_fails(config: Config, plaintext: bytes, where: int, mask: int) -> None:
    keys = Keys.random(config)
    record = _seal(keys.state("client"), config, plaintext)
    # any fragment byte, or (where the MAC/AAD covers it; SSL 3.0's MAC has no version) the version
    positions = len(record.fragment) + (0 if config.version == SSL3 else 1)
    where %= positions
    fragment, version = bytearray(record.fragment), record.version
    if where < len(fragment):
        fragment[where] ^= mask
    else:
        others = [v for v in range(0x0300, 0x0305) if v != record.version]
        version = others[mask % len(others)]
    receiver = keys.state("client")
    with pytest.raises(BadRecordMAC):
        receiver.open(Record(record.content_type, version, bytes(fragment)))
    with pytest.raises(BadRecordMAC):  # dead after the failure, even for a good record
        receiver.open(record)


LEGACY = [c for c in CONFIGS if c.version != TLS13]


@pytest.mark.parametrize("config", LEGACY, ids=[c.id for c in LEGACY])
@FAST
@given(plaintext=st.binary(max_size=300), content_type=st.sampled_from([20, 21, 22, 23]))
def test_changed_content_type_fails(config: Config, plaintext: bytes, content_type: int) -> None:
    keys = Keys.random(config)
    record = _seal(keys.state("client"), config, plaintext, 23 if content_type != 23 else 22)
    with pytest.raises(BadRecordMAC):
        keys.state("client").open(Record(content_type, record.version, record.fragment))


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@FAST
@given(plaintext=st.binary(max_size=2000))
def test_reflection_fails(config: Config, plaintext: bytes) -> None:
    keys = Keys.random(config)
    record = _seal(keys.state("client"), config, plaintext)
    # the client's own read state is protected with the SERVER's write keys
    with pytest.raises(BadRecordMAC):
        keys.state("server").open(record)
    # and the two directions never produce the same bytes
    assert _seal(keys.state("server"), config, plaintext).fragment != record.fragment


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@FAST
@given(first=st.binary(max_size=500), second=st.binary(max_size=500))
def test_replay_and_reorder_fail(config: Config, first: bytes, second: bytes) -> None:
    keys = Keys.random(config)
    sender = keys.state("server")
    record0, record1 = _seal(sender, config, first), _seal(sender, config, second)
    replay = keys.state("server")
    assert replay.open(record0)[1] == first
    with pytest.raises(BadRecordMAC):
        replay.open(record0)
    reorder = keys.state("server")
    with pytest.raises(BadRecordMAC):
        reorder.open(record1)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_truncated_and_empty_fragments_fail(config: Config) -> None:
    keys = Keys.random(config)
    record = _seal(keys.state("client"), config, b"x" * 40)
    for length in (0, 1, len(record.fragment) // 2, len(record.fragment) - 1):
        with pytest.raises(BadRecordMAC):
            keys.state("client").open(Record(record.content_type, record.version, record.fragment[:length]))
    assert keys.material["client"] != keys.material["server"]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@FAST
@given(fragment=st.binary(max_size=2**14 + 2048), content_type=st.sampled_from([21, 22, 23]))
def test_arbitrary_fragments_raise_only_bad_record_mac(config: Config, fragment: bytes, content_type: int) -> None:
    keys = Keys.random(config)
    state = keys.state("client")
    outer_type = 23 if config.version == TLS13 else content_type
    with pytest.raises(BadRecordMAC):
        state.open(Record(outer_type, int(min(config.version, TLS12)), fragment))
