"""Configuration of a TLS connection (client or server), shared by many connections.

Defaults follow current practice for TLS 1.0-1.2: forward-secret AEAD suites first, then CBC;
extended master secret (RFC 7627) and encrypt-then-MAC (RFC 7366) on; SSL 3.0 off (RFC 7568). TLS 1.3 (RFC 9846)
is enabled by ``max_version = TLS1_3``: its suites, key-share groups and signature schemes have their own
``effective_tls13_*`` lists, taken from the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tlsstate.crypto.key_share import TLS13_GROUPS, is_hybrid
from tlsstate.crypto.signatures13 import TLS13_SIGNATURE_SCHEMES
from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_name
from tlsstate.sessions.anti_replay import SingleUseTickets
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import PROTOCOL_VERSIONS, NamedGroup, ProtocolVersion, SignatureScheme
from tlsstate.wire.errors import ConfigurationError, ProtocolVersionError

if TYPE_CHECKING:
    from tlsstate.wire.keylog import KeyLogWriter

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

#: Key exchanges the handshake state machines implement (RFC 5246 §7.4.3, §7.4.7; RFC 8422 §5).
#: DHE_RSA (RFC 7919 groups) follows the ECDHE suites in the defaults.
SUPPORTED_KEY_EXCHANGES = frozenset(
    {KeyExchange.RSA, KeyExchange.DHE_RSA, KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA}
)

_DEFAULT_SUITE_NAMES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_CCM",
    "TLS_RSA_WITH_AES_256_CCM",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
)


#: TLS 1.3 suites offered and accepted by default, in preference order (RFC 9846 §9.1: AES-128-GCM is the MUST;
#: the CCM suites only when configured, as OpenSSL does).
_DEFAULT_TLS13_SUITE_NAMES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")


def _default_suites() -> list[CipherSuite]:
    suites = [by_name(n) for n in _DEFAULT_SUITE_NAMES]
    return [s for s in suites if s is not None]


#: (EC)DHE groups in preference order. X25519MLKEM768 (RFC 10024) is TLS 1.3 only; TLS 1.0-1.2 use the curves;
#: secp521r1 and x448 last (as in OpenSSL's default list, which has them too).
DEFAULT_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519MLKEM768, NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1,
    NamedGroup.X448,
)

#: RFC 7919 groups for DHE, in preference order (server: picked from the client's list, §4).
DEFAULT_DHE_GROUPS: tuple[NamedGroup, ...] = (NamedGroup.FFDHE2048, NamedGroup.FFDHE3072, NamedGroup.FFDHE4096)

#: Smallest DH prime a client accepts from a server (RFC 7919 §1: below 2048 bits is weak).
DEFAULT_MIN_DH_BITS = 2048

DEFAULT_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = (
    SignatureScheme.ECDSA_SECP256R1_SHA256,
    SignatureScheme.ECDSA_SECP384R1_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA256,
    SignatureScheme.RSA_PSS_RSAE_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA512,
    SignatureScheme.RSA_PKCS1_SHA256,
    SignatureScheme.RSA_PKCS1_SHA384,
    SignatureScheme.RSA_PKCS1_SHA512,
    SignatureScheme.ECDSA_SECP521R1_SHA512,
    SignatureScheme.ECDSA_SHA1,
    SignatureScheme.RSA_PKCS1_SHA1,
)


@dataclass
class TLSConfig:
    """Everything a :class:`~tlsstate.connection.Connection` needs to know before the handshake.

    Server: ``certificate_chain`` (leaf first) and ``private_key`` are required.
    Client: ``verify`` checks the server's chain and name (``server_name``) against ``cafile`` or the
    system store; turn it off only for tests (``--insecure``).
    """

    min_version: ProtocolVersion = ProtocolVersion.TLS1_0
    max_version: ProtocolVersion = ProtocolVersion.TLS1_2
    cipher_suites: list[CipherSuite] | None = None
    #: Server: pick the first of *our* suites the client offers. False (default, like ``openssl s_server``): the
    #: first suite of the client's list that we support (RFC 5246 §7.4.1.2: the client lists them by preference).
    server_cipher_order: bool = False
    groups: list[NamedGroup] | None = None
    #: RFC 7919 groups for DHE_RSA (client: offered in supported_groups; server: the ones it may pick).
    dhe_groups: list[NamedGroup] | None = None
    #: Client: smaller DH primes from a server fail with insufficient_security (RFC 7919 §1).
    min_dh_bits: int = DEFAULT_MIN_DH_BITS
    signature_schemes: list[SignatureScheme] | None = None
    certificate_chain: list[x509.Certificate] = field(default_factory=list)
    private_key: PrivateKey | None = field(default=None, repr=False)
    verify: bool = True
    cafile: str | None = None
    #: Client: the server's DNS name or IP address. The certificate is verified for it (an IP address against the
    #: subjectAltName iPAddress entries, RFC 5280 §4.2.1.6); only a DNS name is sent as server_name (RFC 6066 §3).
    server_name: str | None = None
    alpn_protocols: list[str] = field(default_factory=list)
    extended_master_secret: bool = True
    encrypt_then_mac: bool = True
    #: Both roles: in SSL 3.0 and TLS 1.0 with a CBC suite, send each write's application data as a record of its
    #: first byte, then the rest (1/n-1 splitting against BEAST, as NSS, OpenSSL and browsers do).
    split_cbc_records: bool = True
    session_cache: SessionCache | None = None
    session_store: SessionStore | None = None
    keylog: KeyLogWriter | None = None
    #: The longest handshake message accepted (checked on its 4-byte header). A server still takes a ClientHello as
    #: long as its length fields allow, 131,396 bytes (RFC 5246 §7.4.1.2; wire/framing.SERVER_LIMITS).
    max_handshake_message_length: int = 65536
    enable_ssl3: bool = False
    #: Server: refuse a client that does not offer extended_master_secret (RFC 7627 §5.2 option).
    require_extended_master_secret: bool = False
    #: Client: key under which ``session_store`` keeps this server's session (default: server_name).
    session_key: str | None = None
    #: Server: issue RFC 5077 tickets when the client asks (None: no tickets). Client: offer the extension.
    ticket_keys: TicketKeys | None = None
    session_tickets: bool = True
    #: Largest record plaintext we accept, announced with record_size_limit (RFC 8449; 64..16384). None: not sent
    #: by a client; a server answers a client's extension with this or 16384.
    record_size_limit: int | None = None
    #: Client: ask for max_fragment_length (RFC 6066 §4): 512, 1024, 2048 or 4096. None: not asked.
    max_fragment_length: int | None = None
    #: Server: ask for a client certificate (RFC 5246 §7.4.4): "none", "optional" or "required".
    verify_client: str = "none"
    #: Server: trust anchors (PEM) for client certificates (RFC 5246 §7.4.6).
    client_cafile: str | None = None
    #: Client: the certificate chain (leaf first) and key sent when the server asks (RFC 5246 §7.4.6, §7.4.8).
    client_certificate_chain: list[x509.Certificate] = field(default_factory=list)
    client_private_key: PrivateKey | None = field(default=None, repr=False)
    #: Client: groups it sends TLS 1.3 key shares for in the first ClientHello (None: the first TLS 1.3 group).
    key_share_groups: list[NamedGroup] | None = None
    #: TLS 1.3 middlebox compatibility mode (RFC 9846 Appendix D.4): a client sends a 32-byte legacy_session_id
    #: and one dummy ChangeCipherSpec; a server sends one when the client's session ID is not empty.
    middlebox_compat: bool = True
    #: TLS 1.3 server: ask with a HelloRetryRequest for our most preferred common group even when the client sent a
    #: share for a less preferred one (RFC 8448 §5's server; e.g. to insist on X25519MLKEM768). Default: use a share.
    retry_for_preferred_group: bool = False
    #: TLS 1.3 external PSK (identity, key), both roles (RFC 9846 §4.2.11; SHA-256, psk_dhe_ke). A client offers it
    #: first; a server with it needs no certificate for clients that use it.
    external_psk: tuple[bytes, bytes] | None = field(default=None, repr=False)
    #: TLS 1.3 client: offer post_handshake_auth (RFC 9846 §4.2.6), answering a later CertificateRequest with
    #: ``client_certificate_chain`` (or an empty Certificate).
    post_handshake_auth: bool = False
    #: TLS 1.3 server: NewSessionTicket messages sent after each handshake when ``ticket_keys`` is set (RFC 9846 §4.6.1).
    ticket_count: int = 2
    #: TLS 1.3 padding policy (RFC 9846 §5.4): the TLSInnerPlaintext of every application data record we send is padded
    #: with zeros to a multiple of this many bytes (within the record size limit). None: no padding.
    record_padding: int | None = None
    #: TLS 1.3: send KeyUpdate after this many records under one key (None: the AEAD's limit, RFC 9846 §5.5).
    key_update_after: int | None = None
    #: TLS 1.3 PSK key exchange modes (RFC 9846 §4.2.9), in preference order: what a client offers beside a PSK and
    #: what a server resumes with. psk_dhe_ke (1, an (EC)DHE exchange too) by default; psk_ke (0: the PSK alone, no
    #: forward secrecy, the ServerHello carries no key_share) only when listed.
    psk_key_exchange_modes: tuple[int, ...] = (ext.PSK_DHE_KE,)
    #: TLS 1.3 0-RTT (RFC 9846 §4.2.10). Server: the max_early_data_size its NewSessionTickets announce and the most
    #: early data it accepts on one connection (0: tickets allow none; early data a client sends anyway is skipped, up
    #: to 16384 bytes). A client sends what ``Connection.send_early_data`` queued when its ticket allows that much.
    max_early_data: int = 0
    #: TLS 1.3 server: the single-use ticket store of 0-RTT anti-replay (RFC 9846 §8.1), shared by the connections of
    #: this configuration.
    early_data_replay: SingleUseTickets = field(default_factory=SingleUseTickets, repr=False)

    #: Server: accept a secure renegotiation the client starts (RFC 5746; ``openssl s_server -client_renegotiation``).
    #: Off: the warning no_renegotiation. A renegotiation we ask for with a HelloRequest is always accepted.
    client_renegotiation: bool = False
    #: Client: answer a server's HelloRequest with a secure renegotiation (RFC 5746 §3.5). Off: no_renegotiation.
    #: Legacy (insecure) renegotiation is refused in both roles whatever these say (RFC 5746 §4).
    server_renegotiation: bool = False

    def session_store_key(self) -> str | None:
        """Client: under which name ``session_store`` keeps this server's session (``session_key``, else the SNI)."""
        return self.session_key or self.server_name

    def effective_suites(self) -> list[CipherSuite]:
        """The configured suites the handshake can run, in preference order."""
        suites = self.cipher_suites if self.cipher_suites is not None else _default_suites()
        return [s for s in suites if s.key_exchange in SUPPORTED_KEY_EXCHANGES]

    def effective_tls13_suites(self) -> list[CipherSuite]:
        """The TLS 1.3 suites (RFC 9846 §B.4): the 1.3 suites of ``cipher_suites`` when it is set (none there: no
        TLS 1.3), else the defaults."""
        if self.cipher_suites is not None:
            return [s for s in self.cipher_suites if s.is_tls13]
        suites = [by_name(n) for n in _DEFAULT_TLS13_SUITE_NAMES]
        return [s for s in suites if s is not None]

    def effective_tls13_groups(self) -> list[int]:
        """Groups for TLS 1.3 key shares (RFC 9846 §4.2.7), in preference order."""
        return [int(g) for g in self.effective_groups() if g in TLS13_GROUPS]

    def effective_key_share_groups(self) -> list[int]:
        """Client: the groups it sends a key share for in its first ClientHello (RFC 9846 §4.2.8): by default the
        first group, and when that is a hybrid also the first classic one (X25519MLKEM768 + x25519, as current
        browsers and OpenSSL 3.5 send)."""
        groups = self.effective_tls13_groups()
        if self.key_share_groups is not None:
            return [int(g) for g in self.key_share_groups if g in groups]
        if groups and is_hybrid(groups[0]):
            classic = next((g for g in groups if not is_hybrid(g)), None)
            return groups[:1] + ([classic] if classic is not None else [])
        return groups[:1]

    def effective_tls13_signature_schemes(self) -> list[int]:
        """Schemes for a TLS 1.3 CertificateVerify (RFC 9846 §4.2.3): the configured ones TLS 1.3 allows, or all of
        them (PKCS#1 v1.5 and SHA-1 never)."""
        if self.signature_schemes is None:
            return list(TLS13_SIGNATURE_SCHEMES)
        return [int(s) for s in self.signature_schemes if s in TLS13_SIGNATURE_SCHEMES]

    @property
    def tls13_enabled(self) -> bool:
        """TLS 1.3 is in the version range and has a suite and a group."""
        return (
            self.max_version >= ProtocolVersion.TLS1_3
            and bool(self.effective_tls13_suites())
            and bool(self.effective_tls13_groups())
        )

    @property
    def legacy_enabled(self) -> bool:
        """A version up to TLS 1.2 is in the range and a suite for it is configured."""
        return self.min_version <= ProtocolVersion.TLS1_2 and bool(self.effective_suites())

    def effective_groups(self) -> list[NamedGroup]:
        """Named groups for ECDHE, in preference order."""
        return list(self.groups) if self.groups is not None else list(DEFAULT_GROUPS)

    def effective_dhe_groups(self) -> list[NamedGroup]:
        """RFC 7919 groups for DHE, in preference order (``groups`` entries that are FFDHE count too)."""
        if self.dhe_groups is not None:
            return list(self.dhe_groups)
        listed = [g for g in self.groups or () if NamedGroup.FFDHE2048 <= g <= NamedGroup.FFDHE8192]
        return listed or list(DEFAULT_DHE_GROUPS)

    def effective_signature_schemes(self) -> list[SignatureScheme]:
        """TLS 1.2 signature schemes we offer/accept, in preference order."""
        return list(self.signature_schemes) if self.signature_schemes is not None else list(DEFAULT_SIGNATURE_SCHEMES)

    def version_range(self) -> tuple[ProtocolVersion, ProtocolVersion]:
        """(lowest, highest) enabled version; SSL 3.0 only with ``enable_ssl3`` (RFC 7568)."""
        low = PROTOCOL_VERSIONS.get(self.min_version) or ProtocolVersion(self.min_version)  # (an enum call per handshake
        high = PROTOCOL_VERSIONS.get(self.max_version) or ProtocolVersion(self.max_version)  # step costs: look them up)
        if low == ProtocolVersion.SSL3 and not self.enable_ssl3:
            low = ProtocolVersion.TLS1_0
        if high > ProtocolVersion.TLS1_3:
            high = ProtocolVersion.TLS1_3
        if low > high:
            raise ConfigurationError(f"no protocol version enabled ({low.label} > {high.label})")
        return low, high

    def legacy_version_range(self) -> tuple[ProtocolVersion, ProtocolVersion]:
        """(lowest, highest) enabled version up to TLS 1.2: what the TLS 1.0-1.2 handshake negotiates
        (ProtocolVersionError when only TLS 1.3 is enabled)."""
        low, high = self.version_range()
        if low > ProtocolVersion.TLS1_2:
            raise ProtocolVersionError("only TLS 1.3 is enabled (RFC 9846 §4.2.1)")
        return low, min(high, ProtocolVersion.TLS1_2)

    def check(self, server_side: bool) -> None:
        """Raise ConfigurationError when this config cannot run a handshake in that role."""
        self.version_range()
        if not self.legacy_enabled and not self.tls13_enabled:
            raise ConfigurationError("no usable cipher suite configured for the enabled versions")
        if server_side and (not self.certificate_chain or self.private_key is None) and self.external_psk is None:
            raise ConfigurationError("a server needs certificate_chain and private_key (or a TLS 1.3 external PSK)")
        if self.external_psk is not None and (not self.external_psk[0] or len(self.external_psk[1]) < 16):
            raise ConfigurationError("an external PSK needs an identity and a key of at least 16 bytes")
        if self.verify_client not in ("none", "optional", "required"):
            raise ConfigurationError(f"verify_client must be none, optional or required, not {self.verify_client!r}")
        if server_side and self.verify_client != "none" and not self.client_cafile:
            raise ConfigurationError("verify_client needs client_cafile (the CAs that issue client certificates)")
        if bool(self.client_certificate_chain) != (self.client_private_key is not None):
            raise ConfigurationError("client_certificate_chain and client_private_key go together")
        if self.record_size_limit is not None and not 64 <= self.record_size_limit <= 16384:
            raise ConfigurationError("record_size_limit must be 64..16384 (RFC 8449 §4, TLS 1.2)")
        if self.max_fragment_length not in (None, 512, 1024, 2048, 4096):
            raise ConfigurationError("max_fragment_length must be 512, 1024, 2048 or 4096 (RFC 6066 §4)")
        if self.min_dh_bits < 512:
            raise ConfigurationError("min_dh_bits must be at least 512")
        if not self.psk_key_exchange_modes or not set(self.psk_key_exchange_modes) <= {ext.PSK_KE, ext.PSK_DHE_KE} \
                or len(set(self.psk_key_exchange_modes)) != len(self.psk_key_exchange_modes):
            raise ConfigurationError("psk_key_exchange_modes: psk_ke (0) and/or psk_dhe_ke (1), each once (RFC 9846 §4.2.9)")
        if not 0 <= self.max_early_data <= 0xFFFFFFFF:
            raise ConfigurationError("max_early_data must be 0..2^32-1 bytes (RFC 9846 §4.2.10)")
        if not 0 <= self.ticket_count <= 16:
            raise ConfigurationError("ticket_count must be 0..16")
        if self.record_padding is not None and not 1 <= self.record_padding <= 16385:
            raise ConfigurationError("record_padding must be 1..16385 bytes (RFC 9846 §5.4)")
        if self.key_update_after is not None and self.key_update_after < 1:
            raise ConfigurationError("key_update_after must be at least 1 record")
        if self.max_handshake_message_length < 1024:
            raise ConfigurationError("max_handshake_message_length must be at least 1024")
        if not server_side and (sni := ext.sni_host_name(self.server_name)) is not None:
            try:  # RFC 6066 §3: what we send must be a HostName a server accepts
                ext.build_server_name(sni)
            except ValueError as exc:
                raise ConfigurationError(f"server_name: {exc}") from None
        for proto in self.alpn_protocols:
            if not 0 < len(proto.encode()) < 256:
                raise ConfigurationError(f"ALPN protocol name {proto!r} must be 1..255 bytes")
