"""Property tests (issue 5, item 2): real handshake bytes from captures and live handshakes, mutated, into
every handshake message parser under every ParseContext, every extension parser, the SSLv2-format
ClientHello parser, the record Deframer and the key log parser. Any outcome other than success or a typed
tlsstate error is a bug (the checks live in fuzz/targets.py, shared with the atheris run).

Arbitrary-bytes fuzzing of the same parsers is in test_messages_fuzz.py (messages engineer); these start
from real bytes so that examples get past the fixed headers.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import corpus, targets
from fuzz.strategies import mutated
from tlsstate.wire import messages
from tlsstate.wire.errors import ProtocolError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_seed_corpora_are_real_protocol_bytes() -> None:
    """The seeds reach past the headers: most captured/live messages parse in their context."""
    parsed = 0
    for seed in corpus.seeds("message"):
        ctx = targets.MESSAGE_CONTEXTS[seed[0]]
        try:
            messages.parse_message(messages.RawHandshake(seed[1], seed[5:], seed[1:]), ctx)
            parsed += 1
        except ProtocolError:
            pass
    assert parsed > len(corpus.seeds("message")) // 3
    hello_types = {seed[1] for seed in corpus.seeds("message")}
    assert {1, 2, 11, 12, 14, 16} <= hello_types  # hellos, Certificate, SKE, SHD, CKE from real peers
    assert corpus.seeds("sslv2") and corpus.seeds("sslv2")[0][0] & 0x80
    assert len(corpus.seeds("extension")) >= 10


@SETTINGS
@given(mutated(corpus.seeds("message")))
def test_mutated_handshake_messages(data: bytes) -> None:
    targets.fuzz_message(data)


@SETTINGS
@given(mutated(corpus.seeds("extension")))
def test_mutated_extensions(data: bytes) -> None:
    targets.fuzz_extension(data)


@SETTINGS
@given(st.one_of(mutated(corpus.seeds("sslv2"), max_edits=6), st.binary(max_size=120)))
def test_mutated_sslv2_client_hello(data: bytes) -> None:
    targets.fuzz_sslv2(data)


@settings(max_examples=150, deadline=None)
@given(st.one_of(mutated([s[:3000] for s in corpus.seeds("deframer")]), st.binary(max_size=600)))
def test_deframer_any_bytes_any_chunking(data: bytes) -> None:
    """Typed errors only, same records and same error for any chunking, never more than one record buffered."""
    targets.fuzz_deframer(data)


@SETTINGS
@given(st.one_of(mutated(corpus.seeds("keylog"), max_edits=6), st.binary(max_size=300)))
def test_keylog_parser(data: bytes) -> None:
    targets.fuzz_keylog(data)


def test_targets_do_not_swallow_bugs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-tlsstate exception inside a parser escapes the target (so the fuzzers would report it)."""
    def broken(*args: object) -> None:
        raise IndexError("planted bug")

    monkeypatch.setattr(messages, "parse_message", broken)
    with pytest.raises(IndexError, match="planted"):
        targets.fuzz_message(corpus.seeds("message")[0])
