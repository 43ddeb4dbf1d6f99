"""``tlsstate connect --html FILE``: each connection made (two with ``--reconnect``) as one page.

The tree comes from the security parameters the connection installed, the timeline from every byte the socket sent
and received (a :class:`~tlsstate.html.live.WireTap` on ``TLSSocket.on_wire``). Secrets are shortened unless
``--show-keys`` was given, like the terminal output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsstate.cli.describe import describe_certificate, peer_chain, version_name
from tlsstate.html.live import LiveInputs, WireTap, live_connection
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
        hs, sec = tls.handshake, tls.connection.security
        if hs is None or sec is None:
            return
        chain = peer_chain(tls)
        facts = [Fact("server", self.target), Fact("protocol", version_name(hs.version)),
                 Fact("cipher suite", f"{hs.cipher_suite.name} ({hs.cipher_suite.openssl_name})"),
                 Fact("extended master secret", "yes (RFC 7627)" if hs.extended_master_secret else "no"),
                 Fact("encrypt-then-MAC", "yes (RFC 7366)" if hs.encrypt_then_mac else "no"),
                 Fact("ALPN", hs.alpn or "(none)"), Fact("session", "resumed" if hs.resumed else "new")]
        if chain:
            facts.append(Fact("certificate", describe_certificate(chain[0])))
        number = len(self.views)
        title = f"connection {number}: {self.target}, {version_name(hs.version)}, {hs.cipher_suite.name}"
        self.views.append(live_connection(number, sec, tap.chunks, LiveInputs(title, facts, reveal=self.reveal)))

    def write(self, path: str) -> None:
        """Write the page (OSError when the file cannot be written)."""
        write_page(path, Page(f"tlsstate connect {self.target}", f"tlsstate connect {self.target}", self.views,
                              self.reveal))
