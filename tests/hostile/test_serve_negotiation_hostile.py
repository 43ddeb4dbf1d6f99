"""Hostile and unusual clients against a real ``tlsstate serve`` process: negotiation rules (issue 12).

* secp521r1 and x448 ECDHE shares (RFC 8422 §5.11, RFC 7748 §5-§6): empty, short, long, off the curve, of
  small order; the well-formed ones complete a handshake.
* Cipher suite choice (RFC 5246 §7.4.1.2-§7.4.1.3): the client's order by default, as ``openssl s_server``;
  ours with ``--server-cipher-order``.
* Resumption (RFC 5246 §7.4.1.2, RFC 5077 §3.4): a hello resuming a session without offering its suite is
  illegal_parameter; an unknown session or another version gives a full handshake.
* ALPN (RFC 7301 §3.2): a server configured with protocols, none of which the client offers, answers with the
  fatal no_application_protocol, in a full and in an abbreviated handshake.
* Alert and empty-record floods (CVE-2016-8610): the fifth warning alert in a row, or the 33rd empty record in
  a row, without progress, is unexpected_message; fewer, or with progress in between, are accepted.
* 1/n-1 record splitting (BEAST): in SSL 3.0 and TLS 1.0 with CBC the echo of each write comes as a record of
  one byte, then the rest; not in TLS 1.1+, with RC4, or with ``--no-record-splitting``.

Each expected alert is the one tests/hostile/cases.py (and so the README alert table) names.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import generate_self_signed, write_pem_files
from tlsstate.record.deframer import Deframer
from tlsstate.sessions.cache import Session, SessionStore
from tlsstate.wire.constants import AlertDescription, NamedGroup

from .cases import ACCEPTED, SERVER_CASES
from .peer import ALERT, APPDATA, HANDSHAKE, ScriptedPeer, ServeProcess, record
from .test_serve_hostile import base_extensions, client_hello, config, ext, replace_cke, run_tampered, server_answer

EXPECTED = {case_id: alert for case_id, _, alert in SERVER_CASES}
SERVER_SUITES = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                 "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_GCM_SHA384"]


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("negotiation-pki")
    cert, key = generate_self_signed(["localhost", "127.0.0.1"], "rsa2048")
    write_pem_files(cert, key, folder / "c.pem", folder / "k.pem")
    return ["--cert", str(folder / "c.pem"), "--key", str(folder / "k.pem")]


def start_serve(identity: list[str], *extra: str) -> ServeProcess:
    return ServeProcess([*identity, "--versions", "tls1.0-tls1.2", "--ciphers", ",".join(SERVER_SUITES),
                         "--timeout", "5", "--handshake-timeout", "10", *extra])


@pytest.fixture(scope="module")
def server(identity: list[str]) -> Iterator[ServeProcess]:
    """``serve`` with its default groups (x25519, P-256, P-384, P-521, x448) and cipher order (the client's)."""
    proc = start_serve(identity)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def server_order(identity: list[str]) -> Iterator[ServeProcess]:
    """``serve --server-cipher-order``."""
    proc = start_serve(identity, "--server-cipher-order")
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


def handshake_only(server: ServeProcess, cfg: TLSConfig) -> ScriptedPeer:
    with server.connect() as sock:
        peer = ScriptedPeer(sock, cfg, server_side=False)
        peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
        if not peer.outcome.handshake_complete:
            peer.drain(3)
            return peer
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


def ecdhe_config(group: NamedGroup, version: int = 0x0303) -> TLSConfig:
    suite = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" if version == 0x0303 else "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
    return config(suite, version, groups=[group])


@pytest.mark.parametrize("name", sorted(X448_SHARES))
def test_x448_share(server: ServeProcess, name: str) -> None:
    """A bad x448 share: empty (the ECPoint vector is <1..2^8-1>: decode_error), 55 or 57 bytes (RFC 7748 §5:
    exactly 56) or of small order, whose shared secret is all zeros (RFC 8422 §5.11): illegal_parameter."""
    case, body = X448_SHARES[name]
    peer = run_tampered(server, ecdhe_config(NamedGroup.X448), replace_cke(body))
    assert answer_of(peer) == EXPECTED[case], peer.outcome


@pytest.mark.parametrize("name", sorted(P521_SHARES))
def test_secp521r1_share(server: ServeProcess, name: str) -> None:
    """A bad secp521r1 point: not on the curve, a coordinate beyond the field, a wrong length or compressed
    (RFC 8422 §5.11; uncompressed only, §5.1.2): illegal_parameter; empty: decode_error."""
    case, body = P521_SHARES[name]
    peer = run_tampered(server, ecdhe_config(NamedGroup.SECP521R1), replace_cke(body))
    assert answer_of(peer) == EXPECTED[case], peer.outcome


@pytest.mark.parametrize("version", [0x0301, 0x0302, 0x0303])
@pytest.mark.parametrize("group", [NamedGroup.X448, NamedGroup.SECP521R1], ids=["x448", "secp521r1"])
def test_x448_and_secp521r1_handshakes(server: ServeProcess, group: NamedGroup, version: int) -> None:
    """The server picks the only group offered and echoes application data."""
    peer = handshake_only(server, ecdhe_config(group, version))
    assert answer_of(peer) == EXPECTED["ecdhe-x448-secp521r1"], peer.outcome
    assert peer.conn.handshake_info is not None and peer.conn.handshake_info.key_exchange_group == group
    assert peer.outcome.received_plaintext == b"ping"


# ---------------------------------------------------------------- cipher suite order (RFC 5246 §7.4.1.2)

RSA_AES256_GCM, RSA_AES128_CBC, ECDHE_AES128_GCM, ECDHE_ECDSA_AES128_GCM = 0x009D, 0x002F, 0xC02F, 0xC02B
ECDHE_AES128_CBC_SHA = 0xC013
TLS13_AES128_GCM, UNKNOWN = 0x1301, 0xFAFA


def chosen_suite(server: ServeProcess, hello: bytes) -> int | str:
    """The cipher suite of the ServerHello answering ``hello``, or 'alert:<label>'."""
    answer = server_hello_of(server, hello)
    return answer if isinstance(answer, str) else answer[1]


def server_hello_of(server: ServeProcess, hello: bytes) -> tuple[bytes, int] | str:
    """(session_id, cipher suite) of the ServerHello answering ``hello``, or 'alert:<label>'."""
    with server.connect(timeout=5) as sock:
        sock.sendall(hello)
        got = b""
        try:
            while len(got) < 5 or len(got) < 5 + struct.unpack(">H", got[3:5])[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    if len(got) >= 7 and got[0] == 21:
        return f"alert:{AlertDescription(got[6]).label}"
    assert got[0] == HANDSHAKE and got[5] == 2, got[:16].hex()
    session_id_length = got[5 + 4 + 2 + 32]
    offset = 5 + 4 + 2 + 32 + 1 + session_id_length
    return got[offset - session_id_length:offset], int(struct.unpack(">H", got[offset:offset + 2])[0])


def hello_offering(*suites: int) -> bytes:
    return client_hello(suites=b"".join(struct.pack(">H", suite) for suite in suites), extensions=base_extensions())


ORDER_CASES: dict[str, tuple[tuple[int, ...], int, int]] = {  # client's list -> (default pick, --server-cipher-order)
    "our-last-first": ((RSA_AES256_GCM, ECDHE_AES128_GCM, RSA_AES128_CBC), RSA_AES256_GCM, ECDHE_AES128_GCM),
    "rsa-cbc-first": ((RSA_AES128_CBC, RSA_AES256_GCM, ECDHE_AES128_GCM), RSA_AES128_CBC, ECDHE_AES128_GCM),
    "unknown-first": ((UNKNOWN, TLS13_AES128_GCM, RSA_AES256_GCM, ECDHE_AES128_GCM), RSA_AES256_GCM, ECDHE_AES128_GCM),
    "unusable-first": ((ECDHE_ECDSA_AES128_GCM, RSA_AES128_CBC, ECDHE_AES128_GCM), RSA_AES128_CBC, ECDHE_AES128_GCM),
    "listed-twice": ((RSA_AES128_CBC, RSA_AES128_CBC, ECDHE_AES128_GCM), RSA_AES128_CBC, ECDHE_AES128_GCM),
}


@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_client_cipher_order_by_default(server: ServeProcess, name: str) -> None:
    """The first suite of the client's list that we support and can run (an ECDSA suite cannot run with our RSA
    certificate), as ``openssl s_server`` does; unknown and TLS 1.3 code points are skipped."""
    offered, default_pick, _ = ORDER_CASES[name]
    assert EXPECTED["cipher-order-client"] == ACCEPTED
    assert chosen_suite(server, hello_offering(*offered)) == default_pick


@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_server_cipher_order_option(server_order: ServeProcess, name: str) -> None:
    """``--server-cipher-order``: the first of our --ciphers the client offers, whatever its order."""
    offered, _, server_pick = ORDER_CASES[name]
    assert EXPECTED["cipher-order-server"] == ACCEPTED
    assert chosen_suite(server_order, hello_offering(*offered)) == server_pick


# ---------------------------------------------------------------- resumption (RFC 5246 §7.4.1.2, RFC 5077 §3.4)

EMS, SESSION_TICKET = ext(23, b""), 35


def established_session(server: ServeProcess, suite: str = "TLS_RSA_WITH_AES_128_CBC_SHA") -> Session:
    """A full handshake (TLS 1.2, EMS) whose session (ID and ticket) the server now holds."""
    store = SessionStore()
    peer = handshake_only(server, config(suite, session_store=store))
    assert answer_of(peer) == ACCEPTED, peer.outcome
    session = store.lookup("localhost")
    assert session is not None and session.session_id and session.ticket
    return session


def resuming_hello(session: Session, suites: tuple[int, ...], *, version: int = 0x0303, by: str = "id",
                   session_id: bytes | None = None, extra: tuple[bytes, ...] = ()) -> bytes:
    """A raw ClientHello offering ``session`` by its ID or by its ticket (with a fresh session ID, RFC 5077 §3.4)."""
    extensions = [*base_extensions(), EMS, *extra]
    if by == "ticket":
        extensions.append(ext(SESSION_TICKET, session.ticket))
        sid = session_id if session_id is not None else b"\x77" * 32
    else:
        sid = session_id if session_id is not None else session.session_id
    return client_hello(version=version, session_id=sid, extensions=extensions,
                        suites=b"".join(struct.pack(">H", suite) for suite in suites))


@pytest.mark.parametrize("by", ["id", "ticket"])
def test_resumption_without_the_session_suite(server: ServeProcess, by: str) -> None:
    """The hello asks to resume an AES128-SHA session but offers only other suites: illegal_parameter (the
    client broke a MUST of RFC 5246 §7.4.1.2), not a full handshake and not handshake_failure."""
    session = established_session(server)
    assert session.cipher_suite == RSA_AES128_CBC
    answer = server_hello_of(server, resuming_hello(session, (RSA_AES256_GCM, ECDHE_AES128_GCM), by=by))
    expected = EXPECTED["resume-without-session-suite"]
    assert answer == f"alert:{expected}"


@pytest.mark.parametrize("by", ["id", "ticket"])
def test_resumption_with_the_session_suite(server: ServeProcess, by: str) -> None:
    """Control: the same hello also offering the session's suite (not first) resumes it."""
    session = established_session(server)
    answer = server_hello_of(server, resuming_hello(session, (RSA_AES256_GCM, RSA_AES128_CBC), by=by))
    sent_id = session.session_id if by == "id" else b"\x77" * 32
    assert answer == (sent_id, RSA_AES128_CBC)
    assert EXPECTED["resume-session-suite-offered"] == ACCEPTED


RESUME_FULL = {  # hellos that cannot resume for a reason the client did not break a rule for: a full handshake
    "unknown-session-id": {"session_id": b"\x55" * 32},
    "other-version": {"version": 0x0302},
}


@pytest.mark.parametrize("name", sorted(RESUME_FULL))
def test_resumption_impossible_is_a_full_handshake(server: ServeProcess, name: str) -> None:
    """An unknown session ID, or a TLS 1.2 session offered in a TLS 1.1 hello (RFC 5246 §7.4.1.2: the server
    "will generate a new session ID"), with or without the session's suite listed: a full handshake."""
    session = established_session(server)
    for suites in ((RSA_AES128_CBC,), (RSA_AES256_GCM, ECDHE_AES128_GCM)):
        if name == "other-version" and suites[0] == RSA_AES256_GCM:
            suites = (ECDHE_AES128_CBC_SHA,)
        answer = server_hello_of(server, resuming_hello(session, suites, **RESUME_FULL[name]))  # type: ignore[arg-type]
        assert not isinstance(answer, str), answer
        new_id, suite = answer
        assert new_id not in (session.session_id, b"\x55" * 32) and suite == suites[0]
    assert EXPECTED["resume-impossible-full-handshake"] == ACCEPTED


# ---------------------------------------------------------------- ALPN (RFC 7301 §3.2)

ALPN = 16


@pytest.fixture(scope="module")
def server_alpn(identity: list[str]) -> Iterator[ServeProcess]:
    """``serve --alpn h2,http/1.1``."""
    proc = start_serve(identity, "--alpn", "h2,http/1.1")
    try:
        yield proc
    finally:
        proc.stop()


def alpn_extension(*names: bytes) -> bytes:
    """ProtocolNameList (RFC 7301 §3.1): a u16 length, then u8-length-prefixed names."""
    body = b"".join(bytes([len(name)]) + name for name in names)
    return ext(ALPN, struct.pack(">H", len(body)) + body)


ALPN_HELLOS: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "none-in-common": ("alpn-no-protocol-in-common", (b"spdy/3", b"h3")),
    "case-differs": ("alpn-no-protocol-in-common", (b"H2", b"HTTP/1.1")),
    "prefix-only": ("alpn-no-protocol-in-common", (b"h", b"http/1")),
    "one-in-common": ("alpn-protocol-in-common", (b"spdy/3", b"http/1.1")),
    "no-alpn": ("alpn-protocol-in-common", None),
}


@pytest.mark.parametrize("name", sorted(ALPN_HELLOS))
def test_alpn_full_handshake(server_alpn: ServeProcess, name: str) -> None:
    """Names are compared as bytes (RFC 7301 §3.1: no case folding, no prefixes); a client without ALPN is served
    without it (the server only answers what was asked, RFC 5246 §7.4.1.4)."""
    case, names = ALPN_HELLOS[name]
    extensions = [*base_extensions(), *([alpn_extension(*names)] if names is not None else [])]
    answer, closed = server_answer(server_alpn, client_hello(extensions=extensions))
    if EXPECTED[case] == ACCEPTED:
        assert answer == "server_hello"
    else:
        assert (answer, closed) == (f"alert:{EXPECTED[case]}", True)


def test_alpn_selected_in_a_real_handshake(server_alpn: ServeProcess) -> None:
    """Our in-memory client offering h2 completes the handshake with h2 selected; offering only h3 it gets the
    fatal no_application_protocol."""
    peer = handshake_only(server_alpn, config(alpn_protocols=["h3", "h2"]))
    assert answer_of(peer) == ACCEPTED and peer.conn.handshake_info is not None
    assert peer.conn.handshake_info.alpn == "h2"
    peer = handshake_only(server_alpn, config(alpn_protocols=["h3"]))
    assert answer_of(peer) == EXPECTED["alpn-no-protocol-in-common"]


@pytest.mark.parametrize("by", ["id", "ticket"])
def test_alpn_checked_on_resumption(server_alpn: ServeProcess, by: str) -> None:
    """An abbreviated handshake negotiates ALPN again (RFC 7301 §3.1): the session's client resuming with a
    protocol we do not have gets no_application_protocol, not a resumed session without ALPN."""
    store = SessionStore()
    peer = handshake_only(server_alpn, config("TLS_RSA_WITH_AES_128_CBC_SHA", session_store=store,
                                              alpn_protocols=["http/1.1"]))
    assert answer_of(peer) == ACCEPTED
    session = store.lookup("localhost")
    assert session is not None
    resumed = server_hello_of(server_alpn, resuming_hello(session, (RSA_AES128_CBC,), by=by,
                                                          extra=(alpn_extension(b"http/1.1"),)))
    assert not isinstance(resumed, str) and resumed[0] == (session.session_id if by == "id" else b"\x77" * 32)
    hello = resuming_hello(session, (RSA_AES128_CBC,), by=by, extra=(alpn_extension(b"spdy/3"),))
    answer, closed = server_answer(server_alpn, hello)
    expected = EXPECTED["alpn-no-protocol-in-common"]
    assert (answer, closed) == (f"alert:{expected}", True)


# ---------------------------------------------------------------- floods (CVE-2016-8610)

USER_CANCELED, UNRECOGNIZED_NAME, NO_RENEGOTIATION = 90, 112, 100


def established(server: ServeProcess, suite: str = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                version: int = 0x0303) -> ScriptedPeer:
    sock = server.connect()
    peer = ScriptedPeer(sock, config(suite, version), server_side=False)
    peer.run(until=lambda o: o.handshake_complete)
    assert peer.outcome.handshake_complete, peer.outcome
    return peer


def send_protected(peer: ScriptedPeer, content_type: int, payload: bytes, count: int = 1) -> None:
    """``count`` records of ``payload`` sealed with the peer's live write keys, in one TCP write."""
    version = peer.conn.negotiated_version or 0x0303
    peer.send_raw(b"".join(peer.conn.write_state.seal(content_type, version, payload) for _ in range(count)))


def echo_round_trip(peer: ScriptedPeer, message: bytes) -> None:
    peer.outcome.received_plaintext = b""
    peer.conn.send_data(message)
    peer.flush()
    peer.run(until=lambda o: o.received_plaintext == message or o.alert is not None or o.closed, max_steps=50)


def ended_with(peer: ScriptedPeer) -> str:
    peer.drain(3)
    peer.sock.close()
    if peer.outcome.alert is None:
        return f"no alert: {peer.outcome}"
    assert peer.outcome.closed, "no close after the fatal alert"
    return AlertDescription(peer.outcome.alert).label


FLOODS: dict[str, tuple[int, bytes, int]] = {  # (record type, payload, records)
    "five-warnings": (ALERT, bytes([1, USER_CANCELED]), 5),
    "five-no-renegotiation": (ALERT, bytes([1, NO_RENEGOTIATION]), 5),
    "five-warnings-one-record": (ALERT, bytes([1, UNRECOGNIZED_NAME]) * 5, 1),
    "thousand-warnings": (ALERT, bytes([1, USER_CANCELED]), 1000),
    "33-empty-records": (APPDATA, b"", 33),
    "thousand-empty-records": (APPDATA, b"", 1000),
}


@pytest.mark.parametrize("suite", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"])
@pytest.mark.parametrize("name", sorted(FLOODS))
def test_flood_after_the_handshake(server: ServeProcess, name: str, suite: str) -> None:
    """Protected warning alerts or empty application data records, nothing else: the server ends the connection
    with unexpected_message after a few, instead of reading them forever."""
    content_type, payload, count = FLOODS[name]
    peer = established(server, suite)
    send_protected(peer, content_type, payload, count)
    case = "warning-alert-flood" if content_type == ALERT else "empty-record-flood"
    assert ended_with(peer) == EXPECTED[case]


def test_warning_flood_during_the_handshake(server: ServeProcess) -> None:
    """Five plaintext warning alerts right after the ClientHello: unexpected_message, no handshake."""
    sock = server.connect()
    peer = ScriptedPeer(sock, config(), server_side=False)
    peer.flush()  # the ClientHello
    peer.send_raw(record(ALERT, bytes([1, USER_CANCELED]), 0x0303) * 5)
    peer.run(max_steps=20)
    assert not peer.outcome.handshake_complete
    assert ended_with(peer) == EXPECTED["warning-alert-flood"]


def test_below_the_limits_with_progress_in_between(server: ServeProcess) -> None:
    """Four warnings and 32 empty records in a row are tolerated; application data starts the counts again, so
    the same again (and again) is still fine: the connection echoes each time."""
    peer = established(server)
    for round_ in range(3):
        send_protected(peer, ALERT, bytes([1, USER_CANCELED]), 4)
        send_protected(peer, APPDATA, b"", 32)
        echo_round_trip(peer, b"round %d" % round_)
        assert peer.outcome.received_plaintext == b"round %d" % round_ and peer.outcome.alert is None, peer.outcome
    peer.sock.close()
    assert EXPECTED["flood-below-limits"] == ACCEPTED


# ---------------------------------------------------------------- 1/n-1 record splitting (BEAST)

LEGACY_SUITES = ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_RC4_128_SHA",
                 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256"]


@pytest.fixture(scope="module", params=["split", "no-split"])
def server_legacy(request: pytest.FixtureRequest, identity: list[str]) -> Iterator[tuple[ServeProcess, bool]]:
    """``serve --ssl3`` (SSL 3.0-TLS 1.2, CBC, RC4, GCM), by default and with ``--no-record-splitting``."""
    extra = ["--no-record-splitting"] if request.param == "no-split" else []
    proc = ServeProcess([*identity, "--ssl3", "--versions", "ssl3-tls1.2", "--ciphers", ",".join(LEGACY_SUITES),
                         "--timeout", "5", "--handshake-timeout", "10", *extra])
    try:
        yield proc, request.param == "split"
    finally:
        proc.stop()


def echoed_records(server: ServeProcess, suite: str, version: int, message: bytes) -> list[bytes]:
    """The plaintext of each application data record of the server's echo of ``message`` (sent as one record)."""
    cfg = config(suite, version, split_cbc_records=False, enable_ssl3=True)
    with server.connect() as sock:
        peer = ScriptedPeer(sock, cfg, server_side=False)
        peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
        assert peer.outcome.handshake_complete, peer.outcome
        records: list[bytes] = []
        original = peer.conn.read_state.open_next

        def spy(deframer: Deframer) -> tuple[int, int, bytes] | None:
            opened = original(deframer)
            if opened is not None and opened[0] == APPDATA:
                records.append(bytes(opened[2]))
            return opened

        peer.conn.read_state.open_next = spy  # type: ignore[method-assign, assignment]
        peer.conn.send_data(message)
        peer.flush()
        peer.run(until=lambda o: len(o.received_plaintext) >= len(message) or o.alert is not None, max_steps=50)
    assert peer.outcome.received_plaintext == message, peer.outcome
    return records


SPLIT_CASES = [("TLS_RSA_WITH_AES_128_CBC_SHA", 0x0300, True), ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x0301, True),
               ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x0300, True), ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0x0301, True),
               ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x0302, False), ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x0303, False),
               ("TLS_RSA_WITH_RC4_128_SHA", 0x0300, False), ("TLS_RSA_WITH_RC4_128_SHA", 0x0301, False),
               ("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x0303, False)]


@pytest.mark.parametrize(("suite", "version", "splits"), SPLIT_CASES,
                         ids=[f"{s.split('_WITH_')[1]}-{v:04x}" for s, v, _ in SPLIT_CASES])
def test_record_splitting(server_legacy: tuple[ServeProcess, bool], suite: str, version: int, splits: bool) -> None:
    server, splitting_on = server_legacy
    message = b"GET / HTTP/1.0 - one write of 40 bytes\r\n"
    records = echoed_records(server, suite, version, message)
    if splits and splitting_on:
        assert records == [message[:1], message[1:]]
    else:
        assert records == [message]
    assert EXPECTED["record-splitting"] == ACCEPTED
