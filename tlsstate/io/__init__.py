"""Blocking I/O around the sans-I/O :class:`~tlsstate.connection.Connection` (socket wrapper)."""

from tlsstate.io.sockets import TLSListener, TLSSocket, TLSTimeout, WireTap

__all__ = ["TLSListener", "TLSSocket", "TLSTimeout", "WireTap"]
