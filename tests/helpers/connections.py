"""Helpers shared by the connection / handshake / ssl-interop tests: certificates and an in-memory pump.

(It defines no tests itself.)
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh as pyca_dh
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.dh import FFDHE_GENERATOR, FFDHE_PRIMES
from tlsstate.events import ApplicationData, Event, HandshakeComplete
from tlsstate.wire.constants import NamedGroup

HOST = "localhost"


@functools.cache
def credentials(kind: str = "rsa") -> tuple[list[x509.Certificate], rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    """A CA-signed leaf for ``localhost`` (kind: rsa, rsa-pss-capable rsa, p256, p384), cached per kind."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tlsstate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "rsa":
        key = rsa.generate_private_key(65537, 2048)
    elif kind == "p256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif kind == "p384":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        raise ValueError(kind)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return [leaf, ca], key


def write_pem(tmp: Path, kind: str = "rsa") -> tuple[str, str, str]:
    """(certfile, keyfile, cafile) in ``tmp`` for the ``kind`` credentials."""
    chain, key = credentials(kind)
    cert_path, key_path, ca_path = tmp / f"{kind}.crt", tmp / f"{kind}.key", tmp / f"{kind}-ca.crt"
    cert_path.write_bytes(chain[0].public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ca_path.write_bytes(chain[1].public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path), str(ca_path)


def server_config(kind: str = "rsa", **overrides: object) -> TLSConfig:
    """A server config with the ``kind`` credentials (leaf only in the chain, like most servers + CA)."""
    chain, key = credentials(kind)
    cfg = TLSConfig(certificate_chain=[chain[0]], private_key=key)
    for name, value in overrides.items():
        setattr(cfg, name, value)
    return cfg


def client_config(**overrides: object) -> TLSConfig:
    """A client config that does not verify (tests of verification set verify/cafile themselves)."""
    cfg = TLSConfig(verify=False, server_name=HOST)
    for name, value in overrides.items():
        setattr(cfg, name, value)
    return cfg


def pump(
    client: Connection, server: Connection, *, chunk: int | None = None, rounds: int = 50
) -> tuple[list[Event], list[Event]]:
    """Shuttle bytes between two connections until neither has anything to say; collect events."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    idle = 0
    for _ in range(rounds):
        moved = False
        for sender, receiver, events in ((client, server, server_events), (server, client, client_events)):
            data = sender.bytes_to_send()
            if data:
                moved = True
                step = chunk or len(data)
                for i in range(0, len(data), step):
                    receiver.receive_bytes(data[i : i + step])
            while (event := receiver.next_event()) is not None:
                events.append(event)
                moved = True
        idle = 0 if moved else idle + 1
        if idle >= 2:  # a round with nothing may still have queued output from the last next_event()
            break
    return client_events, server_events


def handshake(
    client_cfg: TLSConfig, server_cfg: TLSConfig, *, chunk: int | None = None
) -> tuple[Connection, Connection, list[Event], list[Event]]:
    """Run a whole handshake in memory; returns both connections and their events."""
    client = Connection(client_cfg, server_side=False)
    server = Connection(server_cfg, server_side=True)
    client.start_handshake()
    client_events, server_events = pump(client, server, chunk=chunk)
    return client, server, client_events, server_events


def completes(events: Sequence[Event]) -> HandshakeComplete:
    """The HandshakeComplete event among ``events`` (assertion error if absent)."""
    found = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(found) == 1, events
    return found[0]


def received(events: Sequence[Event]) -> bytes:
    """All application data in ``events``."""
    return b"".join(e.data for e in events if isinstance(e, ApplicationData))


def dhparam_file(directory: Path, group: NamedGroup) -> str:
    """The RFC 7919 group as a PKCS#3 PEM file for OpenSSL's load_dh_params."""
    path = directory / f"{group.name.lower()}.pem"
    if not path.exists():
        params = pyca_dh.DHParameterNumbers(FFDHE_PRIMES[group], FFDHE_GENERATOR).parameters()
        path.write_bytes(params.parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3))
    return str(path)
