"""A peer certificate whose RSA key is not an RSA key is refused with bad_certificate (issue 5, item 1).

RFC 8017 §3.1: the modulus n is a product of odd primes (so odd, and here: no prime factor below 1000)
and 3 <= e <= n-1 with e coprime to λ(n) (so odd). RFC 5246 §7.2.2: a corrupt certificate is
bad_certificate. The hostile certificates are our server's real ones with bytes of the key edited, so
the alert is decided when the Certificate message arrives, before any key is used. The fuzz target
``client`` found the even modulus (pyca encrypt raised ValueError → internal_error before the fix).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fuzz import targets
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto import certs, dh
from tlsstate.crypto.suites import by_name
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import ProtocolError


def _client_and_flight(suite_name: str, edit: Callable[[bytearray, rsa.RSAPublicNumbers], None]) -> tuple[Connection, bytes]:
    suite = by_name(suite_name)
    server_cfg = targets.server_configs()[0]()
    server_cfg.cipher_suites = [suite]  # type: ignore[list-item]
    client = Connection(TLSConfig(verify=False, cipher_suites=[suite], max_version=ProtocolVersion.TLS1_2),  # type: ignore[list-item]
                        server_side=False)
    server = Connection(server_cfg, server_side=True)
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    assert server.next_event() is None
    flight = bytearray(server.bytes_to_send())
    numbers = server_cfg.certificate_chain[0].public_key().public_numbers()  # type: ignore[union-attr]
    edit(flight, numbers)
    return client, bytes(flight)


def _modulus_at(flight: bytearray, numbers: rsa.RSAPublicNumbers) -> int:
    modulus = numbers.n.to_bytes(256, "big")
    return bytes(flight).index(modulus)


def _even_modulus(flight: bytearray, numbers: rsa.RSAPublicNumbers) -> None:
    flight[_modulus_at(flight, numbers) + 255] &= 0xFE


def _even_exponent(flight: bytearray, numbers: rsa.RSAPublicNumbers) -> None:
    assert numbers.e == 65537
    at = _modulus_at(flight, numbers) + 256
    assert flight[at : at + 5] == b"\x02\x03\x01\x00\x01"  # INTEGER 65537 right after the modulus
    flight[at + 4] = 0x02  # e = 65538


def _modulus_times_three(flight: bytearray, numbers: rsa.RSAPublicNumbers) -> None:
    """Replace n by a 2048-bit odd multiple of 3 (same length, so the DER stays well-formed)."""
    at = _modulus_at(flight, numbers)
    n = (numbers.n // 3) * 3
    if n % 2 == 0:
        n -= 3
    flight[at : at + 256] = n.to_bytes(256, "big")


@pytest.mark.parametrize("suite", ["AES128-SHA", "ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-SHA"])
@pytest.mark.parametrize("edit", [_even_modulus, _even_exponent, _modulus_times_three])
def test_client_refuses_a_certificate_whose_rsa_key_is_invalid(suite: str, edit: Callable[..., None]) -> None:
    client, flight = _client_and_flight(suite, edit)
    client.receive_bytes(flight)
    with pytest.raises(ProtocolError) as info:
        while client.next_event() is not None:
            pass
    assert info.value.alert is AlertDescription.BAD_CERTIFICATE, info.value
    # the alert goes out in the clear (no keys yet): level fatal(2), bad_certificate(42)
    assert client.bytes_to_send()[-2:] == bytes([2, 42])


def test_unedited_flight_is_accepted() -> None:
    """Control: the same flight without an edit passes the Certificate step (the edits are what fail)."""
    client, flight = _client_and_flight("AES128-SHA", lambda f, n: None)
    client.receive_bytes(flight)
    while client.next_event() is not None:
        pass
    assert client.handshake_state == "ClientWaitChangeCipherSpec"


def test_real_keys_pass_the_check() -> None:
    """RSA keys made by OpenSSL (512 to 4096 bits, e = 3 and 65537) are valid: the check refuses no real key."""
    for bits, exponent in [(512, 3), (1024, 65537), (2048, 3), (4096, 65537)]:
        out = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", f"rsa:{bits}", "-pkeyopt", f"rsa_keygen_pubexp:{exponent}",
             "-nodes", "-keyout", "/dev/null", "-subj", "/CN=t", "-days", "1", "-outform", "DER"],
            capture_output=True, check=True, timeout=60,
        ).stdout
        key = x509.load_der_x509_certificate(out).public_key()
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == bits
        certs.check_peer_public_key(key)


@pytest.mark.parametrize(("n", "e", "why"), [
    (2**2048 - 2, 65537, "even"),
    (3 * (2**2046 + 1), 65537, "small prime factor"),
    (997 * (2**2038 + 1), 65537, "small prime factor"),
])
def test_check_peer_public_key(n: int, e: int, why: str) -> None:
    key = rsa.RSAPublicNumbers(e, n).public_key()
    with pytest.raises(certs.CertificateError, match=why) as info:
        certs.check_peer_public_key(key)
    assert info.value.alert is AlertDescription.BAD_CERTIFICATE


def test_premaster_encryption_failure_is_typed() -> None:
    """Behind the certificate check: pyca's ValueError from encrypt becomes bad_certificate, not a crash."""
    key = rsa.RSAPublicNumbers(65537, 2**2048 - 2).public_key()
    with pytest.raises(ProtocolError) as info:
        dh.rsa_encrypt_premaster(key, dh.make_rsa_premaster(0x0303))
    assert info.value.alert is AlertDescription.BAD_CERTIFICATE


@pytest.mark.parametrize("edit", [_even_modulus, _even_exponent, _modulus_times_three])
def test_server_refuses_a_client_certificate_whose_rsa_key_is_invalid(edit: Callable[..., None], tmp_path: Path) -> None:
    """The same check in the server role: the client's Certificate message is edited on the wire; the server
    answers bad_certificate when the message arrives (before CertificateVerify is looked at)."""
    chain, key = targets._credentials("rsa2048")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    server_cfg = targets.server_configs()[0]()
    server_cfg.verify_client, server_cfg.client_cafile = "required", str(ca_file)
    client = Connection(TLSConfig(verify=False, max_version=ProtocolVersion.TLS1_2, cipher_suites=[by_name("AES128-SHA")],  # type: ignore[list-item]
                                  client_certificate_chain=list(chain), client_private_key=key), server_side=False)
    server = Connection(server_cfg, server_side=True)
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    assert server.next_event() is None
    client.receive_bytes(server.bytes_to_send())
    while client.next_event() is not None:
        pass
    flight = bytearray(client.bytes_to_send())
    edit(flight, chain[0].public_key().public_numbers())  # type: ignore[union-attr]
    server.receive_bytes(bytes(flight))
    with pytest.raises(ProtocolError) as info:
        while server.next_event() is not None:
            pass
    assert info.value.alert is AlertDescription.BAD_CERTIFICATE, info.value
    assert server.bytes_to_send()[-2:] == bytes([2, 42])
