"""Typed build/parse helpers for the hello extensions tlsstate uses.

Each ``build_*`` returns an :class:`~tlsstate.wire.messages.Extension`; each ``parse_*`` takes the
extension's ``data`` and is strict: DecodeError on bad lengths or trailing bytes, IllegalParameter
on well-formed but forbidden values. Sources: RFC 6066 (server_name §3, max_fragment_length §4),
RFC 7301 (ALPN), RFC 8422 §5.1 (supported_groups, ec_point_formats), RFC 5246 §7.4.1.4.1
(signature_algorithms), RFC 7627 (extended_master_secret), RFC 7366 (encrypt_then_mac), RFC 5746
(renegotiation_info), RFC 5077 (SessionTicket), RFC 8449 (record_size_limit), RFC 8446 §4.2
(supported_versions, key_share, psk_key_exchange_modes).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tlsstate.wire.codec import Reader, Writer
from tlsstate.wire.constants import ExtensionType
from tlsstate.wire.errors import DecodeError, IllegalParameter
from tlsstate.wire.messages import Extension
from tlsstate.wire.sequences import U16Sequence

# ---------------------------------------------------------------------------------------------
# Generic helpers
# ---------------------------------------------------------------------------------------------


def find_extension(extensions: Iterable[Extension] | None, ext_type: int) -> Extension | None:
    """The extension of type ``ext_type`` in a hello's list, or None (also when the list is None)."""
    for ext in extensions or ():
        if ext.type == ext_type:
            return ext
    return None


def check_no_duplicates(extensions: Iterable[Extension] | None, what: str = "hello") -> None:
    """IllegalParameter if one extension type occurs twice (RFC 5246 §7.4.1.4). One bit per type (8 KiB), however
    many extensions there are."""
    seen = bytearray(8192)
    for ext in extensions or ():
        byte, bit = ext.type >> 3, 1 << (ext.type & 7)
        if seen[byte] & bit:
            raise IllegalParameter(f"{what}: extension {extension_name(ext.type)} appears more than once")
        seen[byte] |= bit


def extension_name(ext_type: int) -> str:
    """IANA name of an extension type, e.g. ``server_name``, or ``unknown(0x1234)``."""
    try:
        return ExtensionType(ext_type).name.lower()
    except ValueError:
        return f"unknown(0x{ext_type:04x})"


def _reader(data: bytes, what: str) -> Reader:
    return Reader(data, f"{what} extension")


def build_empty(ext_type: int) -> Extension:
    """An extension with empty data (extended_master_secret, encrypt_then_mac, server_name in a
    ServerHello, an empty SessionTicket)."""
    return Extension(int(ext_type), b"")


def parse_empty(data: bytes, what: str) -> None:
    """DecodeError unless ``data`` is empty (RFC 7627 §5.1, RFC 7366 §2: "extension_data" is empty)."""
    if data:
        raise DecodeError(f"{what} extension must be empty, got {len(data)} byte(s)")


# ---------------------------------------------------------------------------------------------
# server_name (RFC 6066 §3)
# ---------------------------------------------------------------------------------------------

SERVER_NAME_HOST_NAME = 0


def is_ip_address(host: str) -> bool:
    """True for an IPv4/IPv6 literal, which is never sent as server_name (RFC 6066 §3)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


#: One label of a host name (RFC 1123 §2.1, RFC 1035 §2.3.1): 1..63 letters, digits and hyphens, not starting or
#: ending with a hyphen; the underscore, common in deployed names (and legal in DNS, RFC 2181 §11), is allowed too.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_MAX_HOST_NAME = 253  # RFC 1035 §3.1: 255 octets in wire form, so 253 characters written with dots


def check_host_name(value: bytes) -> str:
    """A ClientHello's HostName as RFC 6066 §3 defines it, else IllegalParameter (a well-formed extension carrying a
    value it forbids): ASCII only (an internationalized name travels as A-labels, so UTF-8 is refused), no control
    character (NUL, BEL, ESC, DEL, ...), no trailing dot, a valid DNS host name (labels as :data:`_LABEL`, at most
    253 characters, a top-level label that is not all digits, RFC 3696 §2), and no literal IPv4/IPv6 address."""
    problem = _host_name_problem(value)
    if problem is not None:
        shown = repr(value[:64])[1:] + ("..." if len(value) > 64 else "")
        raise IllegalParameter(f"server_name host_name {shown} {problem}")
    return value.decode("ascii")


def _host_name_problem(value: bytes) -> str | None:
    """What :func:`check_host_name` refuses in ``value``, said after the name ("is ...", "contains ..."), or None."""
    bad = next((b for b in value if b < 0x20 or b >= 0x7F), None)
    if bad is not None and bad >= 0x80:
        return f"is not ASCII (byte 0x{bad:02x}; RFC 6066 §3: internationalized names are sent as A-labels)"
    if bad is not None:
        return f"contains the control character 0x{bad:02x}"
    name = value.decode("ascii")
    if name.endswith("."):
        return "ends with a dot (RFC 6066 §3)"
    if is_ip_address(name.strip("[]")):
        return "is an IP address (RFC 6066 §3)"
    labels = name.split(".")
    if len(name) > _MAX_HOST_NAME or labels[-1].isdigit() or not all(_LABEL.fullmatch(label) for label in labels):
        return "is not a valid DNS host name (RFC 6066 §3)"
    return None


def sni_host_name(server_name: str | None) -> str | None:
    """The host name a client sends in server_name for ``server_name`` (a host name, an IP literal, or an IPv6
    literal in brackets): None for none and for IP literals, which RFC 6066 §3 does not let server_name carry."""
    if not server_name or is_ip_address(server_name.strip("[]")):
        return None
    return server_name


def build_server_name(host_name: str) -> Extension:
    """``ServerNameList`` with one host_name entry (RFC 6066 §3), IDNA-encoded to A-labels, no trailing dot.

    ValueError for what a server would refuse (:func:`check_host_name`): an empty name, a literal IP address,
    control characters, a name that is no valid DNS host name.
    """
    if is_ip_address(host_name.strip("[]")):
        raise ValueError(f"server_name cannot carry the IP address {host_name!r} (RFC 6066 §3)")
    try:
        name = host_name.rstrip(".").encode("idna")
    except UnicodeError:
        raise ValueError(f"not a valid host name: {host_name!r}") from None
    if not name:
        raise ValueError("server name must not be empty")
    problem = _host_name_problem(name)
    if problem is not None:
        raise ValueError(f"not a valid host name: {host_name!r} {problem}")
    w = Writer()
    with w.length_prefixed(2) as names:
        names.u8(SERVER_NAME_HOST_NAME)
        names.vec16(name)
    return Extension(ExtensionType.SERVER_NAME, w.getvalue())


def parse_server_name(data: bytes) -> str | None:
    """The host_name from a ClientHello server_name extension; None when it lists only other name types.

    RFC 6066 §3: ``ServerName server_name_list<1..2^16-1>``, so an empty extension or list is DecodeError (the
    empty form belongs to the ServerHello); at most one name per type (IllegalParameter); unknown name types are
    skipped; a host_name must be what :func:`check_host_name` accepts (IllegalParameter).
    """
    if not data:
        raise DecodeError("server_name extension in a ClientHello is empty (RFC 6066 §3: a list of 1 or more)")
    r = _reader(data, "server_name")
    names = r.sub(2, "server_name list", min_len=1)
    r.expect_end()
    host: str | None = None
    seen: set[int] = set()
    while not names.at_end():
        name_type = names.u8()
        value = names.vec16(1)
        if name_type in seen:
            raise IllegalParameter(f"server_name lists name type {name_type} more than once")
        seen.add(name_type)
        if name_type == SERVER_NAME_HOST_NAME:
            host = check_host_name(value)
    return host


# ---------------------------------------------------------------------------------------------
# ALPN (RFC 7301 §3.1)
# ---------------------------------------------------------------------------------------------


def _protocol_bytes(protocol: str | bytes) -> bytes:
    raw = protocol.encode("ascii") if isinstance(protocol, str) else bytes(protocol)
    if not 1 <= len(raw) <= 255:
        raise ValueError(f"ALPN protocol name must be 1..255 bytes, got {len(raw)}")
    return raw


def build_alpn(protocols: Sequence[str | bytes]) -> Extension:
    """``ProtocolNameList protocol_name_list<2..2^16-1>`` (RFC 7301 §3.1); a server passes one name."""
    if not protocols:
        raise ValueError("ALPN needs at least one protocol")
    w = Writer()
    with w.length_prefixed(2) as names:
        for protocol in protocols:
            names.vec8(_protocol_bytes(protocol))
    return Extension(ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, w.getvalue())


def parse_alpn(data: bytes) -> list[bytes]:
    """The protocol names (RFC 7301 §3.1): list of ``opaque ProtocolName<1..2^8-1>``, list >= 2 bytes."""
    r = _reader(data, "ALPN")
    names = r.sub(2, "ALPN protocol_name_list", min_len=2)
    r.expect_end()
    out: list[bytes] = []
    while not names.at_end():
        out.append(names.vec8(1))
    return out


def parse_alpn_selected(data: bytes) -> bytes:
    """A ServerHello's ALPN: exactly one protocol name (RFC 7301 §3.1), DecodeError otherwise."""
    names = parse_alpn(data)
    if len(names) != 1:
        raise DecodeError(f"server ALPN extension must name exactly one protocol, got {len(names)}")
    return names[0]


# ---------------------------------------------------------------------------------------------
# supported_groups, ec_point_formats (RFC 8422 §5.1), signature_algorithms (RFC 5246 §7.4.1.4.1)
# ---------------------------------------------------------------------------------------------


def _build_u16_list(ext_type: int, values: Sequence[int], what: str) -> Extension:
    if not values:
        raise ValueError(f"{what} must not be empty")
    w = Writer()
    w.u16_list(2, [int(v) for v in values])
    return Extension(int(ext_type), w.getvalue())


def _parse_u16_list(data: bytes, what: str) -> Sequence[int]:
    """A ``<2..2^16-1>`` list of uint16 kept compact (32,760 signature schemes stay 65,520 bytes)."""
    r = _reader(data, what)
    raw = r.vector(2, min_len=2)
    r.expect_end()
    if len(raw) % 2:
        raise DecodeError(f"{what}: odd length {len(raw)} for a list of uint16")
    return U16Sequence.from_bytes(raw)


def build_supported_groups(groups: Sequence[int]) -> Extension:
    """``NamedGroup named_group_list<2..2^16-1>`` (RFC 8422 §5.1.1, RFC 8446 §4.2.7)."""
    return _build_u16_list(ExtensionType.SUPPORTED_GROUPS, groups, "supported_groups")


def parse_supported_groups(data: bytes) -> Sequence[int]:
    """Group code points in preference order (RFC 8422 §5.1.1)."""
    return _parse_u16_list(data, "supported_groups")


EC_POINT_FORMAT_UNCOMPRESSED = 0


def build_ec_point_formats(formats: Sequence[int] = (EC_POINT_FORMAT_UNCOMPRESSED,)) -> Extension:
    """``ECPointFormat ec_point_format_list<1..2^8-1>`` (RFC 8422 §5.1.2)."""
    if not formats:
        raise ValueError("ec_point_formats must not be empty")
    w = Writer()
    w.vec8(bytes(formats))
    return Extension(ExtensionType.EC_POINT_FORMATS, w.getvalue())


def parse_ec_point_formats(data: bytes) -> list[int]:
    """The point formats (RFC 8422 §5.1.2). Without ``uncompressed`` (0) -> IllegalParameter (§5.1.2)."""
    r = _reader(data, "ec_point_formats")
    formats = r.vec8(1)
    r.expect_end()
    if EC_POINT_FORMAT_UNCOMPRESSED not in formats:
        raise IllegalParameter("ec_point_formats does not include the uncompressed format")
    return list(formats)


def build_signature_algorithms(schemes: Sequence[int]) -> Extension:
    """``supported_signature_algorithms<2..2^16-2>`` (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3)."""
    return _build_u16_list(ExtensionType.SIGNATURE_ALGORITHMS, schemes, "signature_algorithms")


def parse_signature_algorithms(data: bytes) -> Sequence[int]:
    """Signature scheme code points in preference order (RFC 5246 §7.4.1.4.1)."""
    return _parse_u16_list(data, "signature_algorithms")


def parse_signature_algorithms_cert(data: bytes) -> Sequence[int]:
    """The schemes accepted in certificates (RFC 8446 §4.2.3: the form of signature_algorithms)."""
    return _parse_u16_list(data, "signature_algorithms_cert")


# ---------------------------------------------------------------------------------------------
# extended_master_secret (RFC 7627 §5.1), encrypt_then_mac (RFC 7366 §2)
# ---------------------------------------------------------------------------------------------


def build_extended_master_secret() -> Extension:
    """The empty extended_master_secret extension (RFC 7627 §5.1)."""
    return build_empty(ExtensionType.EXTENDED_MASTER_SECRET)


def parse_extended_master_secret(data: bytes) -> None:
    """DecodeError unless empty (RFC 7627 §5.1)."""
    parse_empty(data, "extended_master_secret")


def build_encrypt_then_mac() -> Extension:
    """The empty encrypt_then_mac extension (RFC 7366 §2)."""
    return build_empty(ExtensionType.ENCRYPT_THEN_MAC)


def parse_encrypt_then_mac(data: bytes) -> None:
    """DecodeError unless empty (RFC 7366 §2)."""
    parse_empty(data, "encrypt_then_mac")


# ---------------------------------------------------------------------------------------------
# renegotiation_info (RFC 5746 §3.2), SessionTicket (RFC 5077 §3.2)
# ---------------------------------------------------------------------------------------------


def build_renegotiation_info(renegotiated_connection: bytes = b"") -> Extension:
    """``opaque renegotiated_connection<0..255>`` (RFC 5746 §3.2): empty on the first handshake,
    client_verify_data (client) or client_verify_data + server_verify_data (server) afterwards."""
    w = Writer()
    w.vec8(renegotiated_connection)
    return Extension(ExtensionType.RENEGOTIATION_INFO, w.getvalue())


def parse_renegotiation_info(data: bytes) -> bytes:
    """The renegotiated_connection bytes (RFC 5746 §3.2)."""
    r = _reader(data, "renegotiation_info")
    value = r.vec8()
    r.expect_end()
    return value


def build_session_ticket(ticket: bytes = b"") -> Extension:
    """SessionTicket extension (RFC 5077 §3.2): the ticket itself (empty to ask for a new one)."""
    return Extension(ExtensionType.SESSION_TICKET, bytes(ticket))


def parse_session_ticket(data: bytes) -> bytes:
    """The opaque ticket (RFC 5077 §3.2; the whole extension_data is the ticket)."""
    return bytes(data)


# ---------------------------------------------------------------------------------------------
# record_size_limit (RFC 8449 §4), max_fragment_length (RFC 6066 §4)
# ---------------------------------------------------------------------------------------------

MIN_RECORD_SIZE_LIMIT = 64


def build_record_size_limit(limit: int) -> Extension:
    """``uint16 RecordSizeLimit`` (RFC 8449 §4), at least 64."""
    if not MIN_RECORD_SIZE_LIMIT <= limit <= 0xFFFF:
        raise ValueError(f"record_size_limit must be 64..65535, got {limit}")
    return Extension(ExtensionType.RECORD_SIZE_LIMIT, limit.to_bytes(2, "big"))


def parse_record_size_limit(data: bytes) -> int:
    """The limit; a value below 64 -> IllegalParameter (RFC 8449 §4)."""
    r = _reader(data, "record_size_limit")
    limit = r.u16()
    r.expect_end()
    if limit < MIN_RECORD_SIZE_LIMIT:
        raise IllegalParameter(f"record_size_limit {limit} is below 64")
    return limit


#: RFC 6066 §4 MaxFragmentLength codes -> plaintext fragment limits.
MAX_FRAGMENT_LENGTHS = {1: 2**9, 2: 2**10, 3: 2**11, 4: 2**12}


def build_max_fragment_length(code: int) -> Extension:
    """``enum{2^9(1), 2^10(2), 2^11(3), 2^12(4)} MaxFragmentLength`` (RFC 6066 §4)."""
    if code not in MAX_FRAGMENT_LENGTHS:
        raise ValueError(f"max_fragment_length code must be 1..4, got {code}")
    return Extension(ExtensionType.MAX_FRAGMENT_LENGTH, bytes([code]))


def parse_max_fragment_length(data: bytes) -> int:
    """The code 1..4; any other value -> IllegalParameter (RFC 6066 §4). Map with MAX_FRAGMENT_LENGTHS."""
    r = _reader(data, "max_fragment_length")
    code = r.u8()
    r.expect_end()
    if code not in MAX_FRAGMENT_LENGTHS:
        raise IllegalParameter(f"max_fragment_length value {code} is not 1..4")
    return code


# ---------------------------------------------------------------------------------------------
# supported_versions, key_share, psk_key_exchange_modes (RFC 8446 §4.2.1, §4.2.8, §4.2.9)
# ---------------------------------------------------------------------------------------------


def build_supported_versions_client(versions: Sequence[int]) -> Extension:
    """ClientHello form: ``ProtocolVersion versions<2..254>`` (RFC 8446 §4.2.1)."""
    if not 1 <= len(versions) <= 127:
        raise ValueError("supported_versions needs 1..127 versions")
    w = Writer()
    w.vec8(b"".join(int(v).to_bytes(2, "big") for v in versions))
    return Extension(ExtensionType.SUPPORTED_VERSIONS, w.getvalue())


def parse_supported_versions_client(data: bytes) -> list[int]:
    """The offered versions (RFC 8446 §4.2.1)."""
    r = _reader(data, "supported_versions")
    raw = r.vec8(2, 254)
    r.expect_end()
    if len(raw) % 2:
        raise DecodeError(f"supported_versions: odd length {len(raw)}")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def build_supported_versions_server(version: int) -> Extension:
    """ServerHello form: one ``ProtocolVersion selected_version`` (RFC 8446 §4.2.1)."""
    return Extension(ExtensionType.SUPPORTED_VERSIONS, int(version).to_bytes(2, "big"))


def parse_supported_versions_server(data: bytes) -> int:
    """The selected version (RFC 8446 §4.2.1)."""
    r = _reader(data, "supported_versions")
    version = r.u16()
    r.expect_end()
    return version


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """``KeyShareEntry`` (RFC 8446 §4.2.8): a group and its public value."""

    group: int
    key_exchange: bytes


def _read_key_share_entry(r: Reader) -> KeyShareEntry:
    group = r.u16()
    key = r.vec16(1)
    return KeyShareEntry(group, key)


def build_key_share_client(entries: Sequence[KeyShareEntry]) -> Extension:
    """``KeyShareClientHello { KeyShareEntry client_shares<0..2^16-1>; }`` (RFC 8446 §4.2.8)."""
    w = Writer()
    with w.length_prefixed(2) as shares:
        for entry in entries:
            shares.u16(entry.group)
            shares.vec16(entry.key_exchange)
    return Extension(ExtensionType.KEY_SHARE, w.getvalue())


def parse_key_share_client(data: bytes) -> list[KeyShareEntry]:
    """Client shares; one group twice -> IllegalParameter (RFC 8446 §4.2.8)."""
    r = _reader(data, "key_share")
    shares = r.sub(2, "key_share client_shares")
    r.expect_end()
    out: list[KeyShareEntry] = []
    groups: set[int] = set()
    while not shares.at_end():
        entry = _read_key_share_entry(shares)
        if entry.group in groups:
            raise IllegalParameter(f"key_share offers group 0x{entry.group:04x} twice")
        groups.add(entry.group)
        out.append(entry)
    return out


def build_key_share_server(entry: KeyShareEntry) -> Extension:
    """``KeyShareServerHello { KeyShareEntry server_share; }`` (RFC 8446 §4.2.8)."""
    w = Writer()
    w.u16(entry.group)
    w.vec16(entry.key_exchange)
    return Extension(ExtensionType.KEY_SHARE, w.getvalue())


def parse_key_share_server(data: bytes) -> KeyShareEntry:
    """The server's share (RFC 8446 §4.2.8)."""
    r = _reader(data, "key_share")
    entry = _read_key_share_entry(r)
    r.expect_end()
    return entry


def build_key_share_hello_retry(group: int) -> Extension:
    """``KeyShareHelloRetryRequest { NamedGroup selected_group; }`` (RFC 9846 §4.2.8)."""
    return Extension(ExtensionType.KEY_SHARE, int(group).to_bytes(2, "big"))


def parse_key_share_hello_retry(data: bytes) -> int:
    """``KeyShareHelloRetryRequest { NamedGroup selected_group; }`` (RFC 8446 §4.2.8)."""
    r = _reader(data, "key_share")
    group = r.u16()
    r.expect_end()
    return group


PSK_KE = 0
PSK_DHE_KE = 1


def build_psk_key_exchange_modes(modes: Sequence[int]) -> Extension:
    """``PskKeyExchangeMode ke_modes<1..255>`` (RFC 8446 §4.2.9)."""
    if not modes:
        raise ValueError("psk_key_exchange_modes must not be empty")
    w = Writer()
    w.vec8(bytes(modes))
    return Extension(ExtensionType.PSK_KEY_EXCHANGE_MODES, w.getvalue())


def parse_psk_key_exchange_modes(data: bytes) -> list[int]:
    """The modes (RFC 8446 §4.2.9)."""
    r = _reader(data, "psk_key_exchange_modes")
    modes = r.vec8(1)
    r.expect_end()
    return list(modes)


def build_early_data_ticket(max_early_data_size: int) -> Extension:
    """early_data in a NewSessionTicket: ``uint32 max_early_data_size`` (RFC 9846 §4.2.10); in a ClientHello and
    EncryptedExtensions it is empty (:func:`build_empty`)."""
    return Extension(ExtensionType.EARLY_DATA, max_early_data_size.to_bytes(4, "big"))


def parse_early_data_ticket(data: bytes) -> int:
    """max_early_data_size of a NewSessionTicket's early_data (RFC 9846 §4.2.10)."""
    r = _reader(data, "early_data")
    size = r.u32()
    r.expect_end()
    return size


# ---------------------------------------------------------------------------------------------
# cookie, signature_algorithms_cert (RFC 9846 §4.2.2, §4.2.3)
# ---------------------------------------------------------------------------------------------


def build_cookie(cookie: bytes) -> Extension:
    """``opaque cookie<1..2^16-1>`` (RFC 9846 §4.2.2)."""
    if not cookie:
        raise ValueError("a cookie must not be empty")
    w = Writer()
    w.vec16(cookie)
    return Extension(ExtensionType.COOKIE, w.getvalue())


def parse_cookie(data: bytes) -> bytes:
    """The cookie (RFC 9846 §4.2.2)."""
    r = _reader(data, "cookie")
    cookie = r.vec16(1)
    r.expect_end()
    return cookie


def build_signature_algorithms_cert(schemes: Sequence[int]) -> Extension:
    """``signature_algorithms_cert``: the schemes we accept in certificates (RFC 9846 §4.2.3)."""
    return _build_u16_list(ExtensionType.SIGNATURE_ALGORITHMS_CERT, schemes, "signature_algorithms_cert")


def build_certificate_authorities(names: Sequence[bytes]) -> Extension:
    """``DistinguishedName authorities<3..2^16-1>``, each ``opaque DistinguishedName<1..2^16-1>`` (DER), RFC 9846
    §4.2.4."""
    w = Writer()
    with w.length_prefixed(2) as block:
        for name in names:
            block.vec16(name)
    return Extension(ExtensionType.CERTIFICATE_AUTHORITIES, w.getvalue())



# ---------------------------------------------------------------------------------------------
# pre_shared_key (RFC 9846 §4.2.11)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PskIdentity:
    """``PskIdentity``: the identity (a ticket, or an external PSK's name) and the obfuscated ticket age."""

    identity: bytes
    obfuscated_ticket_age: int


def build_pre_shared_key_client(identities: Sequence[PskIdentity], binders: Sequence[bytes]) -> Extension:
    """``OfferedPsks { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; }``."""
    w = Writer()
    with w.length_prefixed(2) as block:
        for psk in identities:
            block.vec16(psk.identity)
            block.u32(psk.obfuscated_ticket_age)
    with w.length_prefixed(2) as block:
        for binder in binders:
            block.vec8(binder)
    return Extension(ExtensionType.PRE_SHARED_KEY, w.getvalue())


def parse_pre_shared_key_client(data: bytes) -> tuple[list[PskIdentity], list[bytes]]:
    """The offered identities and binders; their numbers must match (illegal_parameter, RFC 9846 §4.2.11)."""
    r = _reader(data, "pre_shared_key")
    block = r.sub(2, "pre_shared_key identities", min_len=7)
    identities = []
    while not block.at_end():
        identity = block.vec16(1)
        identities.append(PskIdentity(identity, block.u32()))
    block = r.sub(2, "pre_shared_key binders", min_len=33)
    r.expect_end()
    binders = []
    while not block.at_end():
        binders.append(block.vec8(32))
    if len(binders) != len(identities):
        raise IllegalParameter(f"pre_shared_key has {len(identities)} identities but {len(binders)} binders")
    return identities, binders


def binders_length(binder_lengths: Sequence[int]) -> int:
    """Bytes the binders list takes at the end of a ClientHello (what the binder transcript leaves out)."""
    return 2 + sum(1 + n for n in binder_lengths)


def build_pre_shared_key_server(selected_identity: int) -> Extension:
    """ServerHello form: ``uint16 selected_identity``."""
    return Extension(ExtensionType.PRE_SHARED_KEY, int(selected_identity).to_bytes(2, "big"))


def parse_pre_shared_key_server(data: bytes) -> int:
    """The selected identity (RFC 9846 §4.2.11)."""
    r = _reader(data, "pre_shared_key")
    selected = r.u16()
    r.expect_end()
    return selected
