"""The TLS 1.3 exporter (RFC 9846 §7.5) written out for tests with pyca's HKDF-Expand and hashlib, not through our key
schedule: what an exporter of ours must equal, given a secret from an RFC trace or another stack's key log."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

_PYCA = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}


def expand_label(hash_name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 9846 §7.1): HkdfLabel = uint16 length, "tls13 " + label
    and context as 8-bit-length vectors."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(_PYCA[hash_name], length, info).derive(secret)


def tls13_export(hash_name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """TLS-Exporter(label, context_value, key_length) = HKDF-Expand-Label(Derive-Secret(Secret, label, ""),
    "exporter", Hash(context_value), key_length), Secret the (early_)exporter_master_secret (RFC 9846 §7.5)."""
    digest_size = hashlib.new(hash_name).digest_size
    derived = expand_label(hash_name, secret, label, hashlib.new(hash_name, b"").digest(), digest_size)
    return expand_label(hash_name, derived, b"exporter", hashlib.new(hash_name, context).digest(), length)
