"""Where key material becomes record protection: the one road from a handshake to installed keys.

TLS ≤ 1.2 (RFC 5246 §6.3): the six values of :class:`~tlsstate.crypto.keys.ConnectionKeys` split into the
client's (client_write_MAC_key, client_write_key, client_write_IV) and the server's three; each triple protects the
records its writer sends. TLS 1.3 (RFC 9846 §7.3): one traffic secret gives one key and one IV for one direction
and epoch. The connection, the capture follower, ``tlsstate keys`` and ``tlsstate demo`` all come through here;
nothing else calls the protection factories.
"""

from __future__ import annotations

from typing import NamedTuple

from tlsstate.crypto.keys import ConnectionKeys
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.crypto.schedule13 import traffic_key_and_iv
from tlsstate.crypto.suites import CipherSuite
from tlsstate.record.protection import RecordProtection, make_protection, make_tls13_protection


class DirectionProtections(NamedTuple):
    """The record protection of each writer: ``client`` seals what the client sends, ``server`` what the server sends."""

    client: RecordProtection
    server: RecordProtection

    def for_writer(self, writer: str) -> RecordProtection:
        """The protection of the records ``writer`` ("client" or "server") sends."""
        return self.client if writer == "client" else self.server


def protections_for(negotiated: Negotiated, keys: ConnectionKeys) -> DirectionProtections:
    """Both directions' record protections from the six values (RFC 5246 §6.3, RFC 7366 for EtM)."""
    n = negotiated
    client = make_protection(
        n.suite, n.version, keys.client_write_mac_key, keys.client_write_key, keys.client_write_iv,
        encrypt_then_mac=n.encrypt_then_mac,
    )
    server = make_protection(
        n.suite, n.version, keys.server_write_mac_key, keys.server_write_key, keys.server_write_iv,
        encrypt_then_mac=n.encrypt_then_mac,
    )
    return DirectionProtections(client, server)


def tls13_protection_for(
    suite: CipherSuite, key: bytes, iv: bytes, *, header_is_additional_data: bool = True, name: str | None = None
) -> RecordProtection:
    """One direction and epoch of TLS 1.3 (RFC 9846 §5.2): the AEAD keyed by the key and IV that
    :func:`~tlsstate.crypto.schedule13.traffic_key_and_iv` derives from the traffic secret (§7.3).

    ``header_is_additional_data=False``: TLS 1.3 drafts before 25 (empty additional data; captures only).
    """
    return make_tls13_protection(suite, key, iv, header_is_additional_data=header_is_additional_data, name=name)


def traffic_protection(suite: CipherSuite, traffic_secret: bytes) -> RecordProtection:
    """One direction and epoch of a live TLS 1.3 connection from its traffic secret (RFC 9846 §7.3): the key and
    IV of :func:`~tlsstate.crypto.schedule13.traffic_key_and_iv`, then :func:`tls13_protection_for`."""
    key, iv = traffic_key_and_iv(suite, traffic_secret)
    return tls13_protection_for(suite, key, iv)


__all__ = ["DirectionProtections", "protections_for", "tls13_protection_for", "traffic_protection"]
