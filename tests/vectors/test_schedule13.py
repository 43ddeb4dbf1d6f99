"""TLS 1.3 key schedule (tlsstate.crypto.schedule13) against external vectors only.

* NIST ACVP TLS-v1.3-KDF-RFC8446: 250 whole schedules (DHE, PSK, PSK-DHE; SHA-256/384), SOURCES.md §1a semantics
* OpenSSL evpkdf_tls13_kdf.txt: HKDF-Extract / HKDF-Expand-Label steps (error and FIPS-only blocks skipped)
* RFC 5869 appendix A HKDF (cryptography-vectors)
* RFC 8448 "Simple 1-RTT" and "Resumed 0-RTT" from Botan's transcripts.vec: X25519 keys from the RNG pools, the
  transcript from the plaintext records, and every encrypted record opened with pyca AESGCM using keys derived here;
  both Finished messages and the PSK binder are checked against the bytes on the wire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.helpers.env import VECTORS
from tests.helpers.vectorfiles import acvp_tests, botan_sections, cavs_records, openssl_blocks, openssl_skip_reason
from tlsstate.crypto import certs
from tlsstate.crypto import schedule13 as s13
from tlsstate.crypto.suites import lookup
from tlsstate.wire.errors import ConfigurationError

# --- NIST ACVP ---

ACVP_HASH = {"SHA2-256": "sha256", "SHA2-384": "sha384"}


def _acvp_cases() -> list[Any]:
    return [
        pytest.param(group, test, id=f"g{group['tgId']}-{group['hmacAlg']}-{group['runningMode']}-t{test['tcId']}")
        for group, test in acvp_tests(VECTORS / "nist-acvp" / "TLS-v1.3-KDF-RFC8446" / "internalProjection.json")
    ]


ACVP_CASES = _acvp_cases()


def test_acvp_case_count() -> None:
    assert len(ACVP_CASES) == 250
    assert {p.values[0]["runningMode"] for p in ACVP_CASES} == {"DHE", "PSK", "PSK-DHE"}


@pytest.mark.parametrize(("group", "test"), ACVP_CASES)
def test_acvp_tls13_schedule(group: dict[str, Any], test: dict[str, str]) -> None:
    hash_name = ACVP_HASH[group["hmacAlg"]]
    mode = group["runningMode"]
    b = bytes.fromhex
    psk = b(test["psk"]) if "PSK" in mode else None
    dhe = b(test["dhe"]) if "DHE" in mode else None
    hello_client, hello_server = b(test["helloClientRandom"]), b(test["helloServerRandom"])
    finished_server, finished_client = b(test["finishedServerRandom"]), b(test["finishedClientRandom"])

    def th(data: bytes) -> bytes:
        return s13.transcript_hash(hash_name, data)

    ks = s13.KeySchedule13(hash_name, psk)
    got = {
        "clientEarlyTrafficSecret": ks.client_early_traffic_secret(th(hello_client)),
        "earlyExporterMasterSecret": ks.early_exporter_master_secret(th(hello_client)),
    }
    ks.enter_handshake(dhe)
    got["clientHandshakeTrafficSecret"] = ks.client_handshake_traffic_secret(th(hello_client + hello_server))
    got["serverHandshakeTrafficSecret"] = ks.server_handshake_traffic_secret(th(hello_client + hello_server))
    ks.enter_master()
    to_server_finished = th(hello_client + hello_server + finished_server)
    got["clientApplicationTrafficSecret"] = ks.client_application_traffic_secret(to_server_finished)
    got["serverApplicationTrafficSecret"] = ks.server_application_traffic_secret(to_server_finished)
    got["exporterMasterSecret"] = ks.exporter_master_secret(to_server_finished)
    got["resumptionMasterSecret"] = ks.resumption_master_secret(
        th(hello_client + hello_server + finished_server + finished_client)
    )
    assert {k: v.hex() for k, v in got.items()} == {k: test[k].lower() for k in got}


# --- OpenSSL TLS13-KDF steps ---


def _openssl_cases() -> list[Any]:
    cases = []
    for index, block in enumerate(openssl_blocks(VECTORS / "openssl-evp-kdf" / "evpkdf_tls13_kdf.txt")):
        reason = openssl_skip_reason(block)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        cases.append(pytest.param(block, id=f"tls13kdf-{index}", marks=marks))
    return cases


OPENSSL_CASES = _openssl_cases()
OPENSSL_DIGEST = {"SHA2-256": "sha256", "SHA2-384": "sha384"}


def test_openssl_case_count() -> None:
    assert len([c for c in OPENSSL_CASES if not c.marks]) == 561


@pytest.mark.parametrize("block", OPENSSL_CASES)
def test_openssl_tls13_kdf_step(block: dict[str, list[str]]) -> None:
    ctrl = {key[5:]: values[0].partition(":")[2] for key, values in block.items() if key.startswith("Ctrl.")}
    hash_name = OPENSSL_DIGEST[ctrl["digest"]]
    expected = bytes.fromhex(block["Output"][0])
    key = bytes.fromhex(ctrl.get("key", ""))
    if "prefix" in ctrl:
        assert bytes.fromhex(ctrl["prefix"]) == s13.LABEL_PREFIX
    label = bytes.fromhex(ctrl.get("label", ""))
    if ctrl["mode"] == "EXTRACT_ONLY":
        # OpenSSL: no salt -> zeros; a salt (previous secret) first goes through Derive-Secret(salt, "derived", "").
        if "salt" in ctrl:
            assert label == b"derived"
            salt = s13.derive_secret(hash_name, bytes.fromhex(ctrl["salt"]), label, s13.empty_hash(hash_name))
        else:
            salt = b""
        ikm = key or bytes(s13.hash_length(hash_name))
        assert s13.hkdf_extract(hash_name, salt, ikm) == expected
    else:
        assert ctrl["mode"] == "EXPAND_ONLY"
        context = bytes.fromhex(ctrl.get("data", ""))
        assert s13.hkdf_expand_label(hash_name, key, label, context, len(expected)) == expected


# --- RFC 5869 HKDF ---


def _rfc5869_cases() -> list[Any]:
    return [
        pytest.param(record, id=f"{name}-{record['COUNT']}")
        for name in ("rfc-5869-HKDF-SHA256.txt", "rfc-5869-HKDF-SHA1.txt")
        for record in cavs_records(VECTORS / "cryptography-vectors" / "KDF" / name)
    ]


RFC5869 = _rfc5869_cases()


def test_rfc5869_count() -> None:
    assert len(RFC5869) == 7


@pytest.mark.parametrize("case", RFC5869)
def test_rfc5869_hkdf(case: dict[str, str]) -> None:
    hash_name = case["Hash"].replace("-", "").lower()
    prk = s13.hkdf_extract(hash_name, bytes.fromhex(case["salt"]), bytes.fromhex(case["IKM"]))
    assert prk.hex() == case["PRK"].lower()
    okm = s13.hkdf_expand(hash_name, prk, bytes.fromhex(case["info"]), int(case["L"]))
    assert okm.hex() == case["OKM"].lower()


# --- RFC 8448 end to end ---


def _transcripts() -> dict[str, dict[str, str]]:
    return botan_sections(VECTORS / "botan" / "tls_13_rfc8448" / "transcripts.vec")


TRANSCRIPTS = _transcripts()
SUITE = lookup("TLS_AES_128_GCM_SHA256")  # RFC 8448 §3 negotiates TLS_AES_128_GCM_SHA256 with X25519
H = "sha256"


def _records(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split concatenated TLS records into (header, fragment)."""
    out = []
    while data:
        length = int.from_bytes(data[3:5], "big")
        out.append((data[:5], data[5 : 5 + length]))
        assert len(data) >= 5 + length
        data = data[5 + length :]
    return out


class _Opener:
    """Opens TLS 1.3 records of one traffic secret with pyca AESGCM directly (RFC 8446 §5.2/§5.3)."""

    def __init__(self, traffic_secret: bytes, suite: Any = SUITE) -> None:
        self.key, self.iv = s13.traffic_key_and_iv(suite, traffic_secret)
        self.seq = 0

    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        nonce = (int.from_bytes(self.iv, "big") ^ self.seq).to_bytes(12, "big")
        self.seq += 1
        inner = AESGCM(self.key).decrypt(nonce, fragment, header).rstrip(b"\x00")
        return inner[-1], inner[:-1]


def _x25519_shared(section: dict[str, str], client_hello: bytes, server_hello: bytes) -> bytes:
    """Both sides' X25519 private keys are bytes 32..63 of Botan's RNG pools (after the 32-byte randoms)."""
    client_key = X25519PrivateKey.from_private_bytes(bytes.fromhex(section["Client_RNG_Pool"])[32:64])
    server_key = X25519PrivateKey.from_private_bytes(bytes.fromhex(section["Server_RNG_Pool"])[32:64])
    client_public = client_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    server_public = server_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert client_public in client_hello and server_public in server_hello  # the key_share entries on the wire
    shared = client_key.exchange(server_key.public_key())
    assert shared == server_key.exchange(client_key.public_key())
    return shared


def _client_hello(section: dict[str, str]) -> bytes:
    ((header, fragment),) = _records(bytes.fromhex(section["Record_ClientHello_1"]))
    assert header[0] == 22
    return fragment


def _hs(section: dict[str, str], *names: str) -> bytes:
    return b"".join(bytes.fromhex(section[f"Message_{n}"]) for n in names)


def test_rfc8448_simple_1rtt() -> None:
    t = TRANSCRIPTS["Simple_1RTT_Handshake"]
    client_hello, server_hello = _client_hello(t), _hs(t, "ServerHello")
    shared = _x25519_shared(t, client_hello, server_hello)
    assert shared.hex() == "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d"  # RFC 8448 §3

    def th(data: bytes) -> bytes:
        return s13.transcript_hash(H, data)

    ks = s13.KeySchedule13(H)  # no PSK
    ks.enter_handshake(shared)
    hello_hash = th(client_hello + server_hello)
    server_hs = ks.server_handshake_traffic_secret(hello_hash)
    client_hs = ks.client_handshake_traffic_secret(hello_hash)
    assert s13.traffic_key_and_iv(SUITE, server_hs)[0].hex() == "3fce516009c21727d0f2e4e86ee403bc"  # SOURCES.md

    # The server's encrypted flight opens with our key and holds exactly EE, Certificate, CertificateVerify, Finished.
    server_hs_reader = _Opener(server_hs)
    ((header, fragment),) = _records(bytes.fromhex(t["Record_ServerHandshakeMessages"]))
    content_type, flight = server_hs_reader.open(header, fragment)
    assert content_type == 22
    assert flight == _hs(t, "EncryptedExtensions", "Server_Certificate", "Server_CertificateVerify", "Server_Finished")

    before_finished = (
        client_hello + server_hello + _hs(t, "EncryptedExtensions", "Server_Certificate", "Server_CertificateVerify")
    )
    server_finished = _hs(t, "Server_Finished")
    assert server_finished[4:] == s13.finished_verify_data(H, server_hs, th(before_finished))

    # Client Finished: opened with the client handshake key, verify_data over CH..server Finished.
    to_server_finished = before_finished + server_finished
    ((header, fragment),) = _records(bytes.fromhex(t["Record_ClientFinished"]))
    content_type, client_finished = _Opener(client_hs).open(header, fragment)
    assert content_type == 22 and client_finished[:4] == bytes.fromhex("14000020")
    assert client_finished[4:] == s13.finished_verify_data(H, client_hs, th(to_server_finished))

    # Application traffic: NewSessionTicket, app data and close_notify in both directions.
    ks.enter_master()
    server_app = _Opener(ks.server_application_traffic_secret(th(to_server_finished)))
    client_app = _Opener(ks.client_application_traffic_secret(th(to_server_finished)))
    ((header, fragment),) = _records(bytes.fromhex(t["Record_NewSessionTicket"]))
    content_type, ticket = server_app.open(header, fragment)
    assert content_type == 22 and ticket[0] == 4
    ((header, fragment),) = _records(bytes.fromhex(t["Record_Server_AppData"]))
    assert server_app.open(header, fragment) == (23, bytes.fromhex(t["Server_AppData"]))
    ((header, fragment),) = _records(bytes.fromhex(t["Record_Client_AppData"]))
    assert client_app.open(header, fragment) == (23, bytes.fromhex(t["Client_AppData"]))
    ((header, fragment),) = _records(bytes.fromhex(t["Record_Client_CloseNotify"]))
    assert client_app.open(header, fragment) == (21, b"\x01\x00")
    ((header, fragment),) = _records(bytes.fromhex(t["Record_Server_CloseNotify"]))
    assert server_app.open(header, fragment) == (21, b"\x01\x00")

    # Resumption PSK from the ticket nonce (RFC 8446 §4.6.1) = the PSK RFC 8448 §4 resumes with (in Botan's session data).
    nonce_length = ticket[12]
    nonce = ticket[13 : 13 + nonce_length]
    resumption_master = ks.resumption_master_secret(th(to_server_finished + client_finished))
    psk = s13.resumption_psk(H, resumption_master, nonce)
    assert psk.hex() == "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3"
    assert psk.hex().upper() in t["Client_SessionData"]


def test_rfc8448_resumed_0rtt() -> None:
    t = TRANSCRIPTS["Resumed_0RTT_Handshake"]
    psk = bytes.fromhex("4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3")
    assert psk.hex().upper() in t["Client_SessionData"]
    client_hello, server_hello = _client_hello(t), _hs(t, "ServerHello")

    def th(data: bytes) -> bytes:
        return s13.transcript_hash(H, data)

    ks = s13.KeySchedule13(H, psk)
    # PSK binder (RFC 8446 §4.2.11.2): the binders list (u16 length, u8 length, 32 bytes) ends the ClientHello.
    assert client_hello[-35:-32] == bytes.fromhex("002120")
    binder = s13.finished_verify_data(H, ks.binder_key(external=False), th(client_hello[:-35]))
    assert client_hello[-32:] == binder
    assert ks.binder_key(external=True) != ks.binder_key(external=False)

    # 0-RTT data under client_early_traffic_secret, then EndOfEarlyData in the same epoch.
    early = _Opener(ks.client_early_traffic_secret(th(client_hello)))
    ((header, fragment),) = _records(bytes.fromhex(t["Record_Client_EarlyAppData"]))
    assert early.open(header, fragment) == (23, bytes.fromhex(t["Client_EarlyAppData"]))

    shared = _x25519_shared(t, client_hello, server_hello)
    ks.enter_handshake(shared)
    hello_hash = th(client_hello + server_hello)
    server_hs = ks.server_handshake_traffic_secret(hello_hash)
    ((header, fragment),) = _records(bytes.fromhex(t["Record_ServerHandshakeMessages"]))
    content_type, flight = _Opener(server_hs).open(header, fragment)
    encrypted_extensions = _hs(t, "EncryptedExtensions")
    # Botan re-encrypted this flight with its own EncryptedExtensions, which lacks the empty server_name extension
    # RFC 8448 §4 sends; its Finished (authenticated by the AEAD tag under our key) is over Botan's EE.
    assert content_type == 22 and flight.startswith(encrypted_extensions + bytes.fromhex("14000020"))
    assert flight[len(encrypted_extensions) + 4 :] == s13.finished_verify_data(
        H, server_hs, th(client_hello + server_hello + encrypted_extensions)
    )
    # The Message_Server_Finished and Record_ClientFinished entries are RFC 8448's own bytes, over the RFC's EE.
    rfc_encrypted_extensions = bytes.fromhex(
        "080000280026000a00140012001d00170018001901000101010201030104001c0002400100000000002a0000"
    )
    rfc_server_finished = _hs(t, "Server_Finished")
    assert rfc_server_finished[4:] == s13.finished_verify_data(
        H, server_hs, th(client_hello + server_hello + rfc_encrypted_extensions)
    )
    to_server_finished = client_hello + server_hello + rfc_encrypted_extensions + rfc_server_finished

    (eoed_record, finished_record) = _records(bytes.fromhex(t["Record_ClientFinished"]))
    content_type, end_of_early_data = early.open(*eoed_record)
    assert (content_type, end_of_early_data) == (22, bytes.fromhex("05000000"))
    client_hs = ks.client_handshake_traffic_secret(hello_hash)
    content_type, client_finished = _Opener(client_hs).open(*finished_record)
    assert content_type == 22
    assert client_finished[4:] == s13.finished_verify_data(H, client_hs, th(to_server_finished + end_of_early_data))

    ks.enter_master()
    client_app = _Opener(ks.client_application_traffic_secret(th(to_server_finished)))
    server_app = _Opener(ks.server_application_traffic_secret(th(to_server_finished)))
    ((header, fragment),) = _records(bytes.fromhex(t["Record_Client_AppData"]))
    assert client_app.open(header, fragment) == (23, bytes.fromhex(t["Client_AppData"]))
    ((header, fragment),) = _records(bytes.fromhex(t["Record_Server_AppData"]))
    assert server_app.open(header, fragment) == (23, bytes.fromhex(t["Server_AppData"]))


# --- API behaviour ---


def test_stage_order_and_repr() -> None:
    ks = s13.KeySchedule13("sha384")
    with pytest.raises(ConfigurationError):
        ks.client_handshake_traffic_secret(bytes(48))
    with pytest.raises(ConfigurationError):
        ks.enter_master()
    ks.enter_handshake(None)
    ks.enter_master()
    assert repr(ks) == "KeySchedule13(hash=sha384, stage=master)"
    assert ks.early_secret.hex() not in repr(ks)


def test_label_and_length_limits() -> None:
    with pytest.raises(ConfigurationError):
        s13.hkdf_expand_label("sha256", bytes(32), b"x" * 250, b"", 32)
    with pytest.raises(ConfigurationError):
        s13.hkdf_expand_label("sha256", bytes(32), b"key", bytes(256), 32)
    with pytest.raises(ConfigurationError):
        s13.hkdf_expand("sha256", bytes(32), b"", 255 * 32 + 1)
    with pytest.raises(ConfigurationError):
        s13.traffic_key_and_iv(lookup("0x002f"), bytes(32))
    s13.hkdf_expand_label("sha256", bytes(32), b"iv", b"", 12)  # a checked (hash, label, length) is kept: then a
    with pytest.raises(ConfigurationError, match="context too long"):  # context too long is still refused
        s13.hkdf_expand_label("sha256", bytes(32), b"iv", bytes(256), 12)
    with pytest.raises(ConfigurationError, match=r"out of range 1\.\.8160"):  # and a failed check is not kept
        s13.hkdf_expand_label("sha256", bytes(32), b"iv", b"", 8161)
    with pytest.raises(ConfigurationError, match=r"out of range 1\.\.8160"):
        s13.hkdf_expand_label("sha256", bytes(32), b"iv", b"", 8161)
    # HkdfLabel layout (RFC 8446 §7.1): u16 length, u8 + "tls13 key", u8 + context
    assert s13.hkdf_label(b"key", b"", 16) == bytes.fromhex("0010") + b"\x09tls13 key" + b"\x00"


# --- KeyUpdate against live OpenSSL ---


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed localhost certificate and key as PEM files for the live OpenSSL peer."""
    cert, key = certs.generate_self_signed(["localhost"], "ecdsa-p256")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    certs.write_pem_files(cert, key, cert_path, key_path)
    return cert_path, key_path


@pytest.mark.interop
def test_key_update_with_live_openssl(tmp_path: Path) -> None:
    """openssl s_client sends KeyUpdate(update_requested) ('K'); s_server answers with its own. Every record after
    each KeyUpdate must open with traffic_key_and_iv(next_traffic_secret(secret)) (RFC 8446 §7.2), starting from the
    application traffic secrets OpenSSL wrote to its key log."""
    import contextlib
    import socket
    import subprocess
    import threading
    import time

    from tests.helpers.env import free_port, require_binary

    openssl = require_binary("openssl")
    cert, key = _self_signed(tmp_path)
    server_port, proxy_port = free_port(), free_port()
    keylog = tmp_path / "keys.log"
    captured: dict[str, bytearray] = {"client": bytearray(), "server": bytearray()}

    listener = socket.create_server(("127.0.0.1", proxy_port))
    listener.settimeout(10)

    def relay(source: socket.socket, sink: socket.socket, writer: str) -> None:
        try:
            while data := source.recv(65536):
                captured[writer] += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def proxy() -> None:
        try:
            downstream, _ = listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", server_port), timeout=10)
        threads = [
            threading.Thread(target=relay, args=(downstream, upstream, "client"), daemon=True),
            threading.Thread(target=relay, args=(upstream, downstream, "server"), daemon=True),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        downstream.close()
        upstream.close()

    server = subprocess.Popen(
        [openssl, "s_server", "-accept", str(server_port), "-cert", str(cert), "-key", str(key), "-tls1_3",
         "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-no_ign_eof"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = None
    proxy_thread = threading.Thread(target=proxy, daemon=True)
    proxy_thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until s_server listens (it survives this probe connection)
            try:
                socket.create_connection(("127.0.0.1", server_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        client = subprocess.Popen(
            [openssl, "s_client", "-connect", f"127.0.0.1:{proxy_port}", "-tls1_3", "-keylogfile", str(keylog),
             "-no_ign_eof"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert client.stdin is not None and server.stdin is not None
        for line in (b"before update\n", b"K\n", b"after update\n"):
            time.sleep(0.6)
            client.stdin.write(line)
            client.stdin.flush()
        time.sleep(0.6)
        server.stdin.write(b"server after update\n")
        server.stdin.flush()
        time.sleep(0.6)
        client.stdin.close()
        client.wait(10)
    finally:
        for process in (client, server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(5)
        listener.close()
        proxy_thread.join(5)

    secrets: dict[str, bytes] = {}
    for line in keylog.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            secrets[parts[0]] = bytes.fromhex(parts[2])
    suite = lookup("TLS_AES_128_GCM_SHA256")
    plaintexts: dict[str, list[tuple[int, bytes]]] = {}
    updates = {}
    for writer, handshake_label, app_label in (
        ("client", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"),
        ("server", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"),
    ):
        records = [r for r in _records(bytes(captured[writer])) if r[0][0] == 23]
        secret = secrets[handshake_label]
        opener = _Opener(secret, suite)
        opened: list[tuple[int, bytes]] = []
        generation = 0
        for header, fragment in records:
            content_type, plaintext = opener.open(header, fragment)
            opened.append((content_type, plaintext))
            if content_type == 22 and plaintext[0] == 20 and secret == secrets[handshake_label]:
                secret = secrets[app_label]  # Finished sent: switch to application traffic secret 0
                opener = _Opener(secret, suite)
            elif content_type == 22 and plaintext[0] == 24:
                secret = s13.next_traffic_secret("sha256", secret)  # KeyUpdate sent: next generation
                opener = _Opener(secret, suite)
                generation += 1
        plaintexts[writer] = opened
        updates[writer] = generation

    client_data = b"".join(p for t, p in plaintexts["client"] if t == 23)
    server_data = b"".join(p for t, p in plaintexts["server"] if t == 23)
    assert updates == {"client": 1, "server": 1}
    assert b"before update" in client_data and b"after update" in client_data
    assert b"server after update" in server_data
    # the client's KeyUpdate requested an update (RFC 8446 §4.6.3: request_update = 1), the server's did not
    assert (22, bytes.fromhex("1800000101")) in plaintexts["client"]
    assert (22, bytes.fromhex("1800000100")) in plaintexts["server"]


@pytest.mark.interop
@pytest.mark.parametrize("suite_name", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"])
def test_exporter_with_live_openssl(tmp_path: Path, suite_name: str) -> None:
    """TLS-Exporter (RFC 8446 §7.5) from OpenSSL's logged EXPORTER_SECRET equals s_client -keymatexport's output."""
    import re
    import socket
    import subprocess
    import time

    from tests.helpers.env import free_port, require_binary

    openssl = require_binary("openssl")
    cert, key = _self_signed(tmp_path)
    port = free_port()
    keylog = tmp_path / "keys.log"
    label = "EXPERIMENTAL-tlsstate"
    client: subprocess.Popen[bytes] | None = None
    server = subprocess.Popen(
        [openssl, "s_server", "-accept", str(port), "-cert", str(cert), "-key", str(key), "-tls1_3",
         "-ciphersuites", suite_name],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # EOF on stdin stops s_server
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        client = subprocess.Popen(
            [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-ciphersuites", suite_name,
             "-keylogfile", str(keylog), "-keymatexport", label, "-keymatexportlen", "40"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # keep stdin open until the handshake is done (EOF on stdin makes s_client quit at once)
        while time.monotonic() < deadline + 10 and "EXPORTER_SECRET" not in (
            keylog.read_text() if keylog.exists() else ""
        ):
            time.sleep(0.1)
        time.sleep(0.3)
        output, _ = client.communicate(b"", timeout=10)
    finally:
        for process in (client, server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(5)
        if server.stdin is not None:
            server.stdin.close()
    match = re.search(r"Keying material: ([0-9A-Fa-f]+)", output.decode(errors="replace"))
    assert match, output[-500:]
    exporter_secret = next(
        bytes.fromhex(line.split()[2]) for line in keylog.read_text().splitlines() if line.startswith("EXPORTER_SECRET ")
    )
    suite = lookup(suite_name)
    derived = s13.export_keying_material(suite.prf_hash, exporter_secret, label.encode(), b"", 40)
    assert derived.hex() == match.group(1).lower()
