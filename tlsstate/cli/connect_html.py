"""``tlsstate connect --html FILE``: each connection made (two with ``--reconnect``) as one page.

The tree comes from the security parameters the connection installed, the timeline from every byte the socket sent
and received (a :class:`~tlsstate.html.live.WireTap` on ``TLSSocket.on_wire``). Secrets are shortened unless
``--show-keys`` was given, like the terminal output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsstate.cli.describe import describe_certificate, peer_chain, version_name
from tlsstate.crypto.dh import group_name
from tlsstate.html.live import LiveInputs, WireTap, live_connection
from tlsstate.html.live13 import live_connection13
from tlsstate.html.model import ConnectionView, Fact, Page
from tlsstate.html.render import write_page

if TYPE_CHECKING:
    from tlsstate.io.sockets import TLSSocket

__all__ = ["ConnectPage"]


class ConnectPage:
    """Collects the connections of one ``tlsstate connect`` run and writes them as a page."""

    def __init__(self, target: str, *, reveal: bool) -> None:
        self.target = target
        self.reveal = reveal
        self.views: list[ConnectionView] = []

    @staticmethod
    def tap() -> WireTap:
        """A fresh tap for the next connection (we are the client)."""
        return WireTap(local_is_client=True)

    def add(self, tls: TLSSocket, tap: WireTap) -> None:
        """One finished connection: what it agreed, its keys, the records the tap saw."""
        hs, sec, secrets13 = tls.handshake, tls.connection.security, tls.connection.tls13_secrets
        if hs is None or (sec is None and secrets13 is None):
            return
        chain = peer_chain(tls)
        facts = [Fact("server", self.target), Fact("protocol", version_name(hs.version)),
                 Fact("cipher suite", f"{hs.cipher_suite.name} ({hs.cipher_suite.openssl_name})"),
                 Fact("ALPN", hs.alpn or "(none)"), Fact("session", "resumed" if hs.resumed else "new")]
        if secrets13 is None:  # TLS <= 1.2 only (TLS 1.3 always binds its secrets to the transcript, RFC 9846 §7.1)
            facts[3:3] = [Fact("extended master secret", "yes (RFC 7627)" if hs.extended_master_secret else "no"),
                          Fact("encrypt-then-MAC", "yes (RFC 7366)" if hs.encrypt_then_mac else "no")]
        if chain:
            facts.append(Fact("certificate", describe_certificate(chain[0])))
        number = len(self.views)
        title = f"connection {number}: {self.target}, {version_name(hs.version)}, {hs.cipher_suite.name}"
        inputs = LiveInputs(title, facts, reveal=self.reveal)
        if secrets13 is not None:  # TLS 1.3: the HKDF schedule and the traffic keys (RFC 9846 §7)
            if hs.key_exchange_group is not None:
                facts.append(Fact("group", group_name(hs.key_exchange_group) + (", after a HelloRetryRequest"
                                                                                 if hs.hello_retry else "")))
            self.views.append(live_connection13(number, secrets13, hs.cipher_suite, tap.chunks, inputs))
        elif sec is not None:
            epochs = list(tls.connection.epochs) if tls.connection.handshakes == len(tls.connection.epochs) else None
            self.views.append(live_connection(number, sec, tap.chunks, inputs, epochs))

    def write(self, path: str) -> None:
        """Write the page (OSError when the file cannot be written)."""
        write_page(path, Page(f"tlsstate connect {self.target}", f"tlsstate connect {self.target}", self.views,
                              self.reveal))
