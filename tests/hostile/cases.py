"""The hostile-peer case table: case id -> (what the peer sends, the alert RFC 5246 §7.2 prescribes).

The README alert table is checked against this table (tests/hostile/test_alerts_doc.py); ``ACCEPTED`` marks
inputs the RFC says must be accepted, ``CLOSED`` a transport close that admits no alert.
"""

from __future__ import annotations

ACCEPTED = "accepted"
CLOSED = "closed"

SUITES = {
    "cbc-mte": ("TLS_RSA_WITH_AES_128_CBC_SHA", False),
    "cbc-etm": ("TLS_RSA_WITH_AES_128_CBC_SHA", True),
    "cbc-sha256-ecdhe": ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", False),
    "3des-etm": ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", True),
    "gcm-ecdhe": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False),
    "gcm-rsa": ("TLS_RSA_WITH_AES_256_GCM_SHA384", False),
    "ccm": ("TLS_RSA_WITH_AES_128_CCM", False),
    "ccm8": ("TLS_RSA_WITH_AES_128_CCM_8", False),
    "chacha20": ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", False),
    "rc4": ("TLS_RSA_WITH_RC4_128_SHA", False),
    "null-sha": ("TLS_RSA_WITH_NULL_SHA", False),
}
AEAD = {"gcm-ecdhe", "gcm-rsa", "ccm", "ccm8", "chacha20"}
VERSIONS = {"tls1.0": 0x0301, "tls1.1": 0x0302, "tls1.2": 0x0303}

#: (case id, input, expected alert name or ACCEPTED/CLOSED); the record-tampering cases are expanded
#: over every suite family and version in test_serve_hostile.py.
SERVER_CASES: list[tuple[str, str, str]] = [
    ("finished-record-bitflip", "one bit flipped in the protected Finished record (IV/nonce, body, MAC/tag, "
     "padding), every family and version", "bad_record_mac"),
    ("finished-record-truncated", "protected Finished record one byte short, every family", "bad_record_mac"),
    ("cbc-padding-last-byte", "CBC Finished built by hand with each of the 256 padding-length byte values (TLS 1.2 "
     "AES128-SHA MtE); a sample of 47 values for SSL 3.0, TLS 1.0 (implicit IV), 1.1, 1.2 with HMAC-SHA1/SHA256/SHA384, "
     "MtE and EtM", "bad_record_mac"),
    ("cbc-padding-wrong-byte", "valid padding length, one padding byte wrong (TLS 1.0-1.2, "
     "SHA1/SHA256/SHA384, MtE and EtM)", "bad_record_mac"),
    ("cbc-padding-longer-than-record", "padding length byte 255 in a shorter record (SSL 3.0, TLS 1.0-1.2, MtE and EtM)",
     "bad_record_mac"),
    ("cbc-padding-maximal", "correct maximal padding (up to 256 bytes) on the Finished, TLS 1.0-1.2, MtE and EtM",
     ACCEPTED),
    ("ssl3-padding-any-bytes", "SSL 3.0 CBC padding bytes of any value (RFC 6101 §5.2.3.2 leaves them undefined)",
     ACCEPTED),
    ("ssl3-padding-not-minimal", "SSL 3.0 CBC padding of a block or more with a valid MAC (RFC 6101 §5.2.3.2)",
     "bad_record_mac"),
    ("aead-explicit-nonce-every-byte", "one bit flipped in each of the 8 explicit nonce bytes of the Finished "
     "(AES-GCM, AES-CCM, AES-CCM-8)", "bad_record_mac"),
    ("cbc-zero-length-maximal-padding", "zero-length application data with 235 bytes of valid padding",
     ACCEPTED),
    ("finished-verify-data", "Finished verify_data with one byte changed, correctly protected", "decrypt_error"),
    ("finished-wrong-length", "Finished body 13 bytes, correctly protected", "decode_error"),
    ("appdata-before-finished", "application data record between CCS and Finished", "unexpected_message"),
    ("ccs-bad-payload", "ChangeCipherSpec with payload 0x02 (field out of range, §7.2.2)", "decode_error"),
    ("ccs-before-key-exchange", "ChangeCipherSpec right after the ClientHello", "unexpected_message"),
    ("finished-without-key-exchange", "ClientKeyExchange skipped", "unexpected_message"),
    ("ccs-inside-fragmented-message", "ChangeCipherSpec between two fragments of the ClientKeyExchange",
     "unexpected_message"),
    ("duplicate-client-hello", "ClientHello sent twice", "unexpected_message"),
    ("duplicate-key-exchange", "ClientKeyExchange sent twice", "unexpected_message"),
    ("appdata-before-hello", "application data as the first record", "unexpected_message"),
    ("heartbeat-record", "heartbeat record (RFC 6520) not negotiated", "unexpected_message"),
    ("unknown-content-type", "record content type 99", "unexpected_message"),
    ("one-byte-fragments", "whole client flight in 1-byte handshake records", ACCEPTED),
    ("plaintext-record-overflow", "plaintext record of 2^14+1 bytes", "record_overflow"),
    ("ciphertext-record-overflow", "record length 2^14+2048+1", "record_overflow"),
    ("sslv2-client-hello", "SSLv2-format ClientHello (first byte 0x80: unknown record type, §6)", "unexpected_message"),
    ("version-ssl2", "client_version 0x0200", "protocol_version"),
    ("version-ssl3-not-enabled", "client_version 0x0300 without --ssl3", "protocol_version"),
    ("version-future", "client_version 0x0305: server answers TLS 1.2", ACCEPTED),
    ("no-null-compression", "compression methods [1] only (null is mandatory, §7.4.1.2)", "illegal_parameter"),
    ("empty-cipher-suites", "empty cipher suite list", "decode_error"),
    ("odd-cipher-suites", "cipher suite list of odd length", "decode_error"),
    ("no-shared-suite", "only unknown cipher suites", "handshake_failure"),
    ("session-id-33", "session_id of 33 bytes", "decode_error"),
    ("extension-length-overrun", "extension length beyond the extensions block", "decode_error"),
    ("duplicate-extension", "server_name twice", "illegal_parameter"),
    ("unknown-extension", "extension type 0xfafa with data", ACCEPTED),
    ("many-extensions", "3,000 unknown empty extensions (12 KB)", ACCEPTED),
    ("trailing-bytes-hello", "ClientHello with 3 trailing bytes after the extensions", "decode_error"),
    ("hello-16mib-declared", "handshake header declaring 16 MiB - 1: refused from the 4-byte header", "decode_error"),
    ("rsa-cke-bad-premaster", "RSA ClientKeyExchange: wrong length / wrong version / bad padding premaster",
     "bad_record_mac"),
    ("ecdhe-invalid-point", "ECDHE ClientKeyExchange: off-curve P-256 point", "illegal_parameter"),
    ("ecdhe-wrong-length", "ECDHE ClientKeyExchange: 64-byte point (no format byte)", "illegal_parameter"),
    ("unsupported-curves", "only secp521r1 offered with only ECDHE suites", "handshake_failure"),
    ("ecdhe-x25519-low-order", "X25519 ClientKeyExchange of small order (0, 1, two of order 8, p-1, p, p+1): "
     "all-zero shared secret (RFC 7748 §6.1, RFC 8422 §5.11)", "illegal_parameter"),
    ("record-size-limit-below-64", "record_size_limit 0, 1 or 63 (RFC 8449 §4)", "illegal_parameter"),
    ("record-size-limit-bad-length", "record_size_limit extension of 1 or 3 bytes", "decode_error"),
    ("record-size-limit-64", "record_size_limit 64 (the smallest legal value; records then fit it) or 65535",
     ACCEPTED),
    ("max-fragment-length-invalid", "max_fragment_length code 0, 5 or 255 (RFC 6066 §4)", "illegal_parameter"),
    ("max-fragment-length-bad-length", "max_fragment_length extension of 0 or 2 bytes", "decode_error"),
    ("max-fragment-length-valid", "max_fragment_length codes 1-4 (512-4096 bytes)", ACCEPTED),
    ("zero-length-handshake-record", "empty handshake record before the ClientHello (forbidden by §6.2.1, no alert named)",
     "decode_error"),
    ("zero-length-appdata", "empty application data record after the handshake", ACCEPTED),
    ("close-notify", "close_notify after the handshake: server answers close_notify", ACCEPTED),
    ("truncated-record", "EOF inside a record, every prefix length of the ClientHello record", CLOSED),
]

#: Our client (tlsstate.io.TLSSocket) against a scripted hostile server (test_client_hostile.py).
CLIENT_TABLE: list[tuple[str, str, str]] = [
    ("server-finished-bitflip", "one bit flipped in the server's protected Finished record, every family",
     "bad_record_mac"),
    ("server-finished-verify-data", "server Finished verify_data with one byte changed", "decrypt_error"),
    ("server-hello-duplicated", "ServerHello record sent twice", "unexpected_message"),
    ("server-ccs-bad-payload", "server ChangeCipherSpec with payload 0x02", "decode_error"),
    ("server-heartbeat-record", "heartbeat record before the ServerHello", "unexpected_message"),
    ("server-hello-ssl3-not-enabled", "ServerHello choosing SSL 3.0 (client offers TLS 1.0-1.2)", "protocol_version"),
    ("server-one-byte-fragments", "server flight in 1-byte handshake records", ACCEPTED),
    ("server-record-size-limit-below-64", "ServerHello record_size_limit 63 or 0 (RFC 8449 §4)", "illegal_parameter"),
    ("server-max-fragment-length-differs", "ServerHello max_fragment_length 2048 when 1024 was asked (RFC 6066 §4)",
     "illegal_parameter"),
    ("server-max-fragment-length-invalid", "ServerHello max_fragment_length code 0 or 5 (RFC 6066 §4)",
     "illegal_parameter"),
    ("server-x25519-low-order", "signed ServerKeyExchange with an X25519 value of small order: all-zero shared "
     "secret (RFC 7748 §6.1, RFC 8422 §5.11)", "illegal_parameter"),
    ("server-certificate-rsa-even-modulus", "server certificate whose RSA modulus is even (RFC 8017 §3.1), RSA and "
     "ECDHE_RSA", "bad_certificate"),
    ("server-truncation", "server closes TCP after data without close_notify: ConnectionClosedError(clean=False)", CLOSED),
]


#: TLS 1.3 (RFC 9846 §6 alert names): hostile clients against our server (test_tls13_hostile.py, in memory).
TLS13_SERVER_CASES: list[tuple[str, str, str]] = [
    ("tls13-ch-share-not-in-groups", "key share for x25519, which supported_groups does not list", "illegal_parameter"),
    ("tls13-ch-no-signature-algorithms", "TLS 1.3 ClientHello without signature_algorithms", "missing_extension"),
    ("tls13-ch-share-without-groups", "key_share without supported_groups (§9.2)", "missing_extension"),
    ("tls13-ch-two-compression-methods", "legacy_compression_methods [0, 1] (§4.1.2: exactly one zero byte)",
     "illegal_parameter"),
    ("tls13-ch-x25519-low-order", "X25519 share of order 8: all-zero shared secret", "illegal_parameter"),
    ("tls13-ch-p256-off-curve", "secp256r1 share that is not a point on the curve", "illegal_parameter"),
    ("tls13-ch-hybrid-wrong-length", "X25519MLKEM768 share of 1215 bytes (1216 required, RFC 10024)",
     "illegal_parameter"),
    ("tls13-ch-versions-none-enabled", "supported_versions lists only 0x0305 and 0x7f1c", "protocol_version"),
    ("tls12-server-tls13-only-client-hello", "a TLS 1.2-only server meets a TLS 1.3-only ClientHello",
     "protocol_version"),
    ("tls13-ch2-changed-suites", "ClientHello after HelloRetryRequest with other cipher suites (§4.1.2)",
     "illegal_parameter"),
    ("tls13-ch2-wrong-share-group", "ClientHello2 with a share for x25519 instead of the requested secp256r1",
     "illegal_parameter"),
    ("tls13-ch2-without-cookie", "ClientHello2 without the HelloRetryRequest's cookie (§4.2.2)", "illegal_parameter"),
    ("tls13-ch2-changed-server-name", "ClientHello2 with another server_name", "illegal_parameter"),
    ("tls13-client-finished-verify-data", "client Finished verify_data with one bit flipped, correctly protected",
     "decrypt_error"),
    ("tls13-appdata-before-client-finished", "application data under the client handshake traffic key",
     "unexpected_message"),
    ("tls13-protected-ccs", "ChangeCipherSpec as the inner content type of a protected record (§5)",
     "unexpected_message"),
    ("tls13-keyupdate-before-finished", "KeyUpdate under the handshake traffic key", "unexpected_message"),
    ("tls13-ccs-bad-payload", "unprotected ChangeCipherSpec with value 0x02 (§5)", "unexpected_message"),
    ("tls13-handshake-spans-key-change", "ClientHello and the first byte of the next message in one record (§5.1)",
     "unexpected_message"),
    ("tls13-ccs-after-handshake", "unprotected ChangeCipherSpec after the client Finished", "unexpected_message"),
    ("tls13-keyupdate-bad-value", "KeyUpdate with request_update 2 (§4.6.3)", "illegal_parameter"),
    ("tls13-client-hello-after-handshake", "a ClientHello after the handshake (no renegotiation in TLS 1.3)",
     "unexpected_message"),
    ("tls13-ciphertext-overflow", "protected record of 2^14 + 257 bytes (§5.2)", "record_overflow"),
    ("tls13-inner-plaintext-overflow", "TLSInnerPlaintext content of 2^14 + 1 bytes (§5.4)", "record_overflow"),
    ("tls13-inner-all-zeros", "TLSInnerPlaintext of zeros only, no content type (§5.4)", "unexpected_message"),
    ("tls13-psk-binder-wrong", "resumption ClientHello whose PSK binder has one bit flipped (§4.2.11.2)",
     "decrypt_error"),
    ("tls13-psk-not-last", "pre_shared_key not the last ClientHello extension (§4.2.11)", "illegal_parameter"),
    ("tls13-psk-without-modes", "pre_shared_key without psk_key_exchange_modes (§4.2.9)", "missing_extension"),
    ("tls13-post-handshake-finished-wrong", "the Finished of a post-handshake authentication, all zeros (§4.6.2)",
     "decrypt_error"),
]

#: TLS 1.3: hostile servers against our client (test_tls13_hostile.py, in memory).
TLS13_CLIENT_TABLE: list[tuple[str, str, str]] = [
    ("tls13-sh-legacy-version", "TLS 1.3 ServerHello with legacy_version 0x0302", "illegal_parameter"),
    ("tls13-sh-session-id-echo", "legacy_session_id_echo differs from ours (§4.1.3)", "illegal_parameter"),
    ("tls13-sh-suite-not-offered", "cipher suite TLS_AES_128_CCM_SHA256, which we did not offer", "illegal_parameter"),
    ("tls13-sh-share-group-not-offered", "server share for secp384r1, for which we sent no share", "illegal_parameter"),
    ("tls13-sh-no-key-share", "TLS 1.3 ServerHello without key_share", "missing_extension"),
    ("tls13-sh-selected-tls12", "supported_versions in the ServerHello selecting 0x0303 (§4.2.1)",
     "illegal_parameter"),
    ("tls13-sh-extension-not-allowed", "server_name (offered) in the ServerHello: not allowed there (§4.2)",
     "illegal_parameter"),
    ("tls13-sh-extension-not-offered", "ALPN in the ServerHello, which we did not offer", "unsupported_extension"),
    ("tls13-sh-x25519-low-order", "server X25519 share of order 8: all-zero shared secret", "illegal_parameter"),
    ("tls13-only-client-tls12-server-hello", "a TLS 1.2 ServerHello to our TLS 1.3-only client", "protocol_version"),
    ("tls13-downgrade-sentinel", "TLS 1.2 ServerHello whose random ends in DOWNGRD 01 (§4.1.3)", "illegal_parameter"),
    ("tls13-hrr-twice", "a second HelloRetryRequest (§4.1.4)", "unexpected_message"),
    ("tls13-hrr-changes-nothing", "HelloRetryRequest without key_share or cookie (§4.1.4)", "illegal_parameter"),
    ("tls13-hrr-group-already-shared", "HelloRetryRequest naming x25519, for which we sent a share",
     "illegal_parameter"),
    ("tls13-hrr-group-not-offered", "HelloRetryRequest naming ffdhe8192, which we did not offer", "illegal_parameter"),
    ("tls13-ee-forbidden-extension", "supported_versions in EncryptedExtensions (§4.2)", "illegal_parameter"),
    ("tls13-empty-certificate", "server Certificate with no entries (§4.4.2.4)", "decode_error"),
    ("tls13-finished-before-certificate-verify", "server Finished right after its Certificate", "unexpected_message"),
    ("tls13-certificate-verify-bad-signature", "CertificateVerify signature with one bit flipped", "decrypt_error"),
    ("tls13-certificate-verify-pkcs1", "CertificateVerify with rsa_pkcs1_sha256 (not a TLS 1.3 scheme, §4.2.3)",
     "illegal_parameter"),
    ("tls13-server-finished-verify-data", "server Finished verify_data with one bit flipped", "decrypt_error"),
    ("tls13-nst-lifetime-over-7-days", "NewSessionTicket with ticket_lifetime 604801 (§4.6.1)", "illegal_parameter"),
    ("tls13-server-keyupdate-bad-value", "KeyUpdate with request_update 7 (§4.6.3)", "illegal_parameter"),
    ("tls13-sh-psk-identity-not-offered", "ServerHello pre_shared_key selecting identity 1 (we offered one)",
     "illegal_parameter"),
    ("tls13-unsolicited-certificate-request", "post-handshake CertificateRequest without our post_handshake_auth "
     "(§4.6.2)", "unexpected_message"),
]


def markdown_rows(table: list[tuple[str, str, str]] = SERVER_CASES) -> list[str]:
    """The rows of the README alert table, one per case."""
    return [f"| `{case_id}` | {what} | `{alert}` |" for case_id, what, alert in table]


if __name__ == "__main__":
    for table in (SERVER_CASES, CLIENT_TABLE, TLS13_SERVER_CASES, TLS13_CLIENT_TABLE):
        print("\n".join(markdown_rows(table)))
        print()
