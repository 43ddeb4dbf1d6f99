"""Configuration of a TLS connection (client or server), shared by many connections.

Defaults follow current practice for TLS 1.0-1.2: forward-secret AEAD suites first, then CBC;
extended master secret (RFC 7627) and encrypt-then-MAC (RFC 7366) on; SSL 3.0 off (RFC 7568).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_name
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import NamedGroup, ProtocolVersion, SignatureScheme
from tlsstate.wire.errors import ConfigurationError

if TYPE_CHECKING:
    from tlsstate.wire.keylog import KeyLogWriter

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

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


def _default_suites() -> list[CipherSuite]:
    suites = [by_name(n) for n in _DEFAULT_SUITE_NAMES]
    return [s for s in suites if s is not None]


#: ECDHE groups in preference order; secp521r1 and x448 last (as in OpenSSL's default list, which has them too).
DEFAULT_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1, NamedGroup.X448,
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
    #: Server: accept a secure renegotiation the client starts (RFC 5746; ``openssl s_server -client_renegotiation``).
    #: Off: the warning no_renegotiation. A renegotiation we ask for with a HelloRequest is always accepted.
    client_renegotiation: bool = False
    #: Client: answer a server's HelloRequest with a secure renegotiation (RFC 5746 §3.5). Off: no_renegotiation.
    #: Legacy (insecure) renegotiation is refused in both roles whatever these say (RFC 5746 §4).
    server_renegotiation: bool = False

    def effective_suites(self) -> list[CipherSuite]:
        """The configured suites the handshake can run, in preference order."""
        suites = self.cipher_suites if self.cipher_suites is not None else _default_suites()
        return [s for s in suites if s.key_exchange in SUPPORTED_KEY_EXCHANGES]

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
        low = ProtocolVersion(self.min_version)
        high = ProtocolVersion(self.max_version)
        if low == ProtocolVersion.SSL3 and not self.enable_ssl3:
            low = ProtocolVersion.TLS1_0
        if high > ProtocolVersion.TLS1_2:
            high = ProtocolVersion.TLS1_2  # TLS 1.3 is capture-decryption only in tlsstate
        if low > high:
            raise ConfigurationError(f"no protocol version enabled ({low.label} > {high.label})")
        return low, high

    def check(self, server_side: bool) -> None:
        """Raise ConfigurationError when this config cannot run a handshake in that role."""
        self.version_range()
        if not self.effective_suites():
            raise ConfigurationError("no usable cipher suite configured (tlsstate runs RSA and ECDHE key exchanges)")
        if server_side and (not self.certificate_chain or self.private_key is None):
            raise ConfigurationError("a server needs certificate_chain and private_key")
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
        if self.max_handshake_message_length < 1024:
            raise ConfigurationError("max_handshake_message_length must be at least 1024")
        if not server_side and self.server_name and not ext.is_ip_address(self.server_name.strip("[]")):
            try:  # RFC 6066 §3: what we send must be a HostName a server accepts
                ext.build_server_name(self.server_name)
            except ValueError as exc:
                raise ConfigurationError(f"server_name: {exc}") from None
        for proto in self.alpn_protocols:
            if not 0 < len(proto.encode()) < 256:
                raise ConfigurationError(f"ALPN protocol name {proto!r} must be 1..255 bytes")
