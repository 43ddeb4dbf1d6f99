"""Hostile and unusual clients against a real ``tlsstate serve`` process: negotiation rules (issue 12).

* secp521r1 and x448 ECDHE shares (RFC 8422 §5.11, RFC 7748 §5-§6): empty, short, long, off the curve, of
  small order; the well-formed ones complete a handshake.

Each expected alert is the one tests/hostile/cases.py (and so the README alert table) names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tlsstate.crypto.certs import generate_self_signed, write_pem_files
from tlsstate.wire.constants import AlertDescription, NamedGroup

from .cases import ACCEPTED, SERVER_CASES
from .peer import ScriptedPeer, ServeProcess
from .test_serve_hostile import config, replace_cke, run_tampered

EXPECTED = {case_id: alert for case_id, _, alert in SERVER_CASES}
SERVER_SUITES = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                 "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_GCM_SHA384"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``serve`` with its default groups (x25519, P-256, P-384, P-521, x448)."""
    folder = tmp_path_factory.mktemp("negotiation-pki")
    cert, key = generate_self_signed(["localhost", "127.0.0.1"], "rsa2048")
    write_pem_files(cert, key, folder / "c.pem", folder / "k.pem")
    proc = ServeProcess(["--cert", str(folder / "c.pem"), "--key", str(folder / "k.pem"),
                         "--versions", "tls1.0-tls1.2", "--ciphers", ",".join(SERVER_SUITES),
                         "--timeout", "5", "--handshake-timeout", "10"])
    try:
        yield proc
    finally:
        proc.stop()


def answer_of(peer: ScriptedPeer) -> str:
    """ACCEPTED, or the label of the fatal alert the server sent (and then it closed)."""
    if peer.outcome.handshake_complete and peer.outcome.alert is None:
        return ACCEPTED
    if peer.outcome.alert is None:
        return f"no alert: {peer.outcome}"
    assert peer.outcome.closed, "no close after a fatal alert"
    return AlertDescription(peer.outcome.alert).label


def handshake_only(server: ServeProcess, cfg: object) -> ScriptedPeer:
    with server.connect() as sock:
        peer = ScriptedPeer(sock, cfg, server_side=False)  # type: ignore[arg-type]
        peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
        peer.conn.send_data(b"ping")
        peer.flush()
        peer.run(until=lambda o: o.received_plaintext == b"ping" or o.alert is not None, max_steps=20)
    return peer


# ---------------------------------------------------------------- secp521r1 and x448 (RFC 8422 §5.11, RFC 7748)

P448 = 2**448 - 2**224 - 1
P521_FIELD = 2**521 - 1
#: x448 ClientKeyExchange bodies (ECPoint: a one-byte length, then the u-coordinate, little-endian).
X448_SHARES: dict[str, tuple[str, bytes]] = {
    "empty": ("ecdhe-empty-share", b"\x00"),
    "short-55": ("ecdhe-x448-bad-length", bytes([55]) + b"\x05" * 55),
    "long-57": ("ecdhe-x448-bad-length", bytes([57]) + b"\x05" * 57),
    **{name: ("ecdhe-x448-low-order", bytes([56]) + u.to_bytes(56, "little"))
       for name, u in {"0": 0, "1": 1, "p-1": P448 - 1, "p": P448, "p+1": P448 + 1}.items()},
}
#: secp521r1 ClientKeyExchange bodies: the uncompressed point 04||X||Y is 133 bytes (RFC 8422 §5.4.1).
P521_SHARES: dict[str, tuple[str, bytes]] = {
    "off-curve": ("ecdhe-secp521r1-invalid-point", bytes([133, 4]) + (1).to_bytes(66, "big") * 2),
    "x-beyond-field": ("ecdhe-secp521r1-invalid-point", bytes([133, 4]) + (P521_FIELD + 1).to_bytes(66, "big") * 2),
    "short-132": ("ecdhe-secp521r1-invalid-point", bytes([132, 4]) + b"\x01" * 131),
    "long-134": ("ecdhe-secp521r1-invalid-point", bytes([134, 4]) + b"\x01" * 133),
    "compressed": ("ecdhe-secp521r1-invalid-point", bytes([67, 2]) + b"\x01" * 66),
    "empty": ("ecdhe-empty-share", b"\x00"),
}


def ecdhe_config(group: NamedGroup, version: int = 0x0303) -> object:
    suite = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" if version == 0x0303 else "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
    return config(suite, version, groups=[group])


@pytest.mark.parametrize("name", sorted(X448_SHARES))
def test_x448_share(server: ServeProcess, name: str) -> None:
    """A bad x448 share: empty (the ECPoint vector is <1..2^8-1>: decode_error), 55 or 57 bytes (RFC 7748 §5:
    exactly 56) or of small order, whose shared secret is all zeros (RFC 8422 §5.11): illegal_parameter."""
    case, body = X448_SHARES[name]
    peer = run_tampered(server, ecdhe_config(NamedGroup.X448), replace_cke(body))  # type: ignore[arg-type]
    assert answer_of(peer) == EXPECTED[case], peer.outcome


@pytest.mark.parametrize("name", sorted(P521_SHARES))
def test_secp521r1_share(server: ServeProcess, name: str) -> None:
    """A bad secp521r1 point: not on the curve, a coordinate beyond the field, a wrong length or compressed
    (RFC 8422 §5.11; uncompressed only, §5.1.2): illegal_parameter; empty: decode_error."""
    case, body = P521_SHARES[name]
    peer = run_tampered(server, ecdhe_config(NamedGroup.SECP521R1), replace_cke(body))  # type: ignore[arg-type]
    assert answer_of(peer) == EXPECTED[case], peer.outcome


@pytest.mark.parametrize("version", [0x0301, 0x0302, 0x0303])
@pytest.mark.parametrize("group", [NamedGroup.X448, NamedGroup.SECP521R1], ids=["x448", "secp521r1"])
def test_x448_and_secp521r1_handshakes(server: ServeProcess, group: NamedGroup, version: int) -> None:
    """The server picks the only group offered and echoes application data."""
    peer = handshake_only(server, ecdhe_config(group, version))
    assert answer_of(peer) == EXPECTED["ecdhe-x448-secp521r1"], peer.outcome
    assert peer.conn.handshake_info is not None and peer.conn.handshake_info.key_exchange_group == group
    assert peer.outcome.received_plaintext == b"ping"
