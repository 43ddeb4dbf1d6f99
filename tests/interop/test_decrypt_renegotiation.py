"""A renegotiated session of ours, captured live on loopback (dumpcap), decrypted by ``tlsstate decrypt`` and by
tshark: three handshakes on one TCP connection (the first in clear, the second, client-initiated, under the
first epoch's keys, the third, server-initiated, under the second's), data in every epoch; full handshakes, and
once with both renegotiations resuming the session (same master secret, new randoms). Both decryptions must give
exactly the bytes the two ends exchanged; the key log holds one CLIENT_RANDOM line per handshake."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture
from tests.helpers.connections import client_config, server_config
from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import TIMEOUT, TLSSTATE
from tests.interop.test_decrypt_live import _tshark_follow
from tlsstate.crypto.suites import by_name
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.wire.keylog import KeyLogWriter

pytestmark = pytest.mark.interop

SUITES = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"]  # AEAD; CBC with EtM
CASES = [(suite, False) for suite in SUITES] + [(SUITES[0], True)]  # True: the renegotiations resume the session


def _read(tls: TLSSocket, length: int) -> bytes:
    got = b""
    while len(got) < length:
        chunk = tls.recv()
        assert chunk, "peer closed early"
        got += chunk
    return got


def _run(port: int, suite: str, keylog: Path, pieces: list[bytes], resume: bool) -> tuple[bytes, bytes, int, int]:
    """Our server (echo of each piece, then a reply) and our client renegotiating twice (resuming its session when
    ``resume``); returns what each side sent, the number of epochs and of resumed handshakes."""
    from tlsstate.sessions.cache import SessionCache, SessionStore

    writer = KeyLogWriter(keylog)
    found = by_name(suite)
    assert found is not None
    cache = SessionCache() if resume else None
    listener = TLSListener("127.0.0.1", port, server_config(client_renegotiation=True, keylog=writer,
                                                            session_cache=cache), timeout=TIMEOUT)
    server_sent: list[bytes] = []
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            tls, _ = listener.accept(TIMEOUT)
            with tls:
                for index, piece in enumerate(pieces):
                    answer = _read(tls, len(piece)) + b"|reply %d|" % index
                    tls.sendall(answer)
                    server_sent.append(answer)
                    if index == 1:  # the third handshake: ours asks
                        tls.renegotiate(wait=False)
                tls.recv()  # the client's close_notify
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        config = client_config(cipher_suites=[found], server_renegotiation=True,
                               session_store=SessionStore() if resume else None)
        resumed = 0
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            for index, piece in enumerate(pieces):
                tls.sendall(piece)
                reply = b"|reply %d|" % index
                assert _read(tls, len(piece) + len(reply)) == piece + reply
                if index == 0:
                    done = tls.renegotiate()  # the second handshake: the client asks
                    resumed += bool(done and done.resumed)
            while tls.connection.renegotiating:  # the server's HelloRequest may have come with the last reply
                tls.read_some()
            epochs = len(tls.connection.epochs)
            resumed += bool(tls.handshake and tls.handshake.resumed)
        thread.join(TIMEOUT)
        assert not failures, failures
    finally:
        listener.close()
        writer.close()
    return b"".join(pieces), b"".join(server_sent), epochs, resumed


@pytest.mark.parametrize(("suite", "resume"), CASES)
def test_renegotiated_session_decrypts_with_tlsstate_and_tshark(tmp_path: Path, suite: str, resume: bool) -> None:
    tshark = require_binary("tshark")
    port = free_port()
    keylog = tmp_path / "keys.log"
    capture = tmp_path / "renegotiation.pcapng"
    pieces = [os.urandom(3000).hex().encode() for _ in range(3)]
    with loopback_capture(capture, [port]):
        client_sent, server_sent, epochs, resumed = _run(port, suite, keylog, pieces, resume)
    assert epochs == 3 and resumed == (2 if resume else 0)
    lines = keylog.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 3  # the server's key log: one line per handshake

    done = subprocess.run([*TLSSTATE, "decrypt", str(capture), "--keylog", str(keylog), "--json", "-q"],
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    connections = json.loads(done.stdout)
    assert len(connections) == 1
    conn = connections[0]
    assert conn["client_to_server_sha256"] == hashlib.sha256(client_sent).hexdigest()
    assert conn["server_to_client_sha256"] == hashlib.sha256(server_sent).hexdigest()
    assert conn["records_failed"] == 0 and conn["records_undecryptable"] == 0, conn
    # the live client's count above: the first handshake is full, both renegotiations resumed its session
    assert conn["handshakes"] == 3 and conn["resumed_handshakes"] == [False, resume, resume]
    assert conn["resumed"] == resume

    client_endpoint = conn["client"]
    tshark_client, tshark_server = _tshark_follow(tshark, capture, keylog, 0, client_endpoint)
    assert tshark_client == client_sent
    assert tshark_server == server_sent
