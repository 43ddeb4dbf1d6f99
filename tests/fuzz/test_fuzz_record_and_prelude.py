"""Property tests for the targets of the parsers that landed with issues 12-13 (fuzz/targets.py): ServerKeyExchange /
ClientKeyExchange in every form (``key_exchange``), the compact hello sequences (``hello_sequences``), DEFLATE records
(``compression``), the STARTTLS prelude finder (``starttls``) and ClientHellos up to 131,396 bytes (``large_hello``).
Their seeds must be meaningful (they reach the code they are for) and the targets must not swallow a planted bug;
then mutated seeds and arbitrary bytes. The capture_tools target: tests/fuzz/test_fuzz_capture_tools.py."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import corpus, targets
from fuzz.strategies import mutated
from tlsstate.capture.starttls import find_hello
from tlsstate.connection import Connection
from tlsstate.record.compression import Decompressor
from tlsstate.wire import messages
from tlsstate.wire.constants import KeyExchange
from tlsstate.wire.errors import DecompressionFailure, ProtocolError

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def _kx(seed: bytes) -> KeyExchange:
    return list(KeyExchange)[seed[1] % len(KeyExchange)]


def test_key_exchange_seeds_parse_in_the_new_forms() -> None:
    parsed: set[tuple[str, KeyExchange]] = set()
    for seed in corpus.seeds("key_exchange"):
        version = targets.MESSAGE_VERSIONS[seed[0] % len(targets.MESSAGE_VERSIONS)]
        for cls in (messages.ServerKeyExchange, messages.ClientKeyExchange):
            try:
                cls.parse(seed[2:], version, _kx(seed))
            except ProtocolError:
                continue
            parsed.add((cls.__name__, _kx(seed)))
    for kx in (KeyExchange.DH_ANON, KeyExchange.ECDH_ANON, KeyExchange.RSA_EXPORT, KeyExchange.SRP_SHA,
               KeyExchange.SRP_SHA_RSA, KeyExchange.DHE_RSA, KeyExchange.ECDHE_RSA):
        assert ("ServerKeyExchange", kx) in parsed, kx
    for kx in (KeyExchange.RSA, KeyExchange.SRP_SHA, KeyExchange.DH_RSA, KeyExchange.ECDH_RSA, KeyExchange.ECDHE_ECDSA):
        assert ("ClientKeyExchange", kx) in parsed, kx


def test_key_exchange_target_sees_a_changed_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that drops a byte of what it read is caught by the parse -> serialize check."""
    real = messages.ClientKeyExchange.serialize
    monkeypatch.setattr(messages.ClientKeyExchange, "serialize", lambda self, version=None: real(self, version)[:-1])
    seed = bytes([3, list(KeyExchange).index(KeyExchange.SRP_SHA)]) + b"\x00\x02\x01\x02"  # TLS 1.2, SRP A = 0x0102
    with pytest.raises(targets.FuzzBug, match="serializes to other bytes"):
        targets.fuzz_key_exchange(seed)


def test_hello_sequence_seeds_have_suites_and_extensions() -> None:
    seeds = corpus.seeds("hello_sequences")
    hellos = [messages.ClientHello.parse(s[1:]) for s in seeds if s[0] == 0]
    assert sum(bool(h.extensions) for h in hellos) >= 5
    assert any(s[0] == 1 for s in seeds)


def test_compression_seeds_inflate_across_records_and_the_bomb_stops() -> None:
    [many, split, bomb, over, *_] = corpus.seeds("compression")
    one, other = Decompressor(), Decompressor()
    out = b"".join(one.decompress(r) for r in targets.compression_records(split))
    assert out == b"".join(other.decompress(r) for r in targets.compression_records(many)) and len(out) > 20000
    with pytest.raises(DecompressionFailure):
        Decompressor().decompress(targets.compression_records(bomb)[0])
    with pytest.raises(DecompressionFailure):
        Decompressor().decompress(targets.compression_records(over)[0])


def test_compression_target_sees_lost_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Decompressor.decompress
    monkeypatch.setattr(Decompressor, "decompress", lambda self, fragment: real(self, fragment)[1:])
    with pytest.raises(targets.FuzzBug, match="joined stream"):
        targets.fuzz_compression(corpus.seeds("compression")[0])


def test_starttls_seeds_find_the_hello_after_a_prelude() -> None:
    found = [find_hello(s[2:], bool(s[0] & 1), s[0] >> 1) for s in corpus.seeds("starttls")]
    assert sum(pos > 0 for pos in found) >= 8


def test_large_hello_seeds_are_answered() -> None:
    answered = 0
    for seed in corpus.seeds("large_hello"):
        expanded = targets.large_client_hello(seed)
        assert expanded is not None
        config, stream = expanded
        conn = Connection(targets.server_configs()[config](), server_side=True)
        try:
            conn.receive_bytes(stream)
            while conn.next_event() is not None:
                pass
        except ProtocolError:
            continue
        answered += bool(conn.bytes_to_send())
    assert answered >= 3
    assert len(targets.large_client_hello(corpus.seeds("large_hello")[0])[1]) > 131000  # type: ignore[index]


@pytest.mark.parametrize("name", ["key_exchange", "hello_sequences", "compression", "starttls", "large_hello"])
def test_every_seed_passes(name: str) -> None:
    for seed in corpus.seeds(name):
        targets.TARGETS[name](seed)


@SETTINGS
@given(st.one_of(mutated(corpus.seeds("key_exchange")), st.binary(max_size=300)))
def test_key_exchange_on_mutated_seeds(data: bytes) -> None:
    targets.fuzz_key_exchange(data)


@SETTINGS
@given(st.one_of(mutated(corpus.seeds("hello_sequences")), st.binary(max_size=300)))
def test_hello_sequences_on_mutated_seeds(data: bytes) -> None:
    targets.fuzz_hello_sequences(data)


@SETTINGS
@given(st.one_of(mutated(corpus.seeds("compression")), st.binary(max_size=300)),
       st.lists(st.binary(max_size=2000).map(zlib.compress), max_size=3))
def test_compression_on_mutated_seeds(data: bytes, streams: list[bytes]) -> None:
    targets.fuzz_compression(data + b"".join(len(s).to_bytes(2, "big") + s for s in streams))


@SETTINGS
@given(st.one_of(mutated(corpus.seeds("starttls")), st.binary(max_size=300)))
def test_starttls_on_mutated_seeds(data: bytes) -> None:
    targets.fuzz_starttls(data)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated(corpus.seeds("large_hello")))
def test_large_hello_on_mutated_seeds(data: bytes) -> None:
    targets.fuzz_large_hello(data)
