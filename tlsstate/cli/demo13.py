"""``tlsstate demo``'s TLS 1.3 part (RFC 9846): X25519MLKEM768 and TLS_AES_128_GCM_SHA256 over loopback TCP.

A tlsstate echo server thread that speaks TLS 1.3 with the hybrid group only, and a tlsstate client. The part shows
the shared secret (ML-KEM-768 secret || X25519 secret, RFC 10024 §3), the HKDF tree from it to each direction's
traffic secrets and their key and IV (RFC 9846 §7.1, §7.3), the application records with the traffic secret and
sequence number that protected each (§5.3), a KeyUpdate that moves the client's direction alone to application
traffic secret 1 (§4.6.3, §7.2), and the three proofs (flipped byte, reflected record, replayed record) rejected
with bad_record_mac by the client's real Connection (§5.2).

Checked on the spot: the whole tree is derived again from the shared secret and the handshake messages taken off
the wire (the encrypted flights opened with the handshake keys derived again) by the schedule ``keys --version
tls1.3`` explains (:func:`tlsstate.cli.keys13.tls13_schedule`), and compared with what the connection derived and
with the NSS key log the client wrote; the first record after the KeyUpdate is opened with the next key derived
here.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography import x509

from tlsstate.cli.demo_model import KeyUpdate13, Proof, RecordRow, Run13
from tlsstate.cli.demo_peers import DemoClient, DemoServer, echo, run_proofs
from tlsstate.cli.keys13 import tls13_schedule
from tlsstate.config import PrivateKey, TLSConfig
from tlsstate.crypto.key_share import MLKEM768_CIPHERTEXT, MLKEM768_ENCAPSULATION_KEY
from tlsstate.crypto.schedule13 import KeySchedule13, next_traffic_secret, traffic_key_and_iv, transcript_hash
from tlsstate.crypto.suites import CipherSuite, lookup
from tlsstate.handshake.outputs import Tls13Secrets
from tlsstate.html.formulas import tls13_update_formula
from tlsstate.html.model import key_base
from tlsstate.record import Deframer, HalfConnection
from tlsstate.record.keying import traffic_protection
from tlsstate.wire.constants import ContentType, NamedGroup, ProtocolVersion
from tlsstate.wire.errors import ProtocolError, TLSError
from tlsstate.wire.keylog import TLS13_SECRET_LABELS, KeyLogWriter, parse_keylog

__all__ = ["SIX_TO_13", "run_tls13", "server_config", "why13"]

SUITE_NAME = "TLS_AES_128_GCM_SHA256"
GROUP = NamedGroup.X25519MLKEM768
TLS13 = ProtocolVersion.TLS1_3
MESSAGES = (b"Hello over TLS 1.3: which traffic secret protects this record?",
            b"Two traffic secrets per epoch, each with one key and one IV.")
AFTER_UPDATE = (b"After my KeyUpdate: client application traffic secret 1, seq 0.",
                b"The server's direction did not move: its secret 0, seq 2 and 3.")
#: The key share sizes of X25519MLKEM768 (RFC 10024 §3; FIPS 203 §8): ML-KEM first, then X25519.
SHARE_SIZES = (f"client share = ML-KEM-768 encapsulation key ({MLKEM768_ENCAPSULATION_KEY} B) || X25519 public key "
               f"(32 B); server share = ML-KEM-768 ciphertext ({MLKEM768_CIPHERTEXT} B) || X25519 public key (32 B)")
#: Where TLS 1.2's six values went in TLS 1.3 (RFC 5246 §6.3 -> RFC 9846 §7.3, §5.2, §5.3).
SIX_TO_13 = (
    ("client write MAC key", "none: the AEAD tag authenticates every record (RFC 9846 §5.2)"),
    ("server write MAC key", "none: the AEAD tag authenticates every record (RFC 9846 §5.2)"),
    ("client write key", "client_write_key of each client traffic secret: handshake, application 0, 1, … "
                         "one per direction per epoch (RFC 9846 §7.3)"),
    ("server write key", "server_write_key of each server traffic secret, likewise (RFC 9846 §7.3)"),
    ("client write IV", "client_write_iv (12 bytes) of each client traffic secret: the whole nonce base, XORed "
                        "with the sequence number; nothing of the nonce is sent (RFC 9846 §5.3)"),
    ("server write IV", "server_write_iv of each server traffic secret, likewise (RFC 9846 §5.3)"),
)


def why13(attack: str) -> str:
    """One plain sentence per proof under TLS 1.3 record protection (RFC 9846 §5.2, §5.3)."""
    if attack == "flipped byte":
        return ("The AES-GCM tag covers every byte of the encrypted record and its 5-byte header (the additional "
                "data, RFC 9846 §5.2), so changing any one byte breaks it.")
    if attack == "reflected record":
        return ('The two directions have different traffic secrets ("c ap traffic" and "s ap traffic", RFC 9846 '
                "§7.1), so different keys and IVs: a record the client sealed cannot be opened with the server's "
                "key the client reads with.")
    return ("The nonce is the write IV XOR the 64-bit sequence number, which is never sent (RFC 9846 §5.3); the "
            "receiver's counter has moved on, so it opens the old record under another nonce and the tag fails.")


def server_config(cert_chain: list[x509.Certificate], private_key: PrivateKey) -> TLSConfig:
    """The TLS 1.3 echo server: TLS_AES_128_GCM_SHA256 and X25519MLKEM768 only."""
    return TLSConfig(min_version=TLS13, max_version=TLS13, cipher_suites=[lookup(SUITE_NAME)], groups=[GROUP],
                     certificate_chain=cert_chain, private_key=private_key)


def _client(port: int, cafile: str, keylog: KeyLogWriter) -> DemoClient:
    """A TLS 1.3 client that sends one X25519MLKEM768 key share and logs its secrets."""
    return DemoClient(port, TLSConfig(
        min_version=TLS13, max_version=TLS13, cipher_suites=[lookup(SUITE_NAME)], groups=[GROUP],
        key_share_groups=[GROUP], cafile=cafile, server_name="localhost", keylog=keylog))


def _secrets(client: DemoClient) -> Tls13Secrets:
    secrets = client.conn.tls13_secrets
    if secrets is None or secrets.shared_secret is None:
        raise TLSError("the TLS 1.3 handshake finished without its key schedule")
    return secrets


# ---------------------------------------------------------------------------------------------- the schedule again


def _handshake_bytes(stream: bytes, suite: CipherSuite, writer: str, secret: bytes | None) -> tuple[bytes, bytes]:
    """(handshake bytes of the plaintext records, handshake bytes of the protected ones opened with ``secret``;
    none without it)."""
    deframer = Deframer()
    deframer.feed(stream)
    half = HalfConnection(writer)
    if secret is not None:
        half.activate_tls13(traffic_protection(suite, secret))
    plain, protected = b"", b""
    for record in deframer:
        if record.content_type == ContentType.HANDSHAKE:
            plain += record.fragment
        elif record.content_type == ContentType.APPLICATION_DATA and secret is not None:
            content_type, data = half.open(record)
            if content_type == ContentType.HANDSHAKE:
                protected += data
    return plain, protected


def _recompute(client: DemoClient, suite: CipherSuite, shared: bytes) -> tuple[list[tuple[str, bytes, str]], bytes,
                                                                                list[tuple[str, bytes]]]:
    """The schedule derived again from the shared secret and the handshake messages on the wire: (rows, transcript
    ClientHello..client Finished, the three transcript hashes). The encrypted flights are opened with the handshake
    traffic secrets derived here, so a wrong secret fails here (bad_record_mac)."""
    out, into = bytes(client.wire["out"]), bytes(client.wire["in"])
    hash_name = suite.prf_hash
    tree = KeySchedule13(hash_name)
    tree.enter_handshake(shared)
    client_hello, _ = _handshake_bytes(out, suite, "client", None)
    server_hello, _ = _handshake_bytes(into, suite, "server", None)
    to_server_hello = transcript_hash(hash_name, client_hello + server_hello)
    _, server_flight = _handshake_bytes(into, suite, "server", tree.server_handshake_traffic_secret(to_server_hello))
    _, client_finished = _handshake_bytes(out, suite, "client", tree.client_handshake_traffic_secret(to_server_hello))
    to_server_finished = client_hello + server_hello + server_flight
    transcript = to_server_finished + client_finished
    hashes = [("ClientHello..ServerHello", to_server_hello),
              ("ClientHello..server Finished", transcript_hash(hash_name, to_server_finished)),
              ("ClientHello..client Finished", transcript_hash(hash_name, transcript))]
    rows = tls13_schedule(suite.name, shared.hex(), None, *(value.hex() for _, value in hashes))
    return rows, transcript, hashes


def _installed(secrets: Tls13Secrets, suite: CipherSuite, name: str) -> bytes | None:
    """What the connection derived for a row of the schedule (a traffic secret's key and IV from its secret)."""
    base, _, part = name.partition(" ")
    value: bytes | None = getattr(secrets, base, None)
    if value is None or not part:
        return value
    key, iv = traffic_key_and_iv(suite, value)
    return key if part == "key" else iv


def _keylog_lines(path: str, client_random: bytes) -> list[str]:
    with open(path, encoding="ascii") as f:
        return [line.rstrip("\n") for line in f if client_random.hex() in line]


def _keylog_matches(lines: list[str], secrets: Tls13Secrets, client_random: bytes) -> bool:
    keylog, warnings = parse_keylog("\n".join(lines))
    return not warnings and all(keylog.tls13_secret(client_random, label) == getattr(secrets, name)
                                for name, label in TLS13_SECRET_LABELS.items())


# ---------------------------------------------------------------------------------------------- records, KeyUpdate


def _opens(suite: CipherSuite, secret: bytes, seq: int, wire: bytes) -> bytes | None:
    """The plaintext of one record under ``secret`` at ``seq`` (None if it does not open): a check, apart from the
    connection's own state."""
    deframer = Deframer()
    deframer.feed(wire)
    record = deframer.next_record()
    half = HalfConnection("client")
    half.activate_tls13(traffic_protection(suite, secret))
    half.seq = seq
    try:
        return half.open(record)[1] if record is not None else None
    except ProtocolError:
        return None


def _key_update(client: DemoClient, suite: CipherSuite, secret_0: bytes) -> tuple[list[RecordRow], KeyUpdate13]:
    """KeyUpdate(update_not_requested) from the client (RFC 9846 §4.6.3): its direction alone moves to application
    traffic secret 1; then two more echoes. Returns the KeyUpdate record's row and the echoes', and the update."""
    state = client.conn.write_state
    seq, label = state.seq, state.key_label
    client.conn.key_update(request_peer=False)
    wire = client.conn.bytes_to_send()
    client.tls.sock.sendall(wire)
    message = _opens(suite, secret_0, seq, wire) or b""  # 24, length 1, update_not_requested (0)
    rows = [RecordRow("client → server", seq, label, len(message), len(wire), "handshake (KeyUpdate)", wire, message)]
    new_label = client.conn.write_state.key_label
    after = echo(client, AFTER_UPDATE)
    secret = next_traffic_secret(suite.prf_hash, secret_0)
    key, iv = traffic_key_and_iv(suite, secret)
    first = after[0]
    update = KeyUpdate13(
        "client → server", label, seq, key_base(label), key_base(new_label), secret, key, iv,
        tls13_update_formula(key_base(label)), first.seq,
        _opens(suite, secret, 0, first.wire) == AFTER_UPDATE[0])
    return rows + after, update


# ---------------------------------------------------------------------------------------------- the run


def _annotate(suite: CipherSuite, keylog_path: str, keylogs: list[list[str]]) -> Callable[[DemoClient, Proof], None]:
    """A proof's key and nonce (the read state's write key, and write_iv XOR the sequence number it expected), and
    its connection's key log lines (into ``keylogs``), so a reader can check both."""
    def annotate(client: DemoClient, proof: Proof) -> None:
        secret = _secrets(client).server_application_traffic_secret_0
        assert secret is not None
        proof.key, iv = traffic_key_and_iv(suite, secret)
        seq = (proof.seq_expected or 0).to_bytes(len(iv), "big")
        proof.nonce = bytes(a ^ b for a, b in zip(iv, seq, strict=True))
        client_random = bytes(client.wire["out"][11:43])  # record header (5), ClientHello header (4), version (2)
        keylogs.append(_keylog_lines(keylog_path, client_random))
    return annotate


def _describe(client: DemoClient, keylog_path: str) -> Run13:
    suite = lookup(SUITE_NAME)
    secrets = _secrets(client)
    shared = secrets.shared_secret
    assert shared is not None
    rows, transcript, hashes = _recompute(client, suite, shared)
    client_random = transcript[6:38]  # ClientHello: type, length (4), legacy_version (2), random (32)
    lines = _keylog_lines(keylog_path, client_random)
    return Run13(
        suite=suite.name, group="X25519MLKEM768", version="TLS 1.3", shared_secret=shared,
        shared_parts=[("ML-KEM-768 shared secret", shared[:32]), ("X25519 shared secret", shared[32:])],
        schedule=rows, transcript=transcript, transcript_hashes=hashes,
        schedule_recomputed=all(value == _installed(secrets, suite, name) for name, value, _ in rows),
        keylog=lines, keylog_matches=_keylog_matches(lines, secrets, client_random),
        secrets=secrets, wire=list(client.tap.chunks),
    )


def run_tls13(cert_chain: list[x509.Certificate], private_key: PrivateKey, cafile: str, tmp: str) -> Run13:
    """The TLS 1.3 part against a server of its own: handshake, records, KeyUpdate, then the three proofs."""
    keylog_path = os.path.join(tmp, "keylog13.txt")
    with DemoServer(server_config(cert_chain, private_key)) as server, KeyLogWriter(keylog_path) as keylog:
        client = _client(server.port, cafile, keylog)
        try:
            run = _describe(client, keylog_path)
            secret_0 = _secrets(client).client_application_traffic_secret_0
            assert secret_0 is not None
            run.records = echo(client, MESSAGES)
            updated, run.key_update = _key_update(client, lookup(SUITE_NAME), secret_0)
            run.records += updated
        finally:
            client.close()
        run.wire += [(row.direction.startswith("client"), row.wire) for row in run.records]
        run.proofs = run_proofs(server, lambda: _client(server.port, cafile, keylog), why13,
                                _annotate(lookup(SUITE_NAME), keylog_path, run.proof_keylogs))
        run.server_log = server.wait_log(4)
    return run
