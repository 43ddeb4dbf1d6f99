"""The interface every record-protection mode implements (RFC 5246 §6.2.3, RFC 8446 §5.2).

A mode turns one TLSPlaintext fragment into one whole TLSCiphertext record and back, given the 64-bit
sequence number by its owner (:class:`tlsstate.record.HalfConnection`, which never lets a mode own it).
Like BearSSL's ``br_sslrec_in_class`` / ``br_sslrec_out_class`` and rustls' ``MessageEncrypter`` /
``MessageDecrypter``, the interface is small: :meth:`RecordProtection.seal_record`, :meth:`RecordProtection.open`
and :attr:`RecordProtection.expansion`. The conveniences (:meth:`~RecordProtection.seal` for the fragment alone,
the ``*_into`` forms writing to a caller's buffer) are written once here; a mode overrides an ``*_into`` form
only where pyca can encrypt or decrypt in place (the AEADs).

``open`` raises :class:`~tlsstate.wire.errors.BadRecordMAC` and only that for every integrity failure (MAC,
padding, AEAD tag, bad lengths); the message never says which check failed.
"""

from __future__ import annotations

import struct

Buffer = bytes | bytearray | memoryview

#: type(1) + version(2) + length(2): the record header (RFC 5246 §6.2.1); also the TLS 1.3 AAD (RFC 8446 §5.2)
RECORD_HEADER = struct.Struct(">BHH")
#: seq_num(8) + type(1) + version(2) + length(2): the TLS MAC input header and the TLS 1.2 AEAD additional
#: data (RFC 5246 §6.2.3.1, §6.2.3.3)
MAC_HEADER = struct.Struct(">QBHH")


class RecordProtection:
    """One direction's record protection: subclasses implement :meth:`seal_record` and :meth:`open`.

    Some modes are stateful (the RC4 keystream, the SSL 3.0 / TLS 1.0 chained CBC IV): use one instance per
    direction.
    """

    name: str = "NULL"
    #: False only for the null state (no keys): lets HalfConnection / demo tell protected from clear.
    protects: bool = False
    #: True for a TLS 1.3 AEAD that seals and opens TLSInnerPlaintext itself (``seal_inner`` / ``open_inner``, see
    #: :class:`.inner.InnerPlaintextAead`); the others are wrapped by :class:`.inner.Tls13InnerPlaintext`.
    handles_inner_plaintext: bool = False
    #: The most a mode adds to a fragment (explicit IV or nonce, MAC, padding, tag): a buffer of
    #: 5 + len(plaintext) + expansion bytes always holds the sealed record (see :meth:`seal_record_into`).
    expansion: int = 0

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Protect one fragment; returns the whole record, 5-byte header included (RFC 5246 §6.2.1, §6.2.3)."""
        raise NotImplementedError

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Verify and unprotect one TLSCiphertext fragment; raises BadRecordMAC on any integrity failure."""
        raise NotImplementedError

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """The TLSCiphertext.fragment alone: :meth:`seal_record` without its header (RFC 5246 §6.2.3)."""
        return self.seal_record(seq, content_type, version, plaintext)[5:]

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """:meth:`seal_record` written to the start of ``out``; returns the record length. The caller makes sure
        ``out`` holds 5 + len(plaintext) + :attr:`expansion` bytes. Here: one copy (the AEADs encrypt in place)."""
        record = self.seal_record(seq, content_type, version, plaintext)
        size = len(record)
        out[:size] = record
        return size

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """:meth:`open` with the plaintext written to the start of ``out``; returns the plaintext length. A plaintext
        longer than ``out`` is verified but not written (the caller reports record_overflow). Here: one copy (the
        AEADs decrypt in place)."""
        plaintext = self.open(seq, content_type, version, fragment)
        size = len(plaintext)
        if size <= len(out):
            out[:size] = plaintext
        return size

    def __repr__(self) -> str:  # never shows key material
        return f"<{type(self).__name__} {self.name}>"
