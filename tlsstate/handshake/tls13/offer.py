"""The client's first TLS 1.3 ClientHello (RFC 9846 §4.1.2): legacy_version 0x0303, a 32-byte legacy_session_id in
middlebox compatibility mode (Appendix D.4), the TLS 1.3 suites before any TLS 1.2 ones, and the extensions of
both: supported_versions (§4.2.1), supported_groups and key_share (§4.2.7, §4.2.8), signature_algorithms (§4.2.3).

The TLS 1.2 part (its suites and extensions, when TLS 1.2 is enabled too) comes from the TLS 1.2 client's own
builder; this module merges the two into one hello and remembers what a TLS 1.3 answer will be checked against
(:class:`ClientOffer13`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tlsstate.crypto import key_share
from tlsstate.crypto.key_share import ClientShare
from tlsstate.handshake.tls13 import early_data
from tlsstate.handshake.tls13.common import LEGACY_VERSION, random_bytes
from tlsstate.handshake.tls13.psk import PskOffer, ticket_to_offer, with_pre_shared_key
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import CompressionMethod, ExtensionType, ProtocolVersion
from tlsstate.wire.messages import ClientHello, Extension

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig


@dataclass(frozen=True)
class ClientOffer13:
    """What our ClientHello offered for TLS 1.3: the answer is checked against it (RFC 9846 §4.1.3, §4.2)."""

    suites: tuple[int, ...]
    groups: tuple[int, ...]
    shares: tuple[ClientShare, ...] = field(repr=False)
    signature_schemes: tuple[int, ...]
    #: The stored ticket offered as PSK identity 0 (RFC 9846 §4.2.11), if any.
    psk: PskOffer | None = None
    #: early_data was offered: 0-RTT data follows the ClientHello (RFC 9846 §4.2.10).
    early_data: bool = False

    def share_for(self, group: int) -> ClientShare | None:
        """Our share for ``group``, if we sent one."""
        return next((s for s in self.shares if s.group == group), None)


def _versions(config: TLSConfig) -> list[int]:
    """supported_versions, newest first (RFC 9846 §4.2.1): TLS 1.3, then the enabled older versions when a TLS
    1.2 suite is configured."""
    low, high = config.version_range()
    versions = [int(ProtocolVersion.TLS1_3)]
    if config.legacy_enabled:
        versions += [v for v in (0x0303, 0x0302, 0x0301) if low <= v <= high]
    return versions


def _replace(extensions: list[Extension], new: Extension) -> None:
    """Put ``new`` where an extension of its type is (the TLS 1.2 list's place), or at the end."""
    for i, e in enumerate(extensions):
        if e.type == new.type:
            extensions[i] = new
            return
    extensions.append(new)


def _tls13_only_extensions(config: TLSConfig) -> list[Extension]:
    """The extensions before the TLS 1.3 ones when no older version is offered: server_name (RFC 6066 §3), ALPN."""
    out: list[Extension] = []
    name = ext.sni_host_name(config.server_name)
    if name is not None:
        out.append(ext.build_server_name(name))
    if config.alpn_protocols:
        out.append(ext.build_alpn(config.alpn_protocols))
    return out


def client_hello(
    config: TLSConfig, legacy_suites: list[int], legacy_extensions: list[Extension], legacy_session_id: bytes,
    leading: list[Extension] | None = None, early_data_size: int = 0,
) -> tuple[ClientHello, ClientOffer13]:
    """The ClientHello offering TLS 1.3 (and what ``legacy_*`` adds for TLS 1.2 when enabled) and what it offered.

    ``legacy_session_id``: a TLS 1.2 session we offer to resume, else empty (compatibility mode then draws 32
    random bytes, RFC 9846 Appendix D.4). ``leading``: extensions put first (the record size ones). A stored TLS 1.3
    ticket is offered last, in pre_shared_key with its binder (RFC 9846 §4.2.11); with early_data before it when
    ``early_data_size`` bytes of 0-RTT data are queued and the ticket allows them (§4.2.10).
    """
    suites = [s.id for s in config.effective_tls13_suites()]
    groups13 = config.effective_tls13_groups()
    shares = tuple(key_share.client_share(g) for g in config.effective_key_share_groups())
    legacy_groups: Sequence[int] = ()
    for e in legacy_extensions:
        if e.type == ExtensionType.SUPPORTED_GROUPS:
            legacy_groups = ext.parse_supported_groups(e.data)
    # FFDHE groups are listed for TLS 1.2 DHE only when TLS 1.3 could not pick them (a TLS 1.3 server would take them as
    # groups we can run, RFC 9846 §4.2.7)
    groups = groups13 + [g for g in legacy_groups if g not in groups13 and not key_share.is_ffdhe(g)]
    schemes13 = config.effective_tls13_signature_schemes()
    schemes = schemes13 + [int(s) for s in config.effective_signature_schemes() if s not in schemes13]
    extensions = list(leading or []) + (list(legacy_extensions) if config.legacy_enabled
                                        else _tls13_only_extensions(config))
    _replace(extensions, ext.build_supported_groups(groups))
    _replace(extensions, ext.build_signature_algorithms(schemes if config.legacy_enabled else schemes13))
    if config.post_handshake_auth:  # RFC 9846 §4.2.6
        extensions.append(ext.build_empty(ExtensionType.POST_HANDSHAKE_AUTH))
    extensions.append(ext.build_supported_versions_client(_versions(config)))
    extensions.append(ext.build_key_share_client([ext.KeyShareEntry(s.group, s.public_bytes) for s in shares]))
    session_id = legacy_session_id or (random_bytes(32) if config.middlebox_compat else b"")
    hello = ClientHello(
        version=LEGACY_VERSION,
        random=random_bytes(32),
        session_id=session_id,
        cipher_suites=tuple(suites + [s for s in legacy_suites if s not in suites]),
        compression_methods=bytes([CompressionMethod.NULL]),
        extensions=tuple(extensions),
    )
    resumption = ticket_to_offer(config, suites)
    early = early_data.offers_early_data(resumption, early_data_size)
    if early:
        hello = dataclasses.replace(hello, extensions=(*extensions, ext.build_empty(ExtensionType.EARLY_DATA)))
    if resumption is not None:
        hello = with_pre_shared_key(hello, resumption)
    return hello, ClientOffer13(tuple(suites), tuple(groups13), shares, tuple(schemes13), resumption, early)


__all__ = ["ClientOffer13", "client_hello"]
