"""The running transcript hash equals hashing the whole transcript (prf.session_hash, RFC 7627 §3)."""

from __future__ import annotations

import os

import pytest

from tlsstate.crypto import prf
from tlsstate.handshake.transcript import Transcript
from tlsstate.wire.constants import ProtocolVersion


@pytest.mark.parametrize(
    ("version", "prf_hash"),
    [(ProtocolVersion.TLS1_0, "sha256"), (ProtocolVersion.TLS1_1, "sha256"),
     (ProtocolVersion.TLS1_2, "sha256"), (ProtocolVersion.TLS1_2, "sha384")],
)
def test_running_hash_matches_hashing_everything(version: ProtocolVersion, prf_hash: str) -> None:
    messages = [os.urandom(n) for n in (70, 1200, 4, 300, 16)]
    transcript = Transcript()
    transcript.add(messages[0])
    transcript.use_hash(version, prf_hash)  # chosen after the first message, as after ServerHello
    seen = messages[0]
    assert transcript.digest() == prf.session_hash(version, prf_hash, seen)
    for message in messages[1:]:
        transcript.add(message)
        seen += message
        assert transcript.digest() == prf.session_hash(version, prf_hash, seen)
        assert transcript.finished_basis() == transcript.digest()
    assert transcript.data == seen and len(transcript) == len(seen)


def test_ssl3_keeps_the_bytes() -> None:
    transcript = Transcript()
    transcript.add(b"hello")
    transcript.use_hash(ProtocolVersion.SSL3, "sha256")
    transcript.add(b" world")
    assert transcript.finished_basis() == b"hello world"


def test_hash_before_choice_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        Transcript().digest()
