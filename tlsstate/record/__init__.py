"""The record layer (RFC 5246 §6, RFC 8446 §5): record protection per mode, the deframer, half connections."""

from tlsstate.record.layer import Deframer, HalfConnection, Record, fragment_data

__all__ = ["Deframer", "HalfConnection", "Record", "fragment_data"]
