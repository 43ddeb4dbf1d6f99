"""Certificates: loading every key/cert format OpenSSL writes, generating certificates that OpenSSL
and CPython ssl accept, and chain/host verification failing with the right alert."""

from __future__ import annotations

import contextlib
import datetime
import ssl
import subprocess
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.helpers.env import require_binary
from tlsstate.crypto import certs
from tlsstate.wire.errors import ConfigurationError

NOW = datetime.datetime.now(datetime.UTC)


def _openssl(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run([require_binary("openssl"), *args], capture_output=True, timeout=60, check=False)
    if check:
        assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Root CA -> intermediate CA -> leaf for localhost/127.0.0.1/::1, plus an unrelated root and an expired leaf."""
    folder = tmp_path_factory.mktemp("pki")
    root = certs.make_ca("tlsstate test root")
    intermediate = certs.make_ca("tlsstate test intermediate", issuer=root)
    leaf = certs.issue_certificate(*intermediate, hostnames=["localhost", "127.0.0.1", "::1"])
    other_root = certs.make_ca("unrelated root")
    expired = certs.issue_certificate(
        *intermediate, hostnames=["localhost"], not_before=NOW - datetime.timedelta(days=10),
        not_after=NOW - datetime.timedelta(days=1),
    )
    paths = {}
    for name, cert in (("root", root[0]), ("intermediate", intermediate[0]), ("leaf", leaf[0]),
                       ("other_root", other_root[0]), ("expired", expired[0])):
        path = folder / f"{name}.pem"
        path.write_bytes(certs.certificate_pem(cert))
        paths[name] = path
    return {"root": root, "intermediate": intermediate, "leaf": leaf, "other_root": other_root,
            "expired": expired, "paths": paths, "folder": folder}


def _openssl_verify(pki: dict[str, object], leaf: str, anchor: str, *extra: str) -> subprocess.CompletedProcess[bytes]:
    paths = pki["paths"]
    assert isinstance(paths, dict)
    return _openssl("verify", "-CAfile", str(paths[anchor]), "-untrusted", str(paths["intermediate"]), *extra,
                    str(paths[leaf]), check=False)


@pytest.mark.parametrize(("host", "flag"), [("localhost", "-verify_hostname"), ("127.0.0.1", "-verify_ip"),
                                            ("::1", "-verify_ip")])
def test_chain_verifies_like_openssl(pki: dict[str, object], host: str, flag: str) -> None:
    leaf, inter, root = pki["leaf"], pki["intermediate"], pki["root"]
    assert isinstance(leaf, tuple) and isinstance(inter, tuple) and isinstance(root, tuple)
    assert _openssl_verify(pki, "leaf", "root", flag, host).returncode == 0
    path = certs.verify_server_certificate([leaf[0], inter[0]], host, ca_certs=[root[0]])
    assert [c.subject for c in path] == [leaf[0].subject, inter[0].subject, root[0].subject]
    # DER input (as it arrives in a Certificate message) and a CA file work the same.
    from cryptography.hazmat.primitives.serialization import Encoding

    paths = pki["paths"]
    assert isinstance(paths, dict)
    der_chain = [leaf[0].public_bytes(Encoding.DER), inter[0].public_bytes(Encoding.DER)]
    assert len(certs.verify_server_certificate(der_chain, host, cafile=paths["root"])) == 3


def test_wrong_host_is_bad_certificate(pki: dict[str, object]) -> None:
    leaf, inter, root = pki["leaf"], pki["intermediate"], pki["root"]
    assert isinstance(leaf, tuple) and isinstance(inter, tuple) and isinstance(root, tuple)
    assert _openssl_verify(pki, "leaf", "root", "-verify_hostname", "example.com").returncode != 0
    for host in ("example.com", "127.0.0.2", "sub.localhost"):
        with pytest.raises(certs.HostnameMismatch) as info:
            certs.verify_server_certificate([leaf[0], inter[0]], host, ca_certs=[root[0]])
        assert info.value.alert.label == "bad_certificate"


def test_unknown_ca(pki: dict[str, object]) -> None:
    leaf, inter, other = pki["leaf"], pki["intermediate"], pki["other_root"]
    assert isinstance(leaf, tuple) and isinstance(inter, tuple) and isinstance(other, tuple)
    result = _openssl_verify(pki, "leaf", "other_root", "-verify_hostname", "localhost")
    assert result.returncode != 0 and b"unable to get" in result.stdout + result.stderr
    with pytest.raises(certs.UnknownCA) as info:
        certs.verify_server_certificate([leaf[0], inter[0]], "localhost", ca_certs=[other[0]])
    assert info.value.alert.label == "unknown_ca"
    with pytest.raises(certs.UnknownCA):  # the intermediate missing from the chain
        certs.verify_server_certificate([leaf[0]], "localhost", ca_certs=[pki["root"][0]])  # type: ignore[index]
    with pytest.raises(certs.UnknownCA):  # nothing of ours is in the system bundle
        certs.verify_server_certificate([leaf[0], inter[0]], "localhost")


def test_expired(pki: dict[str, object]) -> None:
    expired, inter, root, leaf = pki["expired"], pki["intermediate"], pki["root"], pki["leaf"]
    assert isinstance(expired, tuple) and isinstance(inter, tuple) and isinstance(root, tuple)
    assert isinstance(leaf, tuple)
    result = _openssl_verify(pki, "expired", "root")
    assert result.returncode != 0 and b"expired" in result.stdout + result.stderr
    with pytest.raises(certs.CertificateExpired) as info:
        certs.verify_server_certificate([expired[0], inter[0]], "localhost", ca_certs=[root[0]])
    assert info.value.alert.label == "certificate_expired"
    later = NOW + datetime.timedelta(days=400)  # every certificate has expired by then
    with pytest.raises(certs.CertificateExpired):
        certs.verify_server_certificate([leaf[0], inter[0]], "localhost", ca_certs=[root[0]], now=later)
    earlier = NOW - datetime.timedelta(days=5)  # not yet valid
    with pytest.raises(certs.CertificateExpired):
        certs.verify_server_certificate([leaf[0], inter[0]], "localhost", ca_certs=[root[0]], now=earlier)


def test_client_certificate_verification(pki: dict[str, object]) -> None:
    leaf, inter, root, other = pki["leaf"], pki["intermediate"], pki["root"], pki["other_root"]
    assert isinstance(leaf, tuple) and isinstance(inter, tuple) and isinstance(root, tuple)
    assert isinstance(other, tuple)
    assert len(certs.verify_client_certificate([leaf[0], inter[0]], ca_certs=[root[0]])) == 3
    with pytest.raises(certs.UnknownCA):
        certs.verify_client_certificate([leaf[0], inter[0]], ca_certs=[other[0]])


def test_host_name_forms(pki: dict[str, object]) -> None:
    root = certs.make_ca()
    leaf = certs.issue_certificate(*root, hostnames=["localhost", "xn--bcher-kva.example"])
    for host in ("LOCALHOST", "localhost.", "bücher.example"):
        assert certs.verify_server_certificate([leaf[0]], host, ca_certs=[root[0]])
    for bad in ("", "a..b", "*.x", "local host"):
        with pytest.raises(ConfigurationError):
            certs.verify_server_certificate([leaf[0]], bad, ca_certs=[root[0]])


def test_bad_chain_input() -> None:
    with pytest.raises(certs.CertificateError) as info:
        certs.verify_server_certificate([], "localhost")
    assert info.value.alert.label == "bad_certificate"
    with pytest.raises(certs.CertificateError):
        certs.verify_server_certificate([b"\x30\x03\x02\x01\x00"], "localhost")


@pytest.mark.parametrize("key_type", ["rsa2048", "ecdsa-p256", "ecdsa-p384"])
def test_self_signed_works_with_cpython_ssl(tmp_path: Path, key_type: str) -> None:
    """A CPython (OpenSSL) server uses our files; a CPython client verifies them for localhost."""
    cert, key = certs.generate_self_signed(key_type=key_type, days=2)
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    certs.write_pem_files(cert, key, cert_path, key_path)
    assert key_path.stat().st_mode & 0o777 == 0o600
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cert_path)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side, out, peer_in in ((client, c_out, s_in), (server, s_out, c_in)):
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
            peer_in.write(out.read())
    assert client.version() is not None and client.getpeercert()["subject"] == ((("commonName", "localhost"),),)
    summary = certs.summarize(cert)
    assert summary.subject_alt_names == ("DNS:localhost", "IP:127.0.0.1", "IP:::1")
    assert summary.self_signed and not summary.is_ca
    certs.verify_server_certificate([cert], "::1", ca_certs=[cert])


def test_summarize_matches_openssl(pki: dict[str, object]) -> None:
    paths = pki["paths"]
    assert isinstance(paths, dict)
    leaf = certs.load_certificates(paths["leaf"])[0]
    summary = certs.summarize(leaf)
    fingerprint = _openssl("x509", "-in", str(paths["leaf"]), "-noout", "-fingerprint", "-sha256").stdout.decode()
    assert fingerprint.strip().split("=", 1)[1] == summary.sha256_fingerprint
    subject = _openssl("x509", "-in", str(paths["leaf"]), "-noout", "-subject", "-nameopt", "RFC2253").stdout.decode()
    assert subject.strip().removeprefix("subject=") == summary.subject == "CN=localhost"
    assert summary.issuer == "CN=tlsstate test intermediate"
    assert (summary.key_type, summary.key_size) == ("ECDSA secp256r1", 256)
    text = "\n".join(summary.lines())
    assert "IP:::1" in text and summary.sha256_fingerprint in text
    assert summary.as_dict()["subject_alt_names"] == ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]


def test_load_key_formats_written_by_openssl(tmp_path: Path) -> None:
    base = tmp_path / "rsa.pem"
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(base))
    variants = {
        "pkcs8.pem": ["pkey", "-in", str(base)],
        "traditional.pem": ["rsa", "-in", str(base), "-traditional"],
        "pkcs8.der": ["pkcs8", "-topk8", "-nocrypt", "-in", str(base), "-outform", "DER"],
        "pkcs1.der": ["rsa", "-in", str(base), "-outform", "DER", "-traditional"],
        "encrypted.pem": ["pkcs8", "-topk8", "-in", str(base), "-v2", "aes-256-cbc", "-passout", "pass:s3cret"],
        "encrypted.der": ["pkcs8", "-topk8", "-in", str(base), "-v2", "aes-128-cbc", "-passout", "pass:s3cret",
                          "-outform", "DER"],
    }
    reference = certs.load_private_key(base)
    assert isinstance(reference, rsa.RSAPrivateKey)
    for name, args in variants.items():
        path = tmp_path / name
        _openssl(*args, "-out", str(path))
        password = "s3cret" if name.startswith("encrypted") else None
        key = certs.load_private_key(path, password)
        assert certs.public_keys_equal(key.public_key(), reference.public_key()), name
    with pytest.raises(ConfigurationError):
        certs.load_private_key(tmp_path / "encrypted.pem", "wrong")
    with pytest.raises(ConfigurationError):
        certs.load_private_key(tmp_path / "encrypted.pem")
    with pytest.raises(ConfigurationError):
        certs.load_private_key(tmp_path / "missing.pem")
    ec_path = tmp_path / "ec.pem"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ec_path))  # "EC PRIVATE KEY"
    assert isinstance(certs.load_private_key(ec_path), ec.EllipticCurvePrivateKey)


def test_pkcs12_and_combined_pem(pki: dict[str, object], tmp_path: Path) -> None:
    leaf, inter = pki["leaf"], pki["intermediate"]
    assert isinstance(leaf, tuple) and isinstance(inter, tuple)
    cert_path, key_path = tmp_path / "chain.pem", tmp_path / "key.pem"
    certs.write_pem_files([leaf[0], inter[0]], leaf[1], cert_path, key_path, password="pw")
    p12 = tmp_path / "bundle.p12"
    _openssl("pkcs12", "-export", "-in", str(cert_path), "-inkey", str(key_path), "-passin", "pass:pw",
             "-passout", "pass:p12pw", "-out", str(p12))
    key, chain = certs.load_pkcs12(p12, "p12pw")
    assert [c.subject for c in chain] == [leaf[0].subject, inter[0].subject]
    assert certs.public_keys_equal(key.public_key(), leaf[0].public_key())
    chain2, _key2 = certs.load_cert_and_key(p12, password="p12pw")
    assert chain2[0] == leaf[0]
    with pytest.raises(ConfigurationError):
        certs.load_pkcs12(p12, "nope")
    combined = tmp_path / "combined.pem"
    combined.write_bytes(certs.certificate_pem([leaf[0], inter[0]]) + certs.private_key_pem(leaf[1]))
    chain3, _key3 = certs.load_cert_and_key(combined)
    assert len(chain3) == 2
    other_key = tmp_path / "other.pem"
    other_key.write_bytes(certs.private_key_pem(inter[1]))
    with pytest.raises(ConfigurationError, match="does not belong"):
        certs.load_cert_and_key(cert_path, other_key)


def test_external_key_files(vectors: Path) -> None:
    """The Wireshark PKCS#12 (password WebAS) and the RFC 8448 server certificate + key."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the bundle is BER, pyca warns
        key, chain = certs.load_pkcs12(vectors / "wireshark-test-suite" / "keys" / "key.p12", "WebAS")
    assert isinstance(key, rsa.RSAPrivateKey) and "ibm.com" in chain[0].subject.rfc4514_string()
    assert certs.public_keys_equal(key.public_key(), chain[0].public_key())
    rfc_key = certs.load_private_key(vectors / "botan" / "tls_13_rfc8448" / "server_key.pem")
    assert isinstance(rfc_key, rsa.RSAPrivateKey) and rfc_key.key_size == 1024  # RFC 8448 §2 server key


@pytest.mark.filterwarnings("ignore:Parsed a serial number")  # an old root in the system bundle
def test_system_store_and_key_types() -> None:
    store = certs.load_trust_store()
    assert store is certs.load_trust_store(certs.SYSTEM_CA_FILE)  # cached
    assert len(certs.load_certificates(certs.SYSTEM_CA_FILE)) > 50
    with pytest.raises(ConfigurationError):
        certs.generate_private_key("dsa1024")
    cert, _key = certs.generate_self_signed(["example.test"], key_type="ed25519")
    assert certs.summarize(cert).key_type == "Ed25519"
    with pytest.raises(ConfigurationError):
        certs.load_trust_store("/nonexistent/ca.pem")
    assert isinstance(x509.load_pem_x509_certificate(certs.certificate_pem(cert)), x509.Certificate)
