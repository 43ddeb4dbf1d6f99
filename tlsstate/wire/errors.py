"""Typed errors: every protocol failure carries the TLS alert that reports it.

Hierarchy (RFC 5246 §7.2 names the alerts)::

    TLSError
     +- ConfigurationError      bad local input (unknown suite, odd hex): never sent on the wire
     +- ProtocolError(alert)    a protocol violation; ``alert`` is what goes to the peer
     |   +- DecodeError, IllegalParameter, UnexpectedMessage, RecordOverflow, HandshakeFailure,
     |   |  ProtocolVersionError, InternalError, InsufficientSecurity, DecryptError
     |   +- BadRecordMAC        every record integrity failure (MAC, padding, AEAD tag) is this one
     |   +- CertificateError    bad_certificate; UnknownCA, CertificateExpired, HostnameMismatch
     +- AlertReceived           the peer sent a fatal alert (or close_notify)
     +- TLSTimeout              a blocking socket operation timed out (also a TimeoutError)
     +- ConnectionClosedError   the transport ended (with or without close_notify)
    HandshakeFailed             a benchmark handshake did not complete (a bug, not a measurement)
    CaptureError                a capture file cannot be read (further); CaptureReadFailed inside the reader

``LocalProtocolError``/``RemoteProtocolError`` are not separate classes: a :class:`ProtocolError` is always a
fault we detected (and report with its alert); a fault the peer reported to us is :class:`AlertReceived`.
The sans-I/O :class:`~tlsstate.events.ConnectionClosed` *event* is not an error: it is what ``next_event`` returns
when the peer is done; :class:`ConnectionClosedError` is what the socket wrappers raise when a read meets it.
"""

from __future__ import annotations

from tlsstate.wire.constants import AlertDescription


class TLSError(Exception):
    """Base of every tlsstate error."""


class ConfigurationError(TLSError, ValueError):
    """Invalid local configuration or user input (never sent as an alert)."""


class ProtocolError(TLSError):
    """A TLS protocol violation; ``alert`` is the alert description to send to the peer."""

    default_alert: AlertDescription = AlertDescription.INTERNAL_ERROR

    def __init__(self, message: str, alert: AlertDescription | None = None) -> None:
        self.alert: AlertDescription = alert if alert is not None else self.default_alert
        self.message = message
        super().__init__(f"{self.alert.label}: {message}")


class DecodeError(ProtocolError):
    """Malformed bytes: wrong lengths, trailing data, truncated structures."""

    default_alert = AlertDescription.DECODE_ERROR


class IllegalParameter(ProtocolError):
    """A well-formed field holds a value that is not allowed here."""

    default_alert = AlertDescription.ILLEGAL_PARAMETER


class UnexpectedMessage(ProtocolError):
    """A message or record arrived where the protocol does not allow it."""

    default_alert = AlertDescription.UNEXPECTED_MESSAGE


class RecordOverflow(ProtocolError):
    """A record longer than RFC 5246 §6.2 allows."""

    default_alert = AlertDescription.RECORD_OVERFLOW


class DecompressionFailure(ProtocolError):
    """A compressed record does not decompress, or decompresses to more than 2^14 bytes (RFC 5246 §6.2.2)."""

    default_alert = AlertDescription.DECOMPRESSION_FAILURE


class HandshakeFailure(ProtocolError):
    """No acceptable set of security parameters."""

    default_alert = AlertDescription.HANDSHAKE_FAILURE


class ProtocolVersionError(ProtocolError):
    """The peer's protocol version is not supported."""

    default_alert = AlertDescription.PROTOCOL_VERSION


class InsufficientSecurity(ProtocolError):
    """The peer offers only parameters weaker than we accept."""

    default_alert = AlertDescription.INSUFFICIENT_SECURITY


class DecryptError(ProtocolError):
    """A handshake cryptographic check failed (signature, Finished verify_data)."""

    default_alert = AlertDescription.DECRYPT_ERROR


class InternalError(ProtocolError):
    """A local failure unrelated to the peer (e.g. sequence number exhausted)."""

    default_alert = AlertDescription.INTERNAL_ERROR


class BadRecordMAC(ProtocolError):
    """A protected record failed its integrity check.

    The message never says whether padding, MAC or AEAD tag failed (RFC 5246 §7.2.2, Lucky 13).
    """

    default_alert = AlertDescription.BAD_RECORD_MAC

    def __init__(self, message: str = "record failed integrity check") -> None:
        super().__init__(message)


class CertificateError(ProtocolError):
    """A peer certificate is unacceptable (RFC 5246 §7.2.2 bad_certificate)."""

    default_alert = AlertDescription.BAD_CERTIFICATE


class UnknownCA(CertificateError):
    """No chain to a trusted anchor (unknown_ca)."""

    default_alert = AlertDescription.UNKNOWN_CA


class CertificateExpired(CertificateError):
    """A certificate is outside its validity period (certificate_expired)."""

    default_alert = AlertDescription.CERTIFICATE_EXPIRED


class HostnameMismatch(CertificateError):
    """The leaf does not name the host we connected to (bad_certificate; RFC 6125)."""


class AlertReceived(TLSError):
    """The peer sent an alert that ends the connection."""

    def __init__(self, description: AlertDescription | int, level: int = 2) -> None:
        self.description = description
        self.level = level
        name = description.label if isinstance(description, AlertDescription) else f"alert {description}"
        super().__init__(f"peer sent {'fatal' if level == 2 else 'warning'} alert {name}")


class ExporterUnavailable(TLSError):
    """Keying material cannot be exported from this connection (RFC 5705 §4): the handshake has not completed, the
    protocol has none (SSL 3.0), or the master secret is not extended and the caller did not accept it (RFC 7627
    §5.4)."""


class TLSTimeout(TLSError, TimeoutError):
    """A blocking operation did not finish within the socket timeout."""


class ConnectionClosedError(TLSError):
    """The transport closed; ``clean`` is True only after a close_notify (truncation otherwise)."""

    def __init__(self, clean: bool) -> None:
        self.clean = clean
        super().__init__("connection closed" + ("" if clean else " without close_notify (possible truncation)"))


class HandshakeFailed(RuntimeError):
    """A benchmark handshake (``tlsstate speed --handshakes``) did not complete: a bug, not a measurement.

    Not a :class:`TLSError`: no peer is involved; both ends are tlsstate (or both OpenSSL) in one process.
    """


class CaptureError(Exception):
    """A capture file that cannot be read (further): ``message`` says where and why.

    Not a :class:`TLSError`: it is about the file, not about any TLS connection in it.
    """


class CaptureReadFailed(CaptureError):
    """Decompression failed part-way (corrupt or truncated gzip): the message says why (internal to the reader)."""


class CaptureWriteFailed(CaptureError):
    """A packet of the capture cannot be written to ``decrypt --write-pcap`` / ``--inject-secrets`` output: its time
    is outside what the output format's timestamp holds (pcap: 32-bit seconds; pcapng: 64-bit microseconds)."""


def __getattr__(name: str) -> object:
    """``errors.ConnectionClosed`` was the old name of :class:`ConnectionClosedError` (it clashed with the event)."""
    if name == "ConnectionClosed":
        import warnings

        warnings.warn("tlsstate.errors.ConnectionClosed is now ConnectionClosedError", DeprecationWarning, stacklevel=2)
        return ConnectionClosedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
