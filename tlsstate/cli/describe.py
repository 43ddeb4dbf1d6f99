"""How the ``tlsstate`` commands name what a handshake agreed: versions, the six values, peer certificates.

Shared by ``connect`` (its summary), ``serve`` (the ``--www`` page and the per-connection log line), ``demo`` and
``keys``. Certificates are named by public values only.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from tlsstate.wire.constants import ProtocolVersion

# ``tlsstate keys`` imports this module for VALUE_TITLES: the functions that look into certificates import the
# cryptography modules they need themselves, and the X.509 and socket layers are types only here.
if TYPE_CHECKING:
    from cryptography import x509

    from tlsstate.handshake.outputs import Tls13Secrets
    from tlsstate.io.sockets import TLSSocket

OPENSSL_VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}

#: The six values of a TLS <= 1.2 connection state in key-block order (RFC 5246 §6.3), by attribute of
#: :class:`~tlsstate.crypto.keys.ConnectionKeys`, with the title the commands print.
VALUE_TITLES = {
    "client_write_mac_key": "client write MAC key",
    "server_write_mac_key": "server write MAC key",
    "client_write_key": "client write key",
    "server_write_key": "server write key",
    "client_write_iv": "client write IV",
    "server_write_iv": "server write IV",
}


def version_name(version: int) -> str:
    """``TLS 1.2`` for a wire value (RFC 8446 §4.2.1 numbering), ``0x7f1c`` for one without a name."""
    try:
        return ProtocolVersion(version).label
    except ValueError:
        return f"0x{version:04x}"


def openssl_version_name(version: int) -> str:
    """OpenSSL's spelling: ``TLSv1.2``, ``TLSv1`` (for 1.0), ``SSLv3``."""
    return OPENSSL_VERSION_NAMES.get(version, f"0x{version:04x}")


def describe_certificate(cert: x509.Certificate) -> str:
    """One line: subject, issuer, key, validity (RFC 5280 §4.1; no secrets in a certificate)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_text = f"RSA-{key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_text = f"EC-{key.curve.name}"
    else:
        key_text = type(key).__name__
    return (
        f"s:{cert.subject.rfc4514_string()}  i:{cert.issuer.rfc4514_string()}  {key_text}  "
        f"valid {cert.not_valid_before_utc:%Y-%m-%d} .. {cert.not_valid_after_utc:%Y-%m-%d}"
    )


def spki_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex (the value pinned by RFC 7469 pin-sha256 and curl
    --pinnedpubkey; ``openssl x509 -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256``)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def certificate_identity(cert: x509.Certificate) -> str:
    """One line naming a peer certificate: ``s:<subject> i:<issuer> spki-sha256:<hex>`` (public values only)."""
    return f"s:{cert.subject.rfc4514_string()} i:{cert.issuer.rfc4514_string()} spki-sha256:{spki_sha256(cert)}"


def peer_chain(tls: TLSSocket) -> list[x509.Certificate]:
    """The peer's certificate chain, leaf first: from the HandshakeComplete event, else from the connection."""
    if tls.handshake is not None and tls.handshake.peer_certificates:
        return list(tls.handshake.peer_certificates)
    return list(tls.connection.peer_certificates)


def tls13_schedule_rows(secrets: Tls13Secrets) -> list[tuple[str, bytes | None]]:
    """The secrets of a TLS 1.3 key schedule in RFC 9846 §7.1 order, with the titles the commands print (the 0-RTT
    ones only when the handshake had early data)."""
    early: list[tuple[str, bytes | None]] = [
        ("client early traffic secret", secrets.client_early_traffic_secret),
        ("early exporter master secret", secrets.early_exporter_master_secret),
    ] if secrets.client_early_traffic_secret is not None else []
    return [
        ("(EC)DHE shared secret", secrets.shared_secret),
        ("early secret", secrets.early_secret),
        *early,
        ("handshake secret", secrets.handshake_secret),
        ("client handshake traffic secret", secrets.client_handshake_traffic_secret),
        ("server handshake traffic secret", secrets.server_handshake_traffic_secret),
        ("master secret", secrets.master_secret),
        ("client application traffic secret 0", secrets.client_application_traffic_secret_0),
        ("server application traffic secret 0", secrets.server_application_traffic_secret_0),
        ("exporter master secret", secrets.exporter_master_secret),
        ("resumption master secret", secrets.resumption_master_secret),
    ]

