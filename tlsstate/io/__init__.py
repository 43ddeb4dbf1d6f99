"""I/O around the sans-I/O :class:`~tlsstate.connection.Connection`: blocking sockets, an ssl-like
context API (:mod:`tlsstate.io.context`) and asyncio streams (:mod:`tlsstate.io.aio`)."""

from tlsstate.io.context import TLSContext, TLSContextSocket
from tlsstate.io.sockets import TLSListener, TLSSocket, WireTap
from tlsstate.wire.errors import TLSTimeout

__all__ = ["TLSContext", "TLSContextSocket", "TLSListener", "TLSSocket", "TLSTimeout", "WireTap"]
