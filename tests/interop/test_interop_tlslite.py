"""Live interop with tlslite-ng (an independent pure-Python TLS implementation) over loopback sockets.

Both roles, SSL 3.0 (RFC 6101; tlsstate needs ``enable_ssl3``) and TLS 1.0-1.2, RSA/DHE/ECDHE, with
RC4, 3DES, NULL, AES-CBC (MAC-then-encrypt and encrypt-then-MAC, RFC 7366), GCM, CCM, CCM-8 and
ChaCha20-Poly1305, extended master secret on and off (RFC 7627). tlslite runs in a thread; each side's
view of version, suite, EtM and EMS is compared with the other's, and data by SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.helpers.connections import HOST, credentials
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import CIPHER_SUITES, KeyExchange
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.constants import ProtocolVersion

tlslite = pytest.importorskip("tlslite")
from tlslite import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TIMEOUT = 20.0
OUR_SUITES = [s for s in CIPHER_SUITES if s.key_exchange in
              {KeyExchange.RSA, KeyExchange.DHE_RSA, KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA}]
VERSIONS = {(3, 0): ProtocolVersion.SSL3, (3, 1): ProtocolVersion.TLS1_0, (3, 2): ProtocolVersion.TLS1_1,
            (3, 3): ProtocolVersion.TLS1_2}

# (version, tlslite cipher, mac, key exchange, EtM, EMS, our IANA suite name)
CASES = [
    ((3, 0), "aes128", "sha", "rsa", False, False, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    ((3, 0), "3des", "sha", "rsa", False, False, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    ((3, 0), "rc4", "md5", "rsa", False, False, "TLS_RSA_WITH_RC4_128_MD5"),
    ((3, 1), "rc4", "sha", "rsa", False, True, "TLS_RSA_WITH_RC4_128_SHA"),
    ((3, 1), "aes256", "sha", "ecdhe_rsa", True, True, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    ((3, 1), "aes128", "sha", "dhe_rsa", False, False, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    ((3, 2), "3des", "sha", "rsa", True, True, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    ((3, 2), "aes128", "sha", "ecdhe_rsa", False, True, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    ((3, 3), "null", "sha256", "rsa", False, True, "TLS_RSA_WITH_NULL_SHA256"),
    ((3, 3), "null", "sha", "rsa", True, False, "TLS_RSA_WITH_NULL_SHA"),
    ((3, 3), "aes128", "sha256", "rsa", True, True, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    ((3, 3), "aes256", "sha256", "dhe_rsa", False, False, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"),
    ((3, 3), "aes256", "sha384", "ecdhe_rsa", True, True, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    ((3, 3), "aes128gcm", "aead", "ecdhe_rsa", False, True, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ((3, 3), "aes256gcm", "aead", "dhe_rsa", False, True, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    ((3, 3), "aes128ccm", "aead", "rsa", False, True, "TLS_RSA_WITH_AES_128_CCM"),
    ((3, 3), "aes256ccm_8", "aead", "dhe_rsa", False, False, "TLS_DHE_RSA_WITH_AES_256_CCM_8"),
    ((3, 3), "chacha20-poly1305", "aead", "ecdhe_rsa", False, True,
     "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
]
IDS = [f"{VERSIONS[c[0]].cli_name}-{c[6]}-{'etm' if c[4] else 'mte'}-{'ems' if c[5] else 'noems'}" for c in CASES]


def settings(version: tuple[int, int], cipher: str, mac: str, kx: str, etm: bool, ems: bool) -> Any:
    s = HandshakeSettings()
    s.minVersion = s.maxVersion = version
    s.cipherNames = [cipher]
    s.macNames = [mac]
    s.keyExchangeNames = [kx]
    s.useEncryptThenMAC = etm
    s.useExtendedMasterSecret = ems
    s.requireExtendedMasterSecret = False
    return s


def our_config(version: tuple[int, int], **extra: Any) -> TLSConfig:
    ours = VERSIONS[version]
    return TLSConfig(min_version=ours, max_version=ours, enable_ssl3=True, cipher_suites=OUR_SUITES, **extra)


def in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = target()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def tlslite_view(conn: Any) -> tuple[int, int, bool, bool]:
    version = conn.version
    return (version[0] << 8 | version[1], conn.session.cipherSuite, bool(conn.encryptThenMAC),
            bool(conn.extendedMasterSecret))


def our_view(tls: TLSSocket) -> tuple[int, int, bool, bool]:
    h = tls.handshake
    assert h is not None
    return h.version, h.cipher_suite.id, h.encrypt_then_mac, h.extended_master_secret


def recv_exactly(read: Any, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = read()
        assert chunk, "peer closed early"
        data += chunk
    return data


@pytest.mark.parametrize(("version", "cipher", "mac", "kx", "etm", "ems", "suite"), CASES, ids=IDS)
def test_our_client_against_tlslite_server(version: tuple[int, int], cipher: str, mac: str, kx: str, etm: bool,
                                           ems: bool, suite: str) -> None:
    chain, key = credentials("rsa")
    cert_pem = chain[0].public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    payload = os.urandom(50_000)

    def serve() -> tuple[int, int, bool, bool]:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        tls = TLSConnection(conn)
        try:
            tls.handshakeServer(certChain=_chain(cert_pem),
                                privateKey=parsePEMKey(key_pem, private=True),
                                settings=settings(version, cipher, mac, kx, etm, ems))
            data = recv_exactly(lambda: tls.read(max=65536), len(payload))
            tls.write(hashlib.sha256(data).digest())
            return tlslite_view(tls)
        finally:
            tls.close()

    thread, box = in_thread(serve)
    try:
        config = our_config(version, verify=False, server_name=HOST, encrypt_then_mac=True, extended_master_secret=True)
        with TLSSocket.connect("127.0.0.1", listener.getsockname()[1], config, timeout=TIMEOUT) as tls:
            tls.sendall(payload)
            assert recv_exactly(tls.recv, 32) == hashlib.sha256(payload).digest()  # 1/n-1 split in CBC
            ours = our_view(tls)
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert ours == box["result"]
    assert ours[0] == VERSIONS[version] and tls.handshake is not None and tls.handshake.cipher_suite.name == suite
    cbc = cipher in ("aes128", "aes256", "3des")
    assert ours[2] == (etm and cbc and version != (3, 0))  # RFC 7366: block ciphers only; no extensions in SSL 3.0
    assert ours[3] == (ems and version != (3, 0))


def _chain(cert_pem: str) -> Any:
    chain = X509CertChain()
    chain.parsePemList(cert_pem)
    return chain


@pytest.mark.parametrize(("version", "cipher", "mac", "kx", "etm", "ems", "suite"), CASES, ids=IDS)
def test_tlslite_client_against_our_server(version: tuple[int, int], cipher: str, mac: str, kx: str, etm: bool,
                                           ems: bool, suite: str) -> None:
    chain, key = credentials("rsa")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    payload = os.urandom(50_000)
    config = our_config(version, certificate_chain=[chain[0]], private_key=key)

    def serve() -> tuple[int, int, bool, bool]:
        conn, _ = listener.accept()
        with TLSSocket(conn, Connection(config, server_side=True),
                       server_side=True, timeout=TIMEOUT) as tls:
            tls.do_handshake()
            data = recv_exactly(tls.recv, len(payload))
            tls.sendall(data[::-1])
            return our_view(tls)

    thread, box = in_thread(serve)
    try:
        sock = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        client = TLSConnection(sock)
        try:
            client.handshakeClientCert(settings=settings(version, cipher, mac, kx, etm, ems), serverName=HOST)
            client.write(payload)
            back = recv_exactly(lambda: client.read(max=65536), len(payload))
            theirs = tlslite_view(client)
        finally:
            client.close()
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert back == payload[::-1]
    assert box["result"] == theirs
    assert theirs[0] == VERSIONS[version]
    assert box["result"][1] == next(s.id for s in CIPHER_SUITES if s.name == suite)


@pytest.fixture(scope="module")
def client_identity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca

    folder = tmp_path_factory.mktemp("tlslite-client")
    ca, ca_key = make_ca("tlslite client CA", "rsa2048")
    leaf, leaf_key = issue_certificate(ca, ca_key, ["client.example"], "rsa2048")
    (folder / "ca.pem").write_bytes(certificate_pem(ca))
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()).decode()
    return {"ca": str(folder / "ca.pem"), "cert": leaf, "key": leaf_key,
            "cert_pem": certificate_pem(leaf).decode(), "key_pem": key_pem}


def _tlslite_server(settings_: Any, **kwargs: Any) -> tuple[socket.socket, threading.Thread, dict[str, Any]]:
    chain, key = credentials("rsa")
    cert_pem = chain[0].public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> Any:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        tls = TLSConnection(conn)
        try:
            tls.handshakeServer(certChain=_chain(cert_pem), privateKey=parsePEMKey(key_pem, private=True),
                                settings=settings_, **kwargs)
            data = tls.read(max=65536)
            tls.write(data + os.urandom(3000).hex().encode())
            client_chain = tls.session.clientCertChain
            return client_chain.x509List[0].bytes if client_chain else None
        finally:
            tls.close()

    thread, box = in_thread(serve)
    return listener, thread, box


def test_client_certificate_to_tlslite_server(client_identity: dict[str, Any]) -> None:
    """tlslite asks for a certificate (reqCert) and receives exactly ours (RFC 5246 §7.4.6, CertificateVerify §7.4.8)."""
    listener, thread, box = _tlslite_server(settings((3, 3), "aes128gcm", "aead", "ecdhe_rsa", False, True),
                                            reqCert=True)
    config = our_config((3, 3), verify=False, server_name=HOST, client_certificate_chain=[client_identity["cert"]],
                        client_private_key=client_identity["key"])
    try:
        with TLSSocket.connect("127.0.0.1", listener.getsockname()[1], config, timeout=TIMEOUT) as tls:
            tls.sendall(b"hello")
            assert recv_exactly(tls.recv, 6005)[:5] == b"hello"
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert box["result"] == client_identity["cert"].public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("version", [(3, 1), (3, 3)], ids=["tls1.0", "tls1.2"])
def test_tlslite_client_certificate_to_our_server(client_identity: dict[str, Any], version: tuple[int, int]) -> None:
    """verify_client="required": tlslite's certificate and CertificateVerify are checked by our server."""
    chain, key = credentials("rsa")
    config = our_config(version, certificate_chain=[chain[0]], private_key=key, verify_client="required",
                        client_cafile=client_identity["ca"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> list[bytes]:
        conn, _ = listener.accept()
        with TLSSocket(conn, Connection(config, server_side=True), server_side=True, timeout=TIMEOUT) as tls:
            tls.do_handshake()
            tls.sendall(b"welcome")
            return [c.public_bytes(serialization.Encoding.DER) for c in tls.connection.peer_certificates]

    thread, box = in_thread(serve)
    try:
        client = TLSConnection(socket.create_connection(listener.getsockname(), timeout=TIMEOUT))
        try:
            client.handshakeClientCert(certChain=_chain(client_identity["cert_pem"]),
                                       privateKey=parsePEMKey(client_identity["key_pem"], private=True),
                                       settings=settings(version, "aes128", "sha", "ecdhe_rsa", True, True))
            assert recv_exactly(lambda: client.read(max=100), 7) == b"welcome"
        finally:
            client.close()
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert box["result"][0] == client_identity["cert"].public_bytes(serialization.Encoding.DER)


def test_record_size_limit_with_tlslite_server() -> None:
    """RFC 8449: we announce 512 and every record tlslite sends (7 kB in all) keeps to it; tlslite announces 1024."""
    tl_settings = settings((3, 3), "aes128gcm", "aead", "ecdhe_rsa", False, True)
    tl_settings.record_size_limit = 1024
    listener, thread, box = _tlslite_server(tl_settings)
    config = our_config((3, 3), verify=False, server_name=HOST, record_size_limit=512)
    try:
        with TLSSocket.connect("127.0.0.1", listener.getsockname()[1], config, timeout=TIMEOUT) as tls:
            tls.sendall(b"z" * 1000)  # one write: must leave as records of at most 1024 bytes to be accepted
            chunks = []
            while sum(map(len, chunks)) < 7000:
                chunks.append(tls.recv())
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert b"".join(chunks)[:1000] == b"z" * 1000
    assert max(map(len, chunks)) <= 512
