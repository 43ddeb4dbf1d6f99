"""Record protection, one module per mode (RFC 5246 §6.2.3, RFC 6101 §5.2.3, RFC 7366, RFC 5288, RFC 6655,
RFC 7905, RFC 8446 §5.2), in the manner of BearSSL's ``ssl_rec_*.c``:

* :mod:`.base` — the interface (:class:`RecordProtection`: ``seal_record``, ``open``, ``expansion``; conveniences
  written once);
* :mod:`.nonces` — the two AEAD nonce rules (explicit prefix, XOR with the sequence number);
* :mod:`.null`, :mod:`.stream` (+ :mod:`.mac`), :mod:`.cbc`, :mod:`.aead12`, :mod:`.aead13` — the modes;
* :mod:`.inner` — TLS 1.3's TLSInnerPlaintext around a TLS 1.3 protection;
* :mod:`.factory` — :func:`make_protection`, :func:`make_tls13_protection`.

A protection is given the 64-bit sequence number by its owner (:class:`tlsstate.record.HalfConnection`); it never
owns it.
"""

from tlsstate.record.protection.aead import AeadProtection
from tlsstate.record.protection.aead12 import AeadExplicitNonce, AeadXorNonce
from tlsstate.record.protection.aead13 import Tls13Aead, Tls13DraftAead
from tlsstate.record.protection.base import Buffer, RecordProtection
from tlsstate.record.protection.cbc import CbcEncryptThenMac, CbcMacThenEncrypt, tls_cbc_padding_length
from tlsstate.record.protection.factory import make_protection, make_tls13_protection
from tlsstate.record.protection.inner import TLS13_RECORD_VERSION, Tls13InnerPlaintext
from tlsstate.record.protection.mac import RecordMac, Ssl3Mac, TlsHmac, make_record_mac
from tlsstate.record.protection.nonces import explicit_prefix_nonce, xor_nonce, xor_nonce_mask
from tlsstate.record.protection.null import NullProtection
from tlsstate.record.protection.stream import StreamProtection

__all__ = [
    "TLS13_RECORD_VERSION",
    "AeadExplicitNonce",
    "AeadProtection",
    "AeadXorNonce",
    "Buffer",
    "CbcEncryptThenMac",
    "CbcMacThenEncrypt",
    "NullProtection",
    "RecordMac",
    "RecordProtection",
    "Ssl3Mac",
    "StreamProtection",
    "Tls13Aead",
    "Tls13DraftAead",
    "Tls13InnerPlaintext",
    "TlsHmac",
    "explicit_prefix_nonce",
    "make_protection",
    "make_record_mac",
    "make_tls13_protection",
    "tls_cbc_padding_length",
    "xor_nonce",
    "xor_nonce_mask",
]
