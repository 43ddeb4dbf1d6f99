"""What the hellos agreed, and the two steps from it to key material (RFC 5246 §7.4.1, §8.1, §6.3; RFC 7627).

One :class:`Negotiated` is filled by whoever reads a pair of hellos: the client and server handshakes, and the
capture follower watching both directions. From it, :func:`master_secret_for` picks the classic or the
extended master secret and :func:`connection_keys_for` cuts the key block into the six values; the record layer's
:func:`~tlsstate.record.keying.protections_for` turns those into the two directions' record protections.
Those three are the only road from a handshake to installed keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from tlsstate.crypto import prf
from tlsstate.crypto.keys import ConnectionKeys, derive_connection_keys
from tlsstate.crypto.suites import CipherFamily, CipherSuite
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError


@dataclass
class Negotiated:
    """Parameters agreed in the hellos (RFC 5246 §7.4.1.2-§7.4.1.3); fixed once chosen."""

    version: ProtocolVersion
    suite: CipherSuite
    client_random: bytes
    server_random: bytes
    session_id: bytes
    client_version: int  # ClientHello.client_version, needed for the RSA premaster (RFC 5246 §7.4.7.1)
    extended_master_secret: bool = False
    encrypt_then_mac: bool = False
    alpn: str | None = None
    server_name: str | None = None
    resumed: bool = False
    #: The (EC)DHE group of the key exchange: a NamedGroup value (FFDHE by its RFC 7919 prime), else None.
    key_exchange_group: int | None = None
    #: RFC 5077: the server sends a NewSessionTicket in this handshake (empty SessionTicket in ServerHello).
    session_ticket: bool = False
    #: Largest plaintext per record we send / accept (RFC 6066 §4 max_fragment_length, RFC 8449 record_size_limit).
    send_limit: int = 16384
    receive_limit: int = 16384
    #: True for record_size_limit (protected records only, RFC 8449 §4); False for max_fragment_length (all records).
    limits_protected_only: bool = False
    #: ServerHello.compression_method (RFC 5246 §7.4.1.3): 0 null, 1 DEFLATE (RFC 3749); captures only.
    compression_method: int = 0
    #: RFC 5746: both hellos showed secure renegotiation (renegotiation_info or the SCSV, and the server's answer).
    secure_renegotiation: bool = False
    #: TLS 1.3: the server accepted the client's 0-RTT data (early_data in EncryptedExtensions, RFC 9846 §4.2.10).
    early_data_accepted: bool = False


def encrypt_then_mac_applies(suite: CipherSuite, version: int) -> bool:
    """RFC 7366 §3: EtM only changes CBC suites; SSL 3.0 has no extensions."""
    return suite.family is CipherFamily.CBC and version > ProtocolVersion.SSL3


def record_splitting_applies(suite: CipherSuite, version: int) -> bool:
    """1/n-1 record splitting (the BEAST countermeasure of NSS, OpenSSL and browsers) protects CBC in SSL 3.0 and
    TLS 1.0, where each record's IV is the previous record's last ciphertext block (RFC 2246 §6.2.3.2, RFC 6101
    §5.2.3.2), so predictable; TLS 1.1 added the explicit IV against exactly this (RFC 4346 §1)."""
    return suite.family is CipherFamily.CBC and version <= ProtocolVersion.TLS1_0


def master_secret_for(negotiated: Negotiated, premaster: bytes, session_hash: bytes | None = None) -> bytes:
    """master_secret (RFC 5246 §8.1; RFC 6101 §6.1) or, when negotiated, extended_master_secret (RFC 7627 §4).

    ``session_hash`` is Hash(handshake messages up to and including ClientKeyExchange) (RFC 7627 §3); it is
    needed only with the extended master secret.
    """
    n = negotiated
    if n.extended_master_secret:
        if session_hash is None:
            raise ConfigurationError("the extended master secret needs the session hash (RFC 7627 §3)")
        return prf.extended_master_secret(n.version, n.suite.prf_hash, premaster, session_hash)
    return prf.master_secret(n.version, n.suite.prf_hash, premaster, n.client_random, n.server_random)


def connection_keys_for(negotiated: Negotiated, master_secret: bytes) -> ConnectionKeys:
    """The key block of this connection cut into the six values (RFC 5246 §6.3; RFC 6101 §6.2.2)."""
    n = negotiated
    return derive_connection_keys(n.suite, n.version, master_secret, n.client_random, n.server_random)


__all__ = ["Negotiated", "connection_keys_for", "encrypt_then_mac_applies", "master_secret_for"]
