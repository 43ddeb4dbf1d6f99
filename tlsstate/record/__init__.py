"""The record layer (RFC 5246 §6, RFC 8446 §5): record protection per mode (:mod:`.protection`), the deframer
(:mod:`.deframer`), one direction's state (:mod:`.half_connection`) and where keys become protections
(:mod:`.keying`)."""

from tlsstate.record.deframer import Deframer, Record
from tlsstate.record.half_connection import HalfConnection, fragment_data
from tlsstate.record.protection.inner import TLS13_RECORD_VERSION

__all__ = ["TLS13_RECORD_VERSION", "Deframer", "HalfConnection", "Record", "fragment_data"]
