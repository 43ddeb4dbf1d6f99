"""TLS <= 1.2 key schedule (tlsstate.crypto.prf) against external vectors only.

Sources (see ../shared/vectors/SOURCES.md):
* NIST ACVP kdf-components-tls-1.0 (160 cases: master secret + key block, TLS 1.0/1.1 and TLS 1.2 SHA-256/384/512)
* NIST ACVP TLS-v1.2-KDF-RFC7627 (120 cases: extended master secret + key block)
* OpenSSL evpkdf_tls11_prf.txt / evpkdf_tls12_prf.txt (FIPS-only and error blocks skipped explicitly)
* Botan kdf/tls_prf.vec (32 TLS 1.0 PRF vectors, the IETF TLS-WG TLS 1.2 PRF vectors for SHA-224/256/384/512)
* Wireshark (tshark 4.0.17) pre-master -> master -> key expansion for every capture session that has them,
  including SSL 3.0 (rsasnakeoil2)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.env import VECTORS
from tests.helpers.vectorfiles import acvp_tests, botan_blocks, openssl_blocks, openssl_skip_reason
from tlsstate.crypto import certs, prf
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError

ACVP = VECTORS / "nist-acvp"
HASHES = {"SHA-1": None, "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}


def _acvp_cases(folder: str) -> list[Any]:
    return [
        pytest.param(group, test, id=f"g{group['tgId']}-{group['hashAlg']}-t{test['tcId']}")
        for group, test in acvp_tests(ACVP / folder / "internalProjection.json")
    ]


KDF_TLS10_CASES = _acvp_cases("kdf-components-tls-1.0")
EMS_CASES = _acvp_cases("TLS-v1.2-KDF-RFC7627")


def test_acvp_case_counts() -> None:
    assert len(KDF_TLS10_CASES) == 160
    assert len(EMS_CASES) == 120


@pytest.mark.parametrize(("group", "test"), KDF_TLS10_CASES)
def test_acvp_master_secret_and_key_block(group: dict[str, Any], test: dict[str, str]) -> None:
    hash_name = HASHES[group["hashAlg"]]
    if group["tlsVersion"] == "v1.0/1.1":
        assert hash_name is None
        versions = [ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1]
        hash_name = "sha256"  # ignored by the TLS 1.0/1.1 PRF
    else:
        assert group["tlsVersion"] == "v1.2"
        versions = [ProtocolVersion.TLS1_2]
    assert hash_name is not None
    b = bytes.fromhex
    for version in versions:
        master = prf.master_secret(
            version, hash_name, b(test["preMasterSecret"]), b(test["clientHelloRandom"]), b(test["serverHelloRandom"])
        )
        assert master.hex() == test["masterSecret"].lower()
        length = group["keyBlockLength"] // 8
        block = prf.key_block(version, hash_name, master, b(test["clientRandom"]), b(test["serverRandom"]), length)
        assert block.hex() == test["keyBlock"].lower()


@pytest.mark.parametrize(("group", "test"), EMS_CASES)
def test_acvp_extended_master_secret(group: dict[str, Any], test: dict[str, str]) -> None:
    hash_name = HASHES[group["hashAlg"]]
    assert hash_name is not None and group["tlsVersion"] == "v1.2_ems"
    b = bytes.fromhex
    master = prf.extended_master_secret(
        ProtocolVersion.TLS1_2, hash_name, b(test["preMasterSecret"]), b(test["sessionHash"])
    )
    assert master.hex() == test["masterSecret"].lower()
    block = prf.key_block(
        ProtocolVersion.TLS1_2,
        hash_name,
        master,
        b(test["clientRandom"]),
        b(test["serverRandom"]),
        group["keyBlockLength"] // 8,
    )
    assert block.hex() == test["keyBlock"].lower()


# --- OpenSSL evp KDF files ----------------------------------------------------------------------------------------------


def _openssl_prf_cases(name: str) -> list[Any]:
    cases = []
    for index, block in enumerate(openssl_blocks(VECTORS / "openssl-evp-kdf" / name)):
        reason = openssl_skip_reason(block)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        cases.append(pytest.param(block, id=f"{name}-{index}", marks=marks))
    return cases


TLS1_PRF_CASES = _openssl_prf_cases("evpkdf_tls11_prf.txt") + _openssl_prf_cases("evpkdf_tls12_prf.txt")


def test_openssl_case_counts() -> None:
    runnable = [c for c in TLS1_PRF_CASES if not c.marks]
    assert len(runnable) == 5  # tls11: master + key block; tls12: master, key block, key block (long KDF name)


@pytest.mark.parametrize("block", TLS1_PRF_CASES)
def test_openssl_tls1_prf(block: dict[str, list[str]]) -> None:
    ctrls: list[tuple[str, str]] = []
    for key, values in block.items():
        if key == "Ctrl":
            continue
        if key.startswith("Ctrl."):
            ctrls += [(key[5:], v) for v in values]
    digest = secret = None
    seed = b""  # OpenSSL concatenates the seed ctrls in the order given (label, then the randoms)
    for name, value in ctrls:
        kind, _, data = value.partition(":")
        if name == "digest":
            digest = data
        elif kind == "hexsecret":
            secret = bytes.fromhex(data)
        elif kind == "seed":
            seed += data.encode()
        elif kind == "hexseed":
            seed += bytes.fromhex(data)
    expected = bytes.fromhex(block["Output"][0])
    assert secret is not None
    if digest == "MD5-SHA1":
        # label is already in `seed`, so pass an empty label
        assert prf.tls10_prf(secret, b"", seed, len(expected)) == expected
    else:
        assert digest == "SHA256"
        assert prf.tls12_prf("sha256", secret, b"", seed, len(expected)) == expected


# --- Botan tls_prf.vec --------------------------------------------------------------------------------------------------


BOTAN_PRF = botan_blocks(VECTORS / "botan" / "kdf" / "tls_prf.vec")
BOTAN_HASH = {
    "TLS-12-PRF(HMAC(SHA-224))": "sha224",
    "TLS-12-PRF(HMAC(SHA-256))": "sha256",
    "TLS-12-PRF(HMAC(SHA-384))": "sha384",
    "TLS-12-PRF(HMAC(SHA-512))": "sha512",
}


def test_botan_case_counts() -> None:
    assert sum(1 for s, _ in BOTAN_PRF if s == "TLS-PRF") == 32
    assert sorted(s for s, _ in BOTAN_PRF if s != "TLS-PRF") == sorted(BOTAN_HASH)


@pytest.mark.parametrize(("section", "case"), [pytest.param(s, c, id=f"{s}-{i}") for i, (s, c) in enumerate(BOTAN_PRF)])
def test_botan_tls_prf(section: str, case: dict[str, str]) -> None:
    secret, seed, expected = bytes.fromhex(case["Secret"]), bytes.fromhex(case["Salt"]), bytes.fromhex(case["Output"])
    if section == "TLS-PRF":
        assert prf.tls10_prf(secret, b"", seed, len(expected)) == expected  # Salt = label + seed
        assert prf.prf(ProtocolVersion.TLS1_1, "sha256", secret, b"", seed, len(expected)) == expected
    else:
        label = bytes.fromhex(case["Label"])
        hash_name = BOTAN_HASH[section]
        assert prf.tls12_prf(hash_name, secret, label, seed, len(expected)) == expected
        assert prf.p_hash(hash_name, secret, label + seed, len(expected)) == expected


# --- Wireshark key material (SSL 3.0, TLS 1.0, TLS 1.2, PSK) --------------------------------------------------------------


def _wireshark_sessions() -> list[Any]:
    cases = []
    for path in sorted((VECTORS / "wireshark-test-suite" / "expected-tshark").glob("*.json")):
        data = json.loads(path.read_text())
        for index, km in enumerate(data.get("key_material", [])):
            if km.get("pre_master_secret") and km.get("client_random") and km.get("server_random"):
                cases.append(pytest.param(km, id=f"{path.stem}-{index}-{km['version']}-{km['cipher_suite']}"))
    return cases


WIRESHARK_SESSIONS = _wireshark_sessions()


def test_wireshark_session_count() -> None:
    versions = sorted({p.values[0]["version"] for p in WIRESHARK_SESSIONS})
    assert versions == ["0x0300", "0x0301", "0x0303"]
    assert len(WIRESHARK_SESSIONS) == 9  # dmgr, rsa-p-lt-q, 2 x rsasnakeoil2, 3 x tls-renegotiation, CCM, GCM
    assert sum(1 for p in WIRESHARK_SESSIONS if p.values[0]["version"] == "0x0300") == 2


@pytest.mark.parametrize("km", WIRESHARK_SESSIONS)
def test_wireshark_master_secret_and_key_expansion(km: dict[str, str]) -> None:
    from tlsstate.crypto.suites import lookup

    suite = lookup(km["cipher_suite"])
    version = ProtocolVersion(int(km["version"], 16))
    b = bytes.fromhex
    master = prf.master_secret(
        version, suite.prf_hash, b(km["pre_master_secret"]), b(km["client_random"]), b(km["server_random"])
    )
    assert master.hex() == km["master_secret"]
    expected = b(km["key_expansion"])  # Wireshark derives a little more than the suite needs; compare all of it
    block = prf.key_block(version, suite.prf_hash, master, b(km["client_random"]), b(km["server_random"]), len(expected))
    assert block == expected


# --- input checks and properties that need no vector -----------------------------------------------------------------------


def test_tls10_prf_secret_halves_share_middle_byte() -> None:
    # RFC 2246 §5: odd-length secrets share the middle byte; the Botan vectors above use 19-byte secrets.
    assert any(len(bytes.fromhex(c["Secret"])) % 2 for s, c in BOTAN_PRF if s == "TLS-PRF")


def test_prf_rejects_ssl3_and_tls13() -> None:
    for version in (ProtocolVersion.SSL3, ProtocolVersion.TLS1_3):
        with pytest.raises(ConfigurationError):
            prf.prf(version, "sha256", b"k", b"l", b"s", 12)


def test_bad_lengths_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        prf.master_secret(ProtocolVersion.TLS1_2, "sha256", b"x" * 48, b"r" * 31, b"r" * 32)
    with pytest.raises(ConfigurationError):
        prf.key_block(ProtocolVersion.TLS1_2, "sha256", b"m" * 47, b"r" * 32, b"r" * 32, 40)
    with pytest.raises(ConfigurationError):
        prf.p_hash("sha256", b"k", b"s", -1)
    with pytest.raises(ConfigurationError):
        prf.p_hash("sha256", b"k", b"s", 1 << 30)
    with pytest.raises(ConfigurationError):
        prf.ssl3_expand(b"k", b"s", 417)
    with pytest.raises(ConfigurationError):
        prf.p_hash("whirlpool", b"k", b"s", 1)


# --- Finished verify_data in real captures (SSL 3.0 incl. an SSLv2 ClientHello, TLS 1.0, TLS 1.2 CBC/GCM/CCM) -------------
#
# Each peer's Finished travels encrypted in the capture. The test opens that record with pyca directly (using the keys of
# Wireshark's master secret), and compares its verify_data with finished_verify_data over the handshake messages seen so
# far; so the expected value is the one OpenSSL/Apache/IBM computed, not ours.

CAPTURES = VECTORS / "wireshark-test-suite" / "captures"
EXPECTED = VECTORS / "wireshark-test-suite" / "expected-tshark"
FINISHED_CAPTURES = (
    "dmgr.pcapng",
    "rsa-p-lt-q.pcap",
    "rsasnakeoil2.pcap",
    "tls-renegotiation.pcap",
    "tls12-aes256gcm.pcap",
    "tls12-aes128ccm.pcap",
)


def _segments(path: Path) -> list[tuple[tuple[bytes, int, bytes, int], bytes]]:
    """TCP payloads in capture order, keyed by (src, sport, dst, dport); exact retransmissions dropped."""
    import io

    import dpkt

    data = path.read_bytes()
    try:
        reader: Any = dpkt.pcap.Reader(io.BytesIO(data))
    except ValueError:
        reader = dpkt.pcapng.Reader(io.BytesIO(data))
    link = reader.datalink()
    out = []
    seen: set[tuple[Any, ...]] = set()
    for _, frame in reader:
        packet = dpkt.sll.SLL(frame).data if link == 113 else dpkt.ethernet.Ethernet(frame).data
        segment = getattr(packet, "data", None)
        if not isinstance(segment, dpkt.tcp.TCP) or not segment.data:
            continue
        key = (bytes(packet.src), segment.sport, bytes(packet.dst), segment.dport)
        if (key, segment.seq) in seen:
            continue
        seen.add((key, segment.seq))
        out.append((key, bytes(segment.data)))
    return out


def _open_finished(suite: Any, version: int, keys: Any, from_client: bool, header: bytes, fragment: bytes) -> bytes:
    """Decrypt the first protected record of one direction with pyca (RFC 5246 §6.2.3, RFC 5288 §3, RFC 6655 §3)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM

    _, key, iv = keys.for_writer("client" if from_client else "server")
    if suite.is_aead:
        nonce, body = iv + fragment[:8], fragment[8:]
        aad = bytes(8) + header[:3] + (len(body) - 16).to_bytes(2, "big")
        aead = AESGCM(key) if suite.cipher.algorithm == "AES-GCM" else AESCCM(key, tag_length=16)
        return aead.decrypt(nonce, body, aad)
    if version >= ProtocolVersion.TLS1_1:
        iv, fragment = fragment[: suite.cipher.block_size], fragment[suite.cipher.block_size :]
    algorithm = TripleDES(key) if suite.cipher.algorithm == "3DES" else algorithms.AES(key)
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    plaintext = decryptor.update(fragment) + decryptor.finalize()
    unpadded = plaintext[: -(plaintext[-1] + 1)]
    return unpadded[: -suite.mac_key_length()]


def _finished_cases() -> list[Any]:
    from tlsstate.crypto.keys import derive_connection_keys
    from tlsstate.crypto.suites import by_id

    cases = []
    for name in FINISHED_CAPTURES:
        key_material = json.loads((EXPECTED / (name.split(".")[0] + ".json")).read_text())["key_material"]
        masters = [bytes.fromhex(km["master_secret"]) for km in key_material if km.get("master_secret")]
        blocks = [bytes.fromhex(km["key_expansion"]) for km in key_material]
        connections: dict[Any, dict[str, Any]] = {}
        for key, payload in _segments(CAPTURES / name):
            conn_id = tuple(sorted([key[:2], key[2:]]))
            conn = connections.setdefault(
                conn_id, {"client": key, "buf": {}, "hs": {}, "ccs": set(), "fin": set(), "transcript": b""}
            )
            from_client = key == conn["client"]
            if len(conn["fin"]) == 2:
                continue
            buf = conn["buf"].get(from_client, b"") + payload
            if from_client and not conn["transcript"] and buf[0] & 0x80:  # SSLv2 CLIENT-HELLO (RFC 6101 App. E)
                length = ((buf[0] & 0x7F) << 8) | buf[1]
                message, buf = buf[2 : 2 + length], buf[2 + length :]
                challenge = message[9 + int.from_bytes(message[3:5], "big") + int.from_bytes(message[5:7], "big") :]
                conn["client_random"] = challenge.rjust(32, b"\x00")
                conn["transcript"] += message
            while len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[3:5], "big"):
                header, fragment = buf[:5], buf[5 : 5 + int.from_bytes(buf[3:5], "big")]
                buf = buf[5 + len(fragment) :]
                if header[0] == 20:
                    conn["ccs"].add(from_client)
                elif header[0] == 22 and from_client in conn["ccs"] and from_client not in conn["fin"]:
                    suite, version = conn["suite"], conn["version"]
                    keys = derive_connection_keys(suite, version, conn["master"], conn["client_random"], conn["sr"])
                    message = _open_finished(suite, version, keys, from_client, header, fragment)
                    expected = prf.finished_verify_data(
                        version, suite.prf_hash, conn["master"], conn["transcript"], from_client
                    )
                    label = f"{name}-{'client' if from_client else 'server'}-{version.label}-{suite.hex_id}"
                    cases.append(pytest.param(message, expected, version, id=label))
                    conn["transcript"] += message
                    conn["fin"].add(from_client)
                elif header[0] == 22 and from_client not in conn["ccs"]:
                    hs = conn["hs"].get(from_client, b"") + fragment
                    while len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
                        message, hs = hs[: 4 + int.from_bytes(hs[1:4], "big")], hs[4 + int.from_bytes(hs[1:4], "big") :]
                        if message[0] == 1:
                            conn["client_random"] = message[6:38]
                        elif message[0] == 2:
                            conn["version"] = ProtocolVersion(int.from_bytes(message[4:6], "big"))
                            conn["sr"] = message[6:38]
                            sid = message[38]
                            conn["suite"] = by_id(int.from_bytes(message[39 + sid : 41 + sid], "big"))
                            conn["master"] = _master_for(conn, masters, blocks)
                        conn["transcript"] += message
                    conn["hs"][from_client] = hs
            conn["buf"][from_client] = buf
    return cases


def _master_for(conn: dict[str, Any], masters: list[bytes], blocks: list[bytes]) -> bytes:
    """The master secret whose key block (with this connection's randoms) Wireshark printed; resumptions reuse one."""
    for master in masters:
        for block in blocks:
            derived = prf.key_block(
                conn["version"], conn["suite"].prf_hash, master, conn["client_random"], conn["sr"], len(block)
            )
            if derived == block:
                return master
    return b"no master fits" + bytes(34)  # the Finished cases of this handshake then fail, visibly


FINISHED_CASES = _finished_cases()


def test_finished_case_coverage() -> None:
    # dmgr, rsa-p-lt-q, rsasnakeoil2 (SSLv2-hello full handshake + resumed), tls-renegotiation (first), GCM, CCM
    assert len(FINISHED_CASES) == 14
    versions = {p.values[2] for p in FINISHED_CASES}
    assert versions == {ProtocolVersion.SSL3, ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_2}


@pytest.mark.parametrize(("on_the_wire", "expected", "version"), FINISHED_CASES)  # on_the_wire: decrypted Finished
def test_finished_verify_data_in_captures(on_the_wire: bytes, expected: bytes, version: ProtocolVersion) -> None:
    length = 36 if version is ProtocolVersion.SSL3 else 12
    assert on_the_wire[:4] == bytes([20, 0, 0, length])  # the decrypted record holds one Finished message
    on_the_wire = on_the_wire[4:]
    assert on_the_wire == expected


# --- extended master secret and session hash against live OpenSSL ---


def _rsa_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed localhost certificate and key as PEM files for the live OpenSSL peer."""
    cert, key = certs.generate_self_signed(["localhost"], "rsa2048")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    certs.write_pem_files(cert, key, cert_path, key_path)
    return cert_path, key_path


def _run_openssl_pair(
    tmp_path: Path, version_flag: str, cipher: str, *client_args: str
) -> tuple[bytes, bytes, str, bytes]:  # (client->server bytes, server->client bytes, key log, s_client stdout)
    """openssl s_server and s_client on loopback with a recording relay between them; returns what each sent."""
    import contextlib
    import socket
    import subprocess
    import threading
    import time

    from tests.helpers.env import free_port, require_binary

    openssl = require_binary("openssl")
    cert, key = _rsa_certificate(tmp_path)
    server_port, proxy_port = free_port(), free_port()
    keylog = tmp_path / "keys.log"
    sent: dict[str, bytearray] = {"client": bytearray(), "server": bytearray()}
    listener = socket.create_server(("127.0.0.1", proxy_port))
    listener.settimeout(10)

    def relay(source: socket.socket, sink: socket.socket, writer: str) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sent[writer] += data
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def proxy() -> None:
        try:
            downstream, _ = listener.accept()
        except OSError:
            return
        with downstream, socket.create_connection(("127.0.0.1", server_port), timeout=10) as upstream:
            threads = [
                threading.Thread(target=relay, args=(downstream, upstream, "client"), daemon=True),
                threading.Thread(target=relay, args=(upstream, downstream, "server"), daemon=True),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(15)

    cipher_spec = f"{cipher}@SECLEVEL=0"
    server = subprocess.Popen(
        [openssl, "s_server", "-accept", str(server_port), "-cert", str(cert), "-key", str(key), version_flag,
         "-cipher", cipher_spec],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # EOF on stdin stops s_server
    )  # fmt: skip
    client: subprocess.Popen[bytes] | None = None
    proxy_thread = threading.Thread(target=proxy, daemon=True)
    proxy_thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until s_server listens (it survives this probe)
            try:
                socket.create_connection(("127.0.0.1", server_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        client = subprocess.Popen(
            [openssl, "s_client", "-connect", f"127.0.0.1:{proxy_port}", version_flag, "-cipher", cipher_spec,
             "-keylogfile", str(keylog), *client_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        while time.monotonic() < deadline + 10 and "CLIENT_RANDOM" not in (keylog.read_text() if keylog.exists() else ""):
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
        listener.close()
        proxy_thread.join(5)
    return bytes(sent["client"]), bytes(sent["server"]), keylog.read_text(), output


def _plaintext_handshake(data: bytes) -> list[bytes]:
    """Handshake messages sent before ChangeCipherSpec, from a byte stream of records."""
    fragments = b""
    while len(data) >= 5:
        length = int.from_bytes(data[3:5], "big")
        content_type, fragment, data = data[0], data[5 : 5 + length], data[5 + length :]
        if content_type == 20:
            break
        if content_type == 22:
            fragments += fragment
    messages = []
    while len(fragments) >= 4:
        length = int.from_bytes(fragments[1:4], "big")
        messages.append(fragments[: 4 + length])
        fragments = fragments[4 + length :]
    return messages


@pytest.mark.interop
@pytest.mark.parametrize(
    ("version_flag", "cipher", "version"),
    [
        ("-tls1", "AES128-SHA", ProtocolVersion.TLS1_0),
        ("-tls1_1", "AES256-SHA", ProtocolVersion.TLS1_1),
        ("-tls1_2", "AES128-GCM-SHA256", ProtocolVersion.TLS1_2),
        ("-tls1_2", "AES256-GCM-SHA384", ProtocolVersion.TLS1_2),
    ],
)
def test_extended_master_secret_with_live_openssl(
    tmp_path: Path, version_flag: str, cipher: str, version: ProtocolVersion
) -> None:
    """OpenSSL negotiates EMS by default: its logged master secret must equal
    PRF(premaster, "extended master secret", session_hash(CH..CKE)) (RFC 7627 §3/§4), MD5||SHA1 before TLS 1.2."""
    from tlsstate.crypto.suites import lookup

    label = "EXPERIMENTAL-tlsstate"
    client_bytes, server_bytes, keylog, output = _run_openssl_pair(
        tmp_path, version_flag, cipher, "-keymatexport", label, "-keymatexportlen", "42"
    )
    client_messages, server_messages = _plaintext_handshake(client_bytes), _plaintext_handshake(server_bytes)
    assert [m[0] for m in client_messages] == [1, 16]  # ClientHello, ClientKeyExchange
    assert [m[0] for m in server_messages] == [2, 11, 14, 4]  # ServerHello, Certificate, ServerHelloDone, ticket
    server_messages = server_messages[:3]  # NewSessionTicket comes after ClientKeyExchange
    server_hello = server_messages[0]
    assert server_hello[4:6] == version.to_bytes(2, "big")
    assert b"\x00\x17\x00\x00" in server_hello[38:]  # the extended_master_secret extension, empty
    suite = lookup(cipher)

    entries = {line.split()[0]: line.split()[1:] for line in keylog.splitlines() if line and not line.startswith("#")}
    premaster = bytes.fromhex(entries["RSA"][1])
    client_random, master = bytes.fromhex(entries["CLIENT_RANDOM"][0]), bytes.fromhex(entries["CLIENT_RANDOM"][1])
    assert client_messages[0][6:38] == client_random
    encrypted_premaster = client_messages[1][6:]  # u16 length + EncryptedPreMasterSecret (RFC 5246 §7.4.7.1)
    assert encrypted_premaster[:8].hex() == entries["RSA"][0]

    transcript = client_messages[0] + b"".join(server_messages) + client_messages[1]
    session_hash = prf.session_hash(version, suite.prf_hash, transcript)
    assert len(session_hash) == {ProtocolVersion.TLS1_2: 48 if suite.prf_hash == "sha384" else 32}.get(version, 36)
    assert prf.extended_master_secret(version, suite.prf_hash, premaster, session_hash) == master
    # and the plain RFC 5246 master secret would differ: EMS really was used
    assert prf.master_secret(version, suite.prf_hash, premaster, client_random, server_hello[6:38]) != master

    # RFC 5705 exporter without context, as s_client -keymatexport prints it
    import re

    match = re.search(r"Keying material: ([0-9A-Fa-f]+)", output.decode(errors="replace"))
    assert match, output[-400:]
    exported = prf.export_keying_material(
        version, suite.prf_hash, master, client_random, server_hello[6:38], label.encode(), None, 42
    )
    assert exported.hex() == match.group(1).lower()


# --- differential check against an independent stdlib-hmac P_hash over random inputs ---


def _stdlib_p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5 P_hash written with the stdlib's hmac module (independent of tlsstate.crypto.prf)."""
    import hmac as std_hmac

    out, a = b"", seed
    while len(out) < length:
        a = std_hmac.digest(secret, a, hash_name)
        out += std_hmac.digest(secret, a + seed, hash_name)
    return out[:length]


@settings(max_examples=150, deadline=None)
@given(
    hash_name=st.sampled_from(["md5", "sha1", "sha256", "sha384", "sha512"]),
    secret=st.binary(max_size=200),
    seed=st.binary(max_size=200),
    length=st.integers(min_value=0, max_value=300),
)
def test_p_hash_matches_stdlib_hmac(hash_name: str, secret: bytes, seed: bytes, length: int) -> None:
    assert prf.p_hash(hash_name, secret, seed, length) == _stdlib_p_hash(hash_name, secret, seed, length)


@settings(max_examples=150, deadline=None)
@given(secret=st.binary(max_size=101), label=st.binary(max_size=20), seed=st.binary(max_size=80), length=st.integers(0, 200))
def test_tls10_prf_matches_stdlib_hmac(secret: bytes, label: bytes, seed: bytes, length: int) -> None:
    half = (len(secret) + 1) // 2  # RFC 2246 §5: S1 and S2 share the middle byte of an odd-length secret
    md5_part = _stdlib_p_hash("md5", secret[:half], label + seed, length)
    sha_part = _stdlib_p_hash("sha1", secret[len(secret) - half :], label + seed, length)
    assert prf.tls10_prf(secret, label, seed, length) == bytes(x ^ y for x, y in zip(md5_part, sha_part, strict=True))
