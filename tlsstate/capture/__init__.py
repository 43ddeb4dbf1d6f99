"""Packet capture decryption: pcap/pcapng reading, TCP reassembly, TLS session reconstruction, reports.

Library entry point: :func:`decrypt_connections` (streamed :class:`ConnectionResult` objects, the same as
``tlsstate decrypt --json``); all at once: :func:`tlsstate.capture.decrypt.decrypt_capture`.
"""

from tlsstate.capture.decrypt import ConnectionResult, Decryption, Prelude, decrypt_connections
from tlsstate.capture.trace import Cause, RecordInfo

__all__ = ["Cause", "ConnectionResult", "Decryption", "Prelude", "RecordInfo", "decrypt_connections"]
