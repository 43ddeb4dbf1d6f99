"""What a TLS 1.0-1.2 server decides from a ClientHello: version (RFC 5246 Appendix E.1, RFC 7507), the
extensions it acts on, cipher suite, group and signature scheme (RFC 8422, RFC 7919, §7.4.1.4.1), ALPN
(RFC 7301), record limits (RFC 8449, RFC 6066), the session to resume (§7.3, RFC 5077, RFC 7627 §5.3) and the
ServerHello answering all of it (§7.4.1.3-§7.4.1.4).

Used by the ClientHello handler in :mod:`~tlsstate.handshake.server_states`; everything here reads the
configuration and the hello, and only :func:`server_hello` queues an output (the record limits).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tlsstate.crypto.certs import certificate_covers
from tlsstate.crypto.negotiated import Negotiated, encrypt_then_mac_applies
from tlsstate.crypto.suites import CipherSuite, KeyExchange
from tlsstate.handshake import crypto
from tlsstate.handshake.common import Context, require
from tlsstate.handshake.hellos import ClientHelloExtensions, read_client_hello_extensions
from tlsstate.handshake.outputs import RecordLimits
from tlsstate.sessions.cache import Session
from tlsstate.sessions.tickets import OpenedTicket
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import (
    PROTOCOL_VERSIONS,
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    TLS_FALLBACK_SCSV,
    AlertDescription,
    CompressionMethod,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
)
from tlsstate.wire.errors import HandshakeFailure, ProtocolError, ProtocolVersionError
from tlsstate.wire.messages import ClientHello, Extension, ServerHello

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

ECDHE = (KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA)
_CURVE_GROUPS = {"secp256r1": NamedGroup.SECP256R1, "secp384r1": NamedGroup.SECP384R1, "secp521r1": NamedGroup.SECP521R1}


@dataclass
class Offer(ClientHelloExtensions):
    """A ClientHello's extensions as the server decides on them (RFC 5246 §7.4.1.2, §7.4.1.4)."""

    #: RFC 5746 §3.6: renegotiation_info, or the TLS_EMPTY_RENEGOTIATION_INFO_SCSV in the cipher suites.
    secure_renegotiation: bool = False
    #: What our renegotiation_info answers (RFC 5746 §3.6-§3.7): empty initially, both previous verify_data when
    #: renegotiating.
    renegotiated_connection: bytes = b""
    #: RFC 6066 §3: our certificate names the client's server_name (then the ServerHello acknowledges it).
    server_name_known: bool = False


def read_client_hello(
    config: TLSConfig, msg: ClientHello, *, renegotiating: bool = False
) -> tuple[ProtocolVersion, Offer]:
    """The version we answer with (RFC 5246 Appendix E.1; a fallback SCSV below our best is inappropriate_fallback,
    RFC 7507 §3), null compression (§7.4.1.2), and the extensions with the rules a server applies to them on the
    initial handshake (:func:`~tlsstate.handshake.hellos.read_client_hello_extensions`; RFC 8422 §5.1.2,
    RFC 5746 §3.6, RFC 7627 §5.2). ``renegotiating``: renegotiation_info may carry data (RFC 5746 §3.7, checked by
    :mod:`~tlsstate.handshake.renegotiation`)."""
    low, high = config.legacy_version_range()
    if msg.version < low:
        raise ProtocolVersionError(f"client offers at most 0x{msg.version:04x}; we need {low.label} or later")
    answer = min(msg.version, int(high))
    version = PROTOCOL_VERSIONS.get(answer) or ProtocolVersion(answer)  # (a dict lookup, not an enum call)
    if TLS_FALLBACK_SCSV in msg.cipher_suites and version < high:
        raise ProtocolError("fallback SCSV with a lower version (RFC 7507 §3)", AlertDescription.INAPPROPRIATE_FALLBACK)
    require(
        CompressionMethod.NULL in msg.compression_methods,
        "ClientHello does not offer null compression",
        AlertDescription.ILLEGAL_PARAMETER,
    )
    offer = read_client_hello_extensions(msg, None, Offer)
    require(
        offer.point_formats is None or ext.EC_POINT_FORMAT_UNCOMPRESSED in offer.point_formats,
        "ec_point_formats lacks uncompressed (RFC 8422 §5.1.2)",
        AlertDescription.ILLEGAL_PARAMETER,
    )
    if offer.renegotiation_info and not renegotiating:  # RFC 5746 §3.6: must be empty initially
        raise HandshakeFailure("renegotiation_info is not empty on the initial handshake")
    offer.secure_renegotiation = (
        offer.renegotiation_info is not None or TLS_EMPTY_RENEGOTIATION_INFO_SCSV in msg.cipher_suites
    )
    if config.require_extended_master_secret and not offer.extended_master_secret:
        raise HandshakeFailure("client does not offer extended_master_secret (RFC 7627 §5.2)")
    offer.server_name_known = offer.server_name is not None and certificate_covers(
        config.certificate_chain[0], offer.server_name
    )
    return version, offer


def unrecognized_name_warning(offer: Offer, version: ProtocolVersion) -> bool:
    """RFC 6066 §3: a server with no certificate for the client's server_name may abort (fatal unrecognized_name)
    or continue; we continue, announcing it with the warning unrecognized_name (as ``openssl s_server -servername``
    does) where a warning of that name exists: TLS 1.0-1.2, not SSL 3.0 (RFC 6101 §5.4.2 has no such alert)."""
    return offer.server_name is not None and not offer.server_name_known and version > ProtocolVersion.SSL3


def choose_suite(
    config: TLSConfig, msg: ClientHello, version: ProtocolVersion, offer: Offer
) -> tuple[CipherSuite, int | None, int | None]:
    """The first suite of :func:`suites_in_choice_order` that fits: it needs our key type, a common group and a
    signature scheme (RFC 5246 §7.4.1.3, §7.4.3; RFC 8422 §5.1).

    TLS 1.2 with signature_algorithms_cert but no signature_algorithms: the client said which schemes it takes in
    certificates and none for the handshake, so no signed suite is chosen; without one that needs no signature
    (RSA key transport), handshake_failure (RFC 8446 §4.2.3, as it asks of TLS 1.2 servers that read the extension).
    """
    key = config.private_key
    assert key is not None
    has_rsa = isinstance(key, rsa.RSAPrivateKey)
    group = _choose_group(config, offer)
    no_signatures = (
        version >= ProtocolVersion.TLS1_2 and offer.signature_schemes is None and offer.signature_schemes_cert is not None
    )
    scheme = None if no_signatures else crypto.choose_signature_scheme(
        key, offer.signature_schemes, version, [int(x) for x in config.effective_signature_schemes()]
    )
    for suite in suites_in_choice_order(config, msg.cipher_suites):
        if not suite.valid_for(version):
            continue
        kx = suite.key_exchange
        if kx is KeyExchange.RSA and has_rsa:
            return suite, None, None
        if kx is KeyExchange.DHE_RSA and has_rsa:
            ffdhe = _choose_ffdhe_group(config, offer)
            if ffdhe is not None and (version < ProtocolVersion.TLS1_2 or scheme is not None):
                return suite, ffdhe, scheme
        if kx in ECDHE and group is not None:
            if (kx is KeyExchange.ECDHE_RSA) != has_rsa:
                continue
            if version >= ProtocolVersion.TLS1_2 and scheme is None:
                continue
            if not has_rsa and not _client_accepts_curve_of(key, offer):
                continue
            return suite, group, scheme
    if no_signatures:
        raise HandshakeFailure(
            "signature_algorithms_cert without signature_algorithms and no suite that needs no signature "
            "(RFC 8446 §4.2.3)"
        )
    raise HandshakeFailure("no cipher suite in common")


def suites_in_choice_order(config: TLSConfig, client_suites: Sequence[int]) -> list[CipherSuite]:
    """The suites both sides have, in the order the server tries them: the client's (RFC 5246 §7.4.1.2: its list
    is "in order of the client's preference"; what ``openssl s_server`` does by default), or ours when
    ``config.server_cipher_order`` (``s_server -serverpref``, ``serve --server-cipher-order``)."""
    ours = config.effective_suites()
    by_id = {suite.id: suite for suite in ours}
    # memory bounded by our list, however long the client's (up to 32,767 suites, issue 12 item 3)
    common = dict.fromkeys(suite_id for suite_id in client_suites if suite_id in by_id)
    if config.server_cipher_order:
        return [suite for suite in ours if suite.id in common]
    return [by_id[suite_id] for suite_id in common]


def _client_accepts_curve_of(key: object, offer: Offer) -> bool:
    """RFC 8422 §5.1.1 / §5.3: an ECDSA certificate's curve must be in the client's supported_groups."""
    if offer.groups is None or not isinstance(key, ec.EllipticCurvePrivateKey):
        return True
    curve = _CURVE_GROUPS.get(key.curve.name)
    return curve is not None and curve in offer.groups


def _choose_ffdhe_group(config: TLSConfig, offer: Offer) -> int | None:
    """RFC 7919 §4: a named FFDHE group the client lists, else (none listed) ffdhe2048; None = no DHE."""
    ours = [g for g in config.effective_dhe_groups() if g in crypto.FFDHE_GROUPS] or [NamedGroup.FFDHE2048]
    listed = [g for g in offer.groups or () if g in crypto.FFDHE_GROUPS]
    if not listed:
        return ours[0]
    return next((g for g in ours if g in listed), None)


def _choose_group(config: TLSConfig, offer: Offer) -> int | None:
    """RFC 8422 §5.1.1: our first ECDHE curve the client lists."""
    ours = [g for g in config.effective_groups() if g in crypto.ECDHE_GROUPS]
    if offer.groups is None:  # RFC 8422 §4: no extension -> any group; P-256 is the safe pick
        return NamedGroup.SECP256R1 if NamedGroup.SECP256R1 in ours else (ours[0] if ours else None)
    for group in ours:
        if group in offer.groups:
            return group
    return None


def choose_alpn(config: TLSConfig, offer: Offer) -> str | None:
    """RFC 7301 §3.2: our first protocol the client offers; none in common -> no_application_protocol."""
    if not offer.alpn or not config.alpn_protocols:
        return None
    for proto in config.alpn_protocols:
        if proto.encode() in offer.alpn:
            return proto
    raise ProtocolError("no ALPN protocol in common", AlertDescription.NO_APPLICATION_PROTOCOL)


def encrypt_then_mac_for(config: TLSConfig, offer: Offer, suite: CipherSuite, version: int) -> bool:
    """RFC 7366 §3: EtM when the client offers it, we allow it and the suite is CBC."""
    return offer.encrypt_then_mac and config.encrypt_then_mac and encrypt_then_mac_applies(suite, version)


def _record_limits(ctx: Context, n: Negotiated, offer: Offer) -> list[Extension]:
    """RFC 8449 §4 record_size_limit (preferred, §5: then max_fragment_length is ignored) or RFC 6066 §4
    max_fragment_length (echoed); the limits go to the connection."""
    if offer.record_size_limit is not None:
        ours = ctx.config.record_size_limit or 16384
        n.send_limit, n.receive_limit, n.limits_protected_only = min(offer.record_size_limit, 16384), ours, True
        ctx.emit(RecordLimits(n.send_limit, n.receive_limit, protected_only=True))
        return [ext.build_record_size_limit(ours)]
    if offer.max_fragment_length is not None:
        n.send_limit = n.receive_limit = ext.MAX_FRAGMENT_LENGTHS[offer.max_fragment_length]
        ctx.emit(RecordLimits(n.send_limit, n.receive_limit, protected_only=False))
        return [ext.build_max_fragment_length(offer.max_fragment_length)]
    return []


def server_hello(ctx: Context, n: Negotiated, offer: Offer, *, ecc: bool) -> ServerHello:
    """ServerHello with responses only to extensions the client sent (RFC 5246 §7.4.1.4)."""
    out: list[Extension] = _record_limits(ctx, n, offer) if n.version > ProtocolVersion.SSL3 else []
    if offer.secure_renegotiation:
        out.append(ext.build_renegotiation_info(offer.renegotiated_connection))
    if n.extended_master_secret:
        out.append(ext.build_extended_master_secret())
    if n.encrypt_then_mac:
        out.append(ext.build_encrypt_then_mac())
    if n.alpn is not None:
        out.append(ext.build_alpn([n.alpn]))
    if offer.server_name_known and not n.resumed:  # RFC 6066 §3: the name was used (and not on resumption)
        out.append(ext.build_empty(ExtensionType.SERVER_NAME))
    if ecc and offer.point_formats is not None:
        out.append(ext.build_ec_point_formats())
    if n.session_ticket:
        out.append(ext.build_session_ticket(b""))  # RFC 5077 §3.2: a NewSessionTicket will follow
    return ServerHello(
        version=int(n.version),
        random=n.server_random,
        session_id=n.session_id,
        cipher_suite=n.suite.id,
        compression_method=CompressionMethod.NULL,
        extensions=tuple(out) if out else None,
    )


def session_to_resume(
    config: TLSConfig, msg: ClientHello, version: ProtocolVersion, offer: Offer
) -> tuple[Session, CipherSuite, OpenedTicket | None] | None:
    """The session, its suite and the ticket to renew, when the cache holds the session (RFC 5246 §7.3 Figure 2,
    RFC 7627 §5.3) or a ticket does (RFC 5077 §3.1 Figure 2; renewed, §3.3, when :meth:`TicketKeys.needs_renewal`);
    None for a full handshake.

    RFC 5246 §7.4.1.2: a hello resuming a session "MUST include at least the cipher_suite from that session":
    a session we hold whose suite the hello does not offer is illegal_parameter (as OpenSSL answers, also for a
    ticket's session). Any other reason not to resume (unknown session or ticket, another version, a suite we no
    longer run, RFC 7627 §5.3) gives a full handshake."""
    session, renew = _session_from_ticket(config, msg, version, offer)
    if session is None:
        cache = config.session_cache
        if cache is None or not msg.session_id:
            return None
        session = cache.lookup(msg.session_id)
    if session is None or session.version != version:
        return None
    if session.cipher_suite not in msg.cipher_suites:
        raise ProtocolError(
            f"ClientHello resumes a session of suite 0x{session.cipher_suite:04x} without offering it (RFC 5246 §7.4.1.2)",
            AlertDescription.ILLEGAL_PARAMETER,
        )
    suite = next((s for s in config.effective_suites() if s.id == session.cipher_suite), None)
    if suite is None:
        return None
    if session.extended_master_secret and not offer.extended_master_secret:
        raise HandshakeFailure("resuming an extended-master-secret session without the extension (RFC 7627 §5.3)")
    if not session.extended_master_secret and offer.extended_master_secret:
        return None  # RFC 7627 §5.3: full handshake instead
    return session, suite, renew


def _session_from_ticket(
    config: TLSConfig, msg: ClientHello, version: int, offer: Offer
) -> tuple[Session | None, OpenedTicket | None]:
    """RFC 5077 §3.4: the session in a valid ticket (echoing the client's session ID), else None, and then
    the session ID cache or a full handshake decides; a bad ticket is never an error. The second value is
    the opened ticket when it should be renewed (§3.3), else None."""
    keys = config.ticket_keys
    if keys is None or not offer.session_ticket or version == ProtocolVersion.SSL3:
        return None, None
    opened = keys.open_ticket(offer.session_ticket)
    if opened is None:
        return None, None
    session = dataclasses.replace(opened.session, session_id=msg.session_id)
    return session, (opened if keys.needs_renewal(opened) else None)


__all__ = [
    "ECDHE",
    "Offer",
    "choose_alpn",
    "choose_suite",
    "encrypt_then_mac_for",
    "read_client_hello",
    "server_hello",
    "session_to_resume",
    "suites_in_choice_order",
    "unrecognized_name_warning",
]
