"""Reading the two hellos' extensions into what they say, for everyone who reads hellos.

The server reads a ClientHello with :func:`read_client_hello_extensions`, the client reads a ServerHello with
:func:`read_server_hello_extensions`, and the capture follower reads both with the same two functions, so a hello
means the same thing to a live handshake and to a capture. These functions only parse (malformed bodies are
``decode_error``, a repeated extension is ``illegal_parameter``, RFC 5246 §7.4.1.4, RFC 8446 §4.2); what a role
then requires of the values (offered or not, allowed in this version) is checked by the role.
Unknown extensions are ignored (RFC 5246 §7.4.1.4).

A live peer is strict: the first bad extension raises. A capture is lenient: given a ``problems`` list, each
bad extension is described there and skipped, and the others are still read (a forensic reader wants the SNI even
when a later extension is damaged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ExtensionType
from tlsstate.wire.errors import DecodeError, TLSError
from tlsstate.wire.messages import ClientHello, Extension, ServerHello


@dataclass
class ClientHelloExtensions:
    """What a ClientHello's extensions offer (RFC 5246 §7.4.1.4 and the RFCs of each extension)."""

    server_name: str | None = None  # RFC 6066 §3
    groups: Sequence[int] | None = None  # RFC 8422 §5.1.1 / RFC 7919
    point_formats: list[int] | None = None  # RFC 8422 §5.1.2
    signature_schemes: Sequence[int] | None = None  # RFC 5246 §7.4.1.4.1
    signature_schemes_cert: Sequence[int] | None = None  # RFC 8446 §4.2.3 signature_algorithms_cert
    alpn: list[bytes] | None = None  # RFC 7301 §3.1
    extended_master_secret: bool = False  # RFC 7627 §5.1
    encrypt_then_mac: bool = False  # RFC 7366 §2
    renegotiation_info: bytes | None = None  # RFC 5746 §3.2: None = no extension
    session_ticket: bytes | None = None  # RFC 5077 §3.2: None = no extension, b"" = asks for a ticket
    record_size_limit: int | None = None  # RFC 8449 §4
    max_fragment_length: int | None = None  # RFC 6066 §4 code 1..4
    early_data: bool = False  # RFC 8446 §4.2.10
    supported_versions: list[int] | None = None  # RFC 9846 §4.2.1
    key_shares: list[ext.KeyShareEntry] | None = None  # RFC 9846 §4.2.8
    cookie: bytes | None = None  # RFC 9846 §4.2.2
    psk_key_exchange_modes: list[int] | None = None  # RFC 9846 §4.2.9


_Read = TypeVar("_Read", bound="ClientHelloExtensions")


@overload
def read_client_hello_extensions(msg: ClientHello, problems: list[str] | None = None) -> ClientHelloExtensions: ...


@overload
def read_client_hello_extensions(msg: ClientHello, problems: list[str] | None, into: type[_Read]) -> _Read: ...


def read_client_hello_extensions(
    msg: ClientHello, problems: list[str] | None = None, into: type[ClientHelloExtensions] = ClientHelloExtensions
) -> ClientHelloExtensions:
    """Parse the ClientHello extensions tlsstate acts on (server) or reports (capture; ``problems`` given), into a
    new ``into`` (the server's :class:`~tlsstate.handshake.server_choices.Offer` adds its own fields)."""
    offer = into()
    _check_no_duplicates(msg, "ClientHello", problems)
    if problems is None:  # strict: the first bad extension ends the handshake
        for e in msg.extensions or ():
            _read_client_extension(offer, e)
    else:
        _each(msg.extensions, lambda e: _read_client_extension(offer, e), problems)
    return offer


#: The ClientHello extensions read here; any other type is skipped at once (a hello may carry 16,383 of them).
_CLIENT_TYPES = frozenset(int(t) for t in (
    ExtensionType.SERVER_NAME, ExtensionType.SESSION_TICKET, ExtensionType.RECORD_SIZE_LIMIT,
    ExtensionType.MAX_FRAGMENT_LENGTH, ExtensionType.SUPPORTED_GROUPS, ExtensionType.EC_POINT_FORMATS,
    ExtensionType.SIGNATURE_ALGORITHMS, ExtensionType.SIGNATURE_ALGORITHMS_CERT,
    ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, ExtensionType.EXTENDED_MASTER_SECRET,
    ExtensionType.ENCRYPT_THEN_MAC, ExtensionType.RENEGOTIATION_INFO, ExtensionType.EARLY_DATA,
    # TLS 1.3 (RFC 9846 §4.2), read by _read_client_extension13
    ExtensionType.SUPPORTED_VERSIONS, ExtensionType.KEY_SHARE, ExtensionType.COOKIE,
    ExtensionType.PSK_KEY_EXCHANGE_MODES,
))


def _read_client_extension(offer: ClientHelloExtensions, e: Extension) -> None:
    t = e.type
    if t not in _CLIENT_TYPES:
        return
    if t == ExtensionType.SERVER_NAME:
        offer.server_name = ext.parse_server_name(e.data)
    elif t == ExtensionType.SESSION_TICKET:
        offer.session_ticket = ext.parse_session_ticket(e.data)
    elif t == ExtensionType.RECORD_SIZE_LIMIT:
        offer.record_size_limit = ext.parse_record_size_limit(e.data)
    elif t == ExtensionType.MAX_FRAGMENT_LENGTH:
        offer.max_fragment_length = ext.parse_max_fragment_length(e.data)
    elif t == ExtensionType.SUPPORTED_GROUPS:
        offer.groups = ext.parse_supported_groups(e.data)
    elif t == ExtensionType.EC_POINT_FORMATS:
        offer.point_formats = ext.parse_ec_point_formats(e.data)
    elif t == ExtensionType.SIGNATURE_ALGORITHMS:
        offer.signature_schemes = ext.parse_signature_algorithms(e.data)
    elif t == ExtensionType.SIGNATURE_ALGORITHMS_CERT:
        offer.signature_schemes_cert = ext.parse_signature_algorithms_cert(e.data)
    elif t == ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
        offer.alpn = ext.parse_alpn(e.data)
    elif t == ExtensionType.EXTENDED_MASTER_SECRET:
        ext.parse_extended_master_secret(e.data)
        offer.extended_master_secret = True
    elif t == ExtensionType.ENCRYPT_THEN_MAC:
        ext.parse_encrypt_then_mac(e.data)
        offer.encrypt_then_mac = True
    elif t == ExtensionType.RENEGOTIATION_INFO:
        offer.renegotiation_info = ext.parse_renegotiation_info(e.data)
    elif t == ExtensionType.EARLY_DATA:
        offer.early_data = True
    else:
        _read_client_extension13(offer, e)


def _read_client_extension13(offer: ClientHelloExtensions, e: Extension) -> None:
    """The ClientHello extensions only TLS 1.3 reads (RFC 9846 §4.2)."""
    t = e.type
    if t == ExtensionType.SUPPORTED_VERSIONS:
        offer.supported_versions = ext.parse_supported_versions_client(e.data)
    elif t == ExtensionType.KEY_SHARE:
        offer.key_shares = ext.parse_key_share_client(e.data)
    elif t == ExtensionType.COOKIE:
        offer.cookie = ext.parse_cookie(e.data)
    elif t == ExtensionType.PSK_KEY_EXCHANGE_MODES:
        offer.psk_key_exchange_modes = ext.parse_psk_key_exchange_modes(e.data)


@dataclass
class ServerHelloExtensions:
    """What a ServerHello's extensions answer (RFC 5246 §7.4.1.4; RFC 8446 §4.1.3 for TLS 1.3)."""

    types: tuple[int, ...] = ()  # every extension type present, in order (unknown ones too)
    renegotiation_info: bytes | None = None  # RFC 5746 §3.4
    extended_master_secret: bool = False  # RFC 7627 §5.2
    encrypt_then_mac: bool = False  # RFC 7366 §3
    alpn: bytes | None = None  # RFC 7301 §3.1: the one selected protocol
    record_size_limit: int | None = None  # RFC 8449 §4
    max_fragment_length: int | None = None  # RFC 6066 §4: the length in bytes (512..4096)
    session_ticket: bool = False  # RFC 5077 §3.2: a NewSessionTicket follows
    point_formats: list[int] | None = None  # RFC 8422 §5.2
    supported_version: int | None = None  # RFC 8446 §4.2.1: the version a TLS 1.3 server chose
    pre_shared_key: bool = False  # RFC 8446 §4.2.11: a TLS 1.3 server accepted a PSK


def read_server_hello_extensions(msg: ServerHello, problems: list[str] | None = None) -> ServerHelloExtensions:
    """Parse the ServerHello extensions tlsstate acts on (client) or reports (capture; ``problems`` given)."""
    answer = ServerHelloExtensions(types=tuple(e.type for e in msg.extensions or ()))
    if problems is None:
        for e in msg.extensions or ():
            _read_server_extension(answer, e)
    else:
        _each(msg.extensions, lambda e: _read_server_extension(answer, e), problems)
    return answer


def _read_server_extension(answer: ServerHelloExtensions, e: Extension) -> None:
    t = e.type
    if t == ExtensionType.RENEGOTIATION_INFO:
        answer.renegotiation_info = ext.parse_renegotiation_info(e.data)
    elif t == ExtensionType.EXTENDED_MASTER_SECRET:
        ext.parse_extended_master_secret(e.data)
        answer.extended_master_secret = True
    elif t == ExtensionType.ENCRYPT_THEN_MAC:
        ext.parse_encrypt_then_mac(e.data)
        answer.encrypt_then_mac = True
    elif t == ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
        answer.alpn = ext.parse_alpn_selected(e.data)
    elif t == ExtensionType.SERVER_NAME:
        if e.data:  # RFC 6066 §3: the server's acknowledgement is empty
            raise DecodeError("server_name in ServerHello must be empty")
    elif t == ExtensionType.RECORD_SIZE_LIMIT:
        answer.record_size_limit = ext.parse_record_size_limit(e.data)
    elif t == ExtensionType.MAX_FRAGMENT_LENGTH:
        answer.max_fragment_length = ext.MAX_FRAGMENT_LENGTHS[ext.parse_max_fragment_length(e.data)]
    elif t == ExtensionType.SESSION_TICKET:
        if e.data:  # RFC 5077 §3.2: empty; a NewSessionTicket follows
            raise DecodeError("SessionTicket in ServerHello must be empty")
        answer.session_ticket = True
    elif t == ExtensionType.EC_POINT_FORMATS:
        answer.point_formats = ext.parse_ec_point_formats(e.data)
    elif t == ExtensionType.SUPPORTED_VERSIONS:
        answer.supported_version = ext.parse_supported_versions_server(e.data)
    elif t == ExtensionType.PRE_SHARED_KEY:
        answer.pre_shared_key = True


def _check_no_duplicates(msg: ClientHello, what: str, problems: list[str] | None) -> None:
    try:
        ext.check_no_duplicates(msg.extensions, what)
    except TLSError as exc:
        if problems is None:
            raise
        problems.append(str(exc))


def _each(extensions: Sequence[Extension] | None, read: Callable[[Extension], None], problems: list[str]) -> None:
    """``read`` every extension leniently (a capture): a bad one is noted in ``problems`` and skipped (the strict
    readers loop themselves: the first bad extension raises)."""
    for e in extensions or ():
        try:
            read(e)
        except TLSError as exc:
            problems.append(f"{ext.extension_name(e.type)}: {exc}")


__all__ = [
    "ClientHelloExtensions",
    "ServerHelloExtensions",
    "read_client_hello_extensions",
    "read_server_hello_extensions",
]
