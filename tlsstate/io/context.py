"""An ``ssl.SSLContext``-like API over :class:`~tlsstate.io.sockets.TLSSocket`.

::

    ctx = TLSContext(server_side=False)          # like ssl.create_default_context()
    ctx.load_verify_locations("ca.pem")
    with ctx.wrap_socket(socket.create_connection((host, 443)), server_hostname=host) as tls:
        tls.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        tls.version(), tls.cipher(), tls.getpeercert(binary_form=True)

Versions are TLS 1.0-1.3 (SSL 3.0 with ``enable_ssl3``), RFC 5246 / RFC 9846 / RFC 6101; ``minimum_version`` and
``maximum_version`` take :class:`ssl.TLSVersion` or :class:`~tlsstate.wire.constants.ProtocolVersion`
(same wire numbers). ``verify_mode``/``check_hostname`` use the :mod:`ssl` constants; on a server,
CERT_OPTIONAL/CERT_REQUIRED ask for a client certificate checked against ``load_verify_locations``;
on a client, ``load_cert_chain`` is the certificate sent when the server asks (RFC 5246 §7.4.6).
"""

from __future__ import annotations

import os
import socket
import ssl
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from tlsstate.config import PrivateKey, TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto import certs
from tlsstate.crypto.suites import CipherSuite, lookup
from tlsstate.events import HandshakeComplete
from tlsstate.io.sockets import DEFAULT_TIMEOUT, TLSSocket
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import CertificateError, ConfigurationError, ProtocolError

#: ssl-style names of the versions (what ``ssl.SSLSocket.version()`` returns).
VERSION_NAMES = {
    ProtocolVersion.SSL3: "SSLv3",
    ProtocolVersion.TLS1_0: "TLSv1",
    ProtocolVersion.TLS1_1: "TLSv1.1",
    ProtocolVersion.TLS1_2: "TLSv1.2",
    ProtocolVersion.TLS1_3: "TLSv1.3",
}


_CLIENT_VERIFY = {ssl.CERT_NONE: "none", ssl.CERT_OPTIONAL: "optional", ssl.CERT_REQUIRED: "required"}


def _version(value: int) -> ProtocolVersion:
    if value == ssl.TLSVersion.MINIMUM_SUPPORTED:
        return ProtocolVersion.SSL3
    if value == ssl.TLSVersion.MAXIMUM_SUPPORTED:
        return ProtocolVersion.TLS1_3
    try:
        return ProtocolVersion(int(value))
    except ValueError:
        raise ConfigurationError(f"unknown protocol version {value!r}") from None


class TLSContext:
    """Settings shared by many connections, in the shape of :class:`ssl.SSLContext`.

    ``server_side=False`` starts like ``ssl.create_default_context()`` (CERT_REQUIRED, check_hostname);
    ``server_side=True`` like ``SSLContext(PROTOCOL_TLS_SERVER)`` (needs ``load_cert_chain``).
    """

    def __init__(self, server_side: bool = False, *, enable_ssl3: bool = False) -> None:
        self.server_side = server_side
        self.enable_ssl3 = enable_ssl3
        self.minimum_version: ProtocolVersion | ssl.TLSVersion = ProtocolVersion.TLS1_0
        self.maximum_version: ProtocolVersion | ssl.TLSVersion = ProtocolVersion.TLS1_3
        self.verify_mode: ssl.VerifyMode = ssl.CERT_NONE if server_side else ssl.CERT_REQUIRED
        self.check_hostname: bool = not server_side
        #: Socket timeout of wrapped sockets (seconds), like ``socket.settimeout``.
        self.timeout: float | None = DEFAULT_TIMEOUT
        self.extended_master_secret = True
        self.encrypt_then_mac = True
        self._chain: list[x509.Certificate] = []
        self._key: PrivateKey | None = None
        self._cafile: str | None = None
        self._suites: list[CipherSuite] | None = None
        self._alpn: list[str] = []

    # ------------------------------------------------------------------ ssl.SSLContext methods

    def load_cert_chain(
        self, certfile: str | os.PathLike[str], keyfile: str | os.PathLike[str] | None = None,
        password: str | bytes | None = None,
    ) -> None:
        """PEM chain (leaf first) and private key (default: in ``certfile``)."""
        self._chain = certs.load_certificates(certfile)
        key = certs.load_private_key(keyfile if keyfile is not None else certfile, password)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ConfigurationError("TLS 1.0-1.2 servers here take RSA or ECDSA keys")
        self._key = key

    def load_verify_locations(self, cafile: str | os.PathLike[str] | None = None, capath: str | None = None,
                              cadata: str | bytes | None = None) -> None:
        """Trust anchors from a PEM file (``capath``/``cadata`` are not supported)."""
        if capath is not None or cadata is not None:
            raise ConfigurationError("TLSContext takes trust anchors from cafile only")
        if cafile is not None:
            certs.load_certificates(cafile)  # fail early on an unreadable file, like ssl
            self._cafile = os.fspath(cafile)

    def set_ciphers(self, spec: str) -> None:
        """Colon/comma separated OpenSSL or IANA suite names (no OpenSSL cipher-string keywords)."""
        names = [n for n in spec.replace(",", ":").split(":") if n.strip()]
        if not names:
            raise ConfigurationError("no cipher suite named")
        self._suites = [lookup(name.strip()) for name in names]

    def set_alpn_protocols(self, protocols: list[str]) -> None:
        """ALPN names to offer (client) or accept (server), RFC 7301."""
        self._alpn = list(protocols)

    def config(self, server_hostname: str | None = None) -> TLSConfig:
        """The :class:`TLSConfig` this context gives one connection."""
        if self.check_hostname and self.verify_mode == ssl.CERT_NONE:
            raise ConfigurationError("check_hostname requires verify_mode CERT_REQUIRED (as in ssl)")
        if not self.server_side and self.check_hostname and not server_hostname:
            raise ConfigurationError("check_hostname requires server_hostname")
        server = self.server_side
        config = TLSConfig(
            min_version=_version(self.minimum_version), max_version=_version(self.maximum_version),
            cipher_suites=self._suites, verify=not server and self.verify_mode != ssl.CERT_NONE and self.check_hostname,
            cafile=self._cafile, server_name=server_hostname, alpn_protocols=list(self._alpn),
            extended_master_secret=self.extended_master_secret, encrypt_then_mac=self.encrypt_then_mac,
            enable_ssl3=self.enable_ssl3,
        )
        if server:
            config.certificate_chain, config.private_key = list(self._chain), self._key
            # RFC 5246 §7.4.4: CERT_OPTIONAL / CERT_REQUIRED on a server ask for a client certificate.
            config.verify_client = _CLIENT_VERIFY[self.verify_mode]
            config.client_cafile = self._cafile
        elif self._chain:
            config.client_certificate_chain, config.client_private_key = list(self._chain), self._key
        config.check(self.server_side)
        return config

    def wrap_socket(
        self, sock: socket.socket, server_side: bool | None = None, server_hostname: str | None = None,
        do_handshake_on_connect: bool = True,
    ) -> TLSContextSocket:
        """Wrap a connected TCP socket; by default run the handshake now (RFC 5246 §7.3)."""
        side = self.server_side if server_side is None else server_side
        if side != self.server_side:
            raise ConfigurationError("wrap_socket: server_side differs from the context's role")
        config = self.config(server_hostname)
        tls = TLSContextSocket(self, sock, Connection(config, server_side=side), server_side=side,
                               timeout=self.timeout)
        if do_handshake_on_connect:
            try:
                tls.do_handshake()
            except BaseException:
                tls.sock.close()
                raise
        return tls


class TLSContextSocket(TLSSocket):
    """A :class:`TLSSocket` with the query methods of :class:`ssl.SSLSocket`."""

    def __init__(self, context: TLSContext, sock: socket.socket, connection: Connection, *, server_side: bool,
                 timeout: float | None) -> None:
        super().__init__(sock, connection, server_side=server_side, timeout=timeout)
        self.context = context
        self.server_hostname = connection.config.server_name

    def do_handshake(self) -> HandshakeComplete:
        """Run the handshake; with ``check_hostname=False`` and CERT_REQUIRED, check the chain afterwards."""
        done = self.handshake is not None
        result = super().do_handshake()
        ctx = self.context
        if not done and not self.server_side and ctx.verify_mode != ssl.CERT_NONE and not ctx.check_hostname:
            self._verify_chain_only()
        return result

    def _verify_chain_only(self) -> None:
        """Path validation without the name check: validate for a name the leaf itself carries (its first
        subjectAltName entry; without the extension, its common name, RFC 6125 §6.4.4)."""
        chain = self.connection.peer_certificates
        try:
            try:
                sans = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                names = sans.get_values_for_type(x509.DNSName) + [
                    str(a) for a in sans.get_values_for_type(x509.IPAddress)
                ]
            except x509.ExtensionNotFound:
                names = [str(a.value) for a in chain[0].subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
            certs.verify_server_certificate(chain, names[0], cafile=self.context._cafile)
        except IndexError:
            self.close()
            raise CertificateError("the server certificate names nothing to validate it for") from None
        except ProtocolError:
            self.close()
            raise

    def send(self, data: bytes) -> int:
        """Send all of ``data`` (records are atomic); returns its length."""
        self.sendall(data)
        return len(data)

    def write(self, data: bytes) -> int:
        """Alias of :meth:`send` (ssl.SSLSocket.write)."""
        return self.send(data)

    def read(self, length: int = 1024) -> bytes:
        """Alias of :meth:`recv` (ssl.SSLSocket.read)."""
        return self.recv(length)

    def unwrap(self) -> socket.socket:
        """Send close_notify and hand back the TCP socket (not closed)."""
        if self.handshake is not None and not self._closed:
            self.connection.close()
            self._flush()
        self._closed = True
        return self.sock

    def fileno(self) -> int:
        """The TCP socket's descriptor."""
        return self.sock.fileno()

    def version(self) -> str | None:
        """``"TLSv1.2"`` etc. after the handshake, else None."""
        return VERSION_NAMES.get(ProtocolVersion(self.handshake.version)) if self.handshake else None

    def cipher(self) -> tuple[str, str, int] | None:
        """(OpenSSL suite name, protocol, secret bits) like ssl.SSLSocket.cipher()."""
        if self.handshake is None:
            return None
        suite = self.handshake.cipher_suite
        return suite.openssl_name, self.version() or "", suite.cipher.key_length * 8

    def selected_alpn_protocol(self) -> str | None:
        """The ALPN protocol both agreed on (RFC 7301), or None."""
        return self.handshake.alpn if self.handshake else None

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's leaf: DER with ``binary_form=True``; else an ssl-style dict (subject, issuer, SANs)."""
        chain = self.connection.peer_certificates
        if not chain:
            return None
        leaf = chain[0]
        if binary_form:
            return leaf.public_bytes(Encoding.DER)
        info: dict[str, Any] = {
            "subject": tuple(((attr.oid._name, str(attr.value)),) for attr in leaf.subject),
            "issuer": tuple(((attr.oid._name, str(attr.value)),) for attr in leaf.issuer),
            "serialNumber": format(leaf.serial_number, "X"),
        }
        try:
            sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            info["subjectAltName"] = tuple(("DNS", n) for n in sans.get_values_for_type(x509.DNSName)) + tuple(
                ("IP Address", str(a)) for a in sans.get_values_for_type(x509.IPAddress)
            )
        except x509.ExtensionNotFound:
            pass
        return info

    def __enter__(self) -> TLSContextSocket:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["VERSION_NAMES", "TLSContext", "TLSContextSocket"]
