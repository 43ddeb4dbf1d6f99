"""Secure renegotiation (RFC 5746): what one handshake leaves to the next on the same connection, and the checks
each role makes on the renegotiating hellos.

A connection may renegotiate only when both sides showed RFC 5746 support in the handshake before (the
renegotiation_info extension or the TLS_EMPTY_RENEGOTIATION_INFO_SCSV); legacy renegotiation (RFC 5746 §4) is
always refused. The new handshake runs under the current keys; its hellos carry the previous Finished
verify_data (§3.5-§3.7), the version stays (as OpenSSL and GnuTLS require), and a connection that used the
extended master secret keeps it (RFC 7627 §5.2: a renegotiation without it would lose the binding to the session).
Everything here reads; it raises the RFC's alert (handshake_failure, protocol_version) on a violation.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from tlsstate.handshake.outputs import HandshakeResult
from tlsstate.wire.constants import TLS_EMPTY_RENEGOTIATION_INFO_SCSV, ProtocolVersion
from tlsstate.wire.errors import HandshakeFailure, ProtocolVersionError


@dataclass(frozen=True)
class Renegotiation:
    """The previous handshake's facts a renegotiation must carry (RFC 5746 §3.1): both Finished verify_data, the
    version and whether the extended master secret was used."""

    client_verify_data: bytes = field(repr=False)
    server_verify_data: bytes = field(repr=False)
    version: ProtocolVersion
    extended_master_secret: bool

    @property
    def client_renegotiated_connection(self) -> bytes:
        """What the client's renegotiation_info carries: its previous verify_data (RFC 5746 §3.5)."""
        return self.client_verify_data

    @property
    def server_renegotiated_connection(self) -> bytes:
        """What the server's renegotiation_info carries: both previous verify_data, client's first (§3.6-§3.7)."""
        return self.client_verify_data + self.server_verify_data


def renegotiation_after(result: HandshakeResult) -> Renegotiation | None:
    """What a finished handshake leaves for a renegotiation; None when the peer showed no RFC 5746 support (its
    renegotiation would be the legacy, insecure kind, RFC 5746 §4.2/§4.4: always refused)."""
    n = result.negotiated
    if not n.secure_renegotiation:
        return None
    return Renegotiation(result.client_verify_data, result.server_verify_data, n.version, n.extended_master_secret)


def check_renegotiating_client_hello(
    previous: Renegotiation,
    cipher_suites: Sequence[int],
    renegotiation_info: bytes | None,
    extended_master_secret: bool,
    client_version: int,
) -> ProtocolVersion:
    """A server's checks of a renegotiating ClientHello (RFC 5746 §3.7): no SCSV, renegotiation_info present and
    equal to the client's previous verify_data (compared in constant time); the extended master secret kept when it
    was used (RFC 7627 §5.2). Returns the version, which stays the connection's (the client must still offer it)."""
    if TLS_EMPTY_RENEGOTIATION_INFO_SCSV in cipher_suites:
        raise HandshakeFailure("renegotiating ClientHello carries TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.7)")
    if renegotiation_info is None:
        raise HandshakeFailure("renegotiating ClientHello without renegotiation_info (RFC 5746 §3.7)")
    if not hmac.compare_digest(renegotiation_info, previous.client_renegotiated_connection):
        raise HandshakeFailure("renegotiation_info does not carry the client's previous verify_data (RFC 5746 §3.7)")
    if previous.extended_master_secret and not extended_master_secret:
        raise HandshakeFailure("renegotiating ClientHello drops extended_master_secret (RFC 7627 §5.2)")
    if client_version < previous.version:
        raise ProtocolVersionError(
            f"renegotiating ClientHello offers 0x{client_version:04x}, below {previous.version.label}"
        )
    return previous.version


def check_renegotiating_server_hello(
    previous: Renegotiation, renegotiation_info: bytes | None, extended_master_secret: bool, version: ProtocolVersion
) -> None:
    """A client's checks of the ServerHello answering its renegotiation (RFC 5746 §3.5): renegotiation_info present
    and equal to both previous verify_data; the version unchanged; the extended master secret kept (RFC 7627)."""
    if renegotiation_info is None:
        raise HandshakeFailure("renegotiation ServerHello without renegotiation_info (RFC 5746 §3.5)")
    if not hmac.compare_digest(renegotiation_info, previous.server_renegotiated_connection):
        raise HandshakeFailure("renegotiation_info does not carry the previous verify_data (RFC 5746 §3.5)")
    if previous.extended_master_secret and not extended_master_secret:
        raise HandshakeFailure("renegotiation ServerHello drops extended_master_secret (RFC 7627 §5.2)")
    if version != previous.version:
        raise ProtocolVersionError(f"server renegotiated to {version.label} from {previous.version.label}")


__all__ = [
    "Renegotiation",
    "check_renegotiating_client_hello",
    "check_renegotiating_server_hello",
    "renegotiation_after",
]
