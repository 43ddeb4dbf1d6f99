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
    ("ccs-two-bytes", "ChangeCipherSpec record of 2 bytes (01 01), or of 0 or 3 bytes: no such message (§7.1)",
     "unexpected_message"),
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
    ("sslv2-client-hello", "SSLv2-format ClientHello (RFC 5246 Appendix E.2) as the first message, built by hand: a full "
     "handshake (RSA with AES-CBC in TLS 1.0-1.2; ECDHE on P-256 with AES-GCM, RFC 8422 §4), challenge of 16-40 bytes "
     "right-justified; the answer is TLS, the Finished covers the hello without its 2-byte header", ACCEPTED),
    ("sslv2-client-hello-later", "SSLv2-format ClientHello after a first TLS record (only the first message may use "
     "it)", "unexpected_message"),
    ("sslv2-client-hello-ssl2-only", "SSLv2-format ClientHello offering version 0x0002", "protocol_version"),
    ("sslv2-client-hello-no-tls-suite", "SSLv2-format ClientHello with SSLv2-only cipher specs", "handshake_failure"),
    ("sslv2-client-hello-bad-lengths", "SSLv2-format ClientHello: cipher_spec_length 4, or a 15-byte challenge, or "
     "lengths past the record", "decode_error"),
    ("record-version-first-any-minor", "record version 0x0300, 0x03fe or 0x03ff on the first ClientHello record "
     "(RFC 5246 Appendix E.1: any {03,XX}); the handshake completes", ACCEPTED),
    ("record-version-later-bad", "record version 0x03fe on the ClientKeyExchange record, or on the second record of "
     "a ClientHello in two records", "decode_error"),
    ("version-ssl2", "client_version 0x0200", "protocol_version"),
    ("version-ssl3-not-enabled", "client_version 0x0300 without --ssl3", "protocol_version"),
    ("version-future", "client_version 0x0305: server answers TLS 1.2", ACCEPTED),
    ("no-null-compression", "compression methods [1] only (null is mandatory, §7.4.1.2)", "illegal_parameter"),
    ("empty-cipher-suites", "empty cipher suite list", "decode_error"),
    ("odd-cipher-suites", "cipher suite list of odd length", "decode_error"),
    ("no-shared-suite", "only unknown cipher suites", "handshake_failure"),
    ("cipher-order-client", "suites in an order the server would not choose (its last first; unknown, TLS 1.3 or "
     "unusable ones first; one listed twice): the client's first supported suite, as openssl s_server", ACCEPTED),
    ("cipher-order-server", "the same hellos to serve --server-cipher-order: the server's first suite offered",
     ACCEPTED),
    ("session-id-33", "session_id of 33 bytes", "decode_error"),
    ("resume-without-session-suite", "ClientHello resuming a held session (by ID or by ticket) without offering "
     "that session's cipher suite (RFC 5246 §7.4.1.2 MUST)", "illegal_parameter"),
    ("resume-session-suite-offered", "the same hello offering the session's suite too (not first): resumed",
     ACCEPTED),
    ("resume-impossible-full-handshake", "an unknown session ID, or a TLS 1.2 session offered in a TLS 1.1 hello "
     "(suite listed or not): a full handshake with a new session ID", ACCEPTED),
    ("extension-length-overrun", "extension length beyond the extensions block", "decode_error"),
    ("duplicate-extension", "server_name twice", "illegal_parameter"),
    ("unknown-extension", "extension type 0xfafa with data", ACCEPTED),
    ("many-extensions", "3,000 unknown empty extensions (12 KB)", ACCEPTED),
    ("alpn-no-protocol-in-common", "serve --alpn h2,http/1.1; the client offers only other names (spdy/3 and h3, "
     "H2 and HTTP/1.1, h and http/1), in a full or a resumed handshake (RFC 7301 §3.2)", "no_application_protocol"),
    ("alpn-protocol-in-common", "the same server; the client offers one of its names among others, or no ALPN",
     ACCEPTED),
    ("sig-algs-cert-only", "TLS 1.2 ClientHello with signature_algorithms_cert but no signature_algorithms, only "
     "ECDHE suites (RFC 8446 §4.2.3)", "handshake_failure"),
    ("sig-algs-cert-only-rsa-remains", "the same with an RSA key transport suite too: the server picks it (no "
     "signature needed); TLS 1.1, where the extension plays no part, keeps ECDHE", ACCEPTED),
    ("server-name-empty", "server_name extension with no data, or with an empty ServerNameList (RFC 6066 §3: "
     "<1..2^16-1>)", "decode_error"),
    ("server-name-control-characters", "server_name host_name with NUL, BEL, ESC or DEL", "illegal_parameter"),
    ("server-name-utf8", "server_name host_name in UTF-8 (RFC 6066 §3: ASCII, A-labels)", "illegal_parameter"),
    ("server-name-not-dns", "server_name host_name that is no DNS host name: a..b, -a.example, a trailing dot, "
     "127.0.0.1, a 64-byte label", "illegal_parameter"),
    ("server-name-unrecognized", "server_name our certificate does not name: warning unrecognized_name before the "
     "ServerHello, no server_name echoed, the handshake completes (RFC 6066 §3); a name it does name is echoed, "
     "with no warning", ACCEPTED),
    ("trailing-bytes-hello", "ClientHello with 3 trailing bytes after the extensions", "decode_error"),
    ("large-client-hello", "ClientHellos as large as their length fields allow, each answered: 16,383 extensions; "
     "32,760 signature schemes; one 65,531-byte extension; 131,396 bytes (32,767 suites, 255 compression methods, a "
     "full extensions block: one extension or ~16,330) in 9 records of 2^14 or 132 of 1,000, full handshakes; "
     "serve's VmRSS grows by under 8 times its size for one, 3 MiB for 21 (tracemalloc: parsing one peaks under 3 "
     "times its size)", ACCEPTED),
    ("large-client-hello-over", "ClientHello declaring 131,397 bytes, or another message over the 64 KiB cap "
     "(max_handshake_message_length)", "decode_error"),
    ("hello-16mib-declared", "handshake header declaring 16 MiB - 1: refused from the 4-byte header", "decode_error"),
    ("rsa-cke-bad-premaster", "RSA ClientKeyExchange: wrong length / wrong version / bad padding premaster",
     "bad_record_mac"),
    ("ecdhe-invalid-point", "ECDHE ClientKeyExchange: off-curve P-256 point", "illegal_parameter"),
    ("ecdhe-wrong-length", "ECDHE ClientKeyExchange: 64-byte point (no format byte)", "illegal_parameter"),
    ("unsupported-curves", "only secp224r1 offered with only ECDHE suites", "handshake_failure"),
    ("ecdhe-x25519-low-order", "X25519 ClientKeyExchange of small order (0, 1, two of order 8, p-1, p, p+1): "
     "all-zero shared secret (RFC 7748 §6.1, RFC 8422 §5.11)", "illegal_parameter"),
    ("ecdhe-empty-share", "x448 or secp521r1 ClientKeyExchange with an empty ECPoint (a <1..2^8-1> vector)",
     "decode_error"),
    ("ecdhe-x448-bad-length", "x448 ClientKeyExchange of 55 or 57 bytes (RFC 7748 §5: 56)", "illegal_parameter"),
    ("ecdhe-x448-low-order", "x448 ClientKeyExchange of small order (0, 1, p-1, p, p+1): all-zero shared secret "
     "(RFC 7748 §6.2, RFC 8422 §5.11)", "illegal_parameter"),
    ("ecdhe-secp521r1-invalid-point", "secp521r1 ClientKeyExchange off the curve, beyond the field, of 132 or 134 "
     "bytes, or compressed (RFC 8422 §5.11)", "illegal_parameter"),
    ("ecdhe-x448-secp521r1", "x448 or secp521r1 as the only group offered, TLS 1.0-1.2", ACCEPTED),
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
    ("record-splitting", "SSL 3.0 / TLS 1.0 CBC client (AES, 3DES; RSA and ECDHE): the echo of one write comes as a "
     "1-byte record, then the rest (1/n-1, BEAST); TLS 1.1, 1.2, RC4, GCM or serve --no-record-splitting: one "
     "record", ACCEPTED),
    ("close-notify", "close_notify after the handshake: server answers close_notify", ACCEPTED),
    ("warning-alert-flood", "five warning alerts in a row without progress (user_canceled, no_renegotiation, five in "
     "one record, 1,000), during or after the handshake (CVE-2016-8610)", "unexpected_message"),
    ("empty-record-flood", "33 (or 1,000) empty application data records in a row without progress (CVE-2016-8610)",
     "unexpected_message"),
    ("flood-below-limits", "four warnings and 32 empty records, then application data, three times over", ACCEPTED),
    ("truncated-record", "EOF inside a record, every prefix length of the ClientHello record", CLOSED),
    ("renegotiation-accepted", "secure renegotiation (RFC 5746) with client_renegotiation (serve "
     "--client-renegotiation): resumed, then full; a new epoch each time (new randoms and key block, new master "
     "secret when full, sequence numbers from 0); data held meanwhile flows after", ACCEPTED),
    ("renegotiation-hello-request", "our HelloRequest (serve --request-renegotiation) answered by the client: a new "
     "epoch, data flows while it is pending", ACCEPTED),
    ("renegotiation-drops-ems", "renegotiating ClientHello without extended_master_secret after an EMS handshake "
     "(RFC 7627)", "handshake_failure"),
    ("renegotiation-scsv-and-info", "renegotiating ClientHello with TLS_EMPTY_RENEGOTIATION_INFO_SCSV and a correct "
     "renegotiation_info (RFC 5746 §3.7)", "handshake_failure"),
    ("renegotiation-info-wrong", "renegotiation_info with the client's verify_data flipped, truncated, empty, or "
     "both verify_data (RFC 5746 §3.7)", "handshake_failure"),
    ("renegotiation-info-missing", "renegotiating ClientHello without renegotiation_info, with or without the SCSV "
     "(RFC 5746 §3.7)", "handshake_failure"),
    ("renegotiation-lower-version", "renegotiating ClientHello offering TLS 1.1 on a TLS 1.2 connection",
     "protocol_version"),
    ("renegotiation-alpn-no-overlap", "renegotiating ClientHello offering ALPN h3 to a server of http/1.1 only "
     "(RFC 7301 §3.2)", "no_application_protocol"),
    ("renegotiation-signature-algorithms", "renegotiating ClientHello with only ECDHE_RSA suites and only ECDSA "
     "signature schemes, to an RSA server (RFC 5246 §7.4.1.4.1 applies to the new handshake)", "handshake_failure"),
    ("renegotiation-many", "70 renegotiations in a row: each counted, the first and latest 63 epochs kept (memory "
     "bounded), data still flows", ACCEPTED),
    ("renegotiation-etm-renegotiated", "CBC connection with EtM renegotiating without it: the new epoch is "
     "MAC-then-encrypt (RFC 7366 applies to the new handshake)", ACCEPTED),
    ("renegotiation-appdata-interleaved", "application data between the renegotiating ClientHello and the "
     "ClientKeyExchange (RFC 5246 allows it): delivered, the handshake completes", ACCEPTED),
    ("renegotiation-appdata-before-finished", "application data under the new keys between the renegotiation's "
     "ChangeCipherSpec and Finished", "unexpected_message"),
    ("renegotiation-not-enabled", "correct renegotiating ClientHello without client_renegotiation: warning "
     "no_renegotiation, the connection carries on (RFC 5746 §4.4)", ACCEPTED),
    ("renegotiation-legacy", "renegotiating ClientHello on a connection whose first hello had neither "
     "renegotiation_info nor the SCSV: warning no_renegotiation even with client_renegotiation (RFC 5746 §4.4)",
     ACCEPTED),
]

#: Our client (tlsstate.io.TLSSocket) against a scripted hostile server (test_client_hostile.py).
CLIENT_TABLE: list[tuple[str, str, str]] = [
    ("server-finished-bitflip", "one bit flipped in the server's protected Finished record, every family",
     "bad_record_mac"),
    ("server-finished-verify-data", "server Finished verify_data with one byte changed", "decrypt_error"),
    ("server-hello-duplicated", "ServerHello record sent twice", "unexpected_message"),
    ("server-ccs-bad-payload", "server ChangeCipherSpec with payload 0x02", "decode_error"),
    ("server-ccs-two-bytes", "server ChangeCipherSpec record of 2 bytes (01 01), or of 0 bytes", "unexpected_message"),
    ("server-sslv2-format", "server answering in SSLv2 format (a SERVER-HELLO, 0x80 header, or an SSLv2-format "
     "ClientHello): our client never takes the SSLv2 format", "unexpected_message"),
    ("server-server-name-not-empty", "ServerHello server_name with data (RFC 6066 §3: empty)", "decode_error"),
    ("server-server-name-unsolicited", "ServerHello server_name when the client sent none (RFC 5246 §7.4.1.4)",
     "unsupported_extension"),
    ("server-unrecognized-name-warning", "warning unrecognized_name before the ServerHello (RFC 6066 §3): the "
     "handshake completes, the warning is reported", ACCEPTED),
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
    ("server-x448-invalid", "signed ServerKeyExchange with an x448 value of small order (0, 1, p-1) or of 55 or 57 "
     "bytes (RFC 7748 §5, §6.2; RFC 8422 §5.11)", "illegal_parameter"),
    ("server-secp521r1-invalid-point", "signed ServerKeyExchange with a secp521r1 point off the curve or compressed "
     "(RFC 8422 §5.11)", "illegal_parameter"),
    ("server-x448-secp521r1", "server choosing x448 or secp521r1, the only group offered", ACCEPTED),
    ("server-alpn-not-offered", "ServerHello selecting ALPN h3 when we offered h2 and http/1.1 (RFC 7301 §3.2)",
     "illegal_parameter"),
    ("server-alpn-not-asked", "ServerHello with ALPN when we offered none (RFC 5246 §7.4.1.4)", "unsupported_extension"),
    ("server-resume-other-suite", "ServerHello echoing the offered session ID with another cipher suite (RFC 5246 "
     "§7.4.1.3)", "illegal_parameter"),
    ("server-certificate-rsa-even-modulus", "server certificate whose RSA modulus is even (RFC 8017 §3.1), RSA and "
     "ECDHE_RSA", "bad_certificate"),
    ("server-warning-alert-flood", "five warning alerts in a row after the handshake (also in one record) "
     "(CVE-2016-8610)", "unexpected_message"),
    ("server-empty-record-flood", "33 empty application data records in a row (CVE-2016-8610)", "unexpected_message"),
    ("server-flood-below-limits", "four warnings and 32 empty records, then data: the data is read", ACCEPTED),
    ("server-truncation", "server closes TCP after data without close_notify: ConnectionClosedError(clean=False)", CLOSED),
    ("server-renegotiation-info-wrong", "renegotiation ServerHello whose renegotiation_info has a bit flipped, only "
     "the client's verify_data, or nothing (RFC 5746 §3.5)", "handshake_failure"),
    ("server-renegotiation-info-missing", "renegotiation ServerHello without renegotiation_info (RFC 5746 §3.5)",
     "handshake_failure"),
    ("server-renegotiation-drops-ems", "renegotiation ServerHello without extended_master_secret after an EMS "
     "handshake (RFC 7627)", "handshake_failure"),
    ("server-renegotiation-other-version", "renegotiation ServerHello choosing TLS 1.1 on a TLS 1.2 connection",
     "protocol_version"),
    ("server-renegotiation-alpn-not-offered", "renegotiation ServerHello selecting ALPN h3 when we offered h2 "
     "(RFC 7301 §3.2)", "illegal_parameter"),
    ("server-hello-request-not-enabled", "HelloRequest without server_renegotiation (connect "
     "--server-renegotiation): warning no_renegotiation, the connection carries on", ACCEPTED),
    ("server-hello-request-legacy", "HelloRequest from a server whose ServerHello had no renegotiation_info, or on "
     "an SSL 3.0 connection: warning no_renegotiation even with server_renegotiation (RFC 5746 §4.2)", ACCEPTED),
    ("server-renegotiation-refused", "warning no_renegotiation answering our renegotiating ClientHello: we carry on "
     "in the current epoch, held data goes out (RFC 5746 §4.2)", ACCEPTED),
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
    ("tls13-0rtt-over-limit", "accepted early data one byte over max_early_data_size (§4.2.10)", "unexpected_message"),
    ("tls13-0rtt-rejected-over-limit", "rejected early data of 16385 bytes, more than is skipped (§4.2.10)",
     "unexpected_message"),
    ("tls13-0rtt-empty-records", "33 empty early data records in a row (accepted 0-RTT)", "unexpected_message"),
    ("tls13-0rtt-rejected-empty-records", "16385 undecryptable 17-byte records while skipping rejected early data: "
     "each counts one byte at least", "unexpected_message"),
    ("tls13-0rtt-finished-without-eoed", "early data accepted, then Finished under the early key: no EndOfEarlyData "
     "(§4.5)", "unexpected_message"),
    ("tls13-0rtt-eoed-not-empty", "EndOfEarlyData with a one-byte body (§4.5)", "decode_error"),
    ("tls13-0rtt-eoed-not-accepted", "EndOfEarlyData under the handshake key when the early data was rejected",
     "unexpected_message"),
    ("tls13-ch-early-data-not-empty", "early_data in the ClientHello with a body (§4.2.10: empty)", "decode_error"),
    ("tls13-ch2-early-data", "early_data in the ClientHello after a HelloRetryRequest (§4.1.2)", "illegal_parameter"),
    ("tls13-0rtt-ticket-reused", "a ticket's second use for early data: rejected (single-use tickets, §8.1), "
     "skipped; the handshake completes and the client is told", ACCEPTED),
    ("tls13-0rtt-replayed-client-hello", "a recorded ClientHello with early data replayed: no early data delivered, "
     "the handshake goes on (§8)", ACCEPTED),
    ("tls13-0rtt-hello-retry", "early data answered by a HelloRetryRequest: the early records skipped, the "
     "handshake completes on ClientHello2 (§4.2.10)", ACCEPTED),
    ("tls13-psk-ke-not-allowed", "a client offering psk_ke only to a psk_dhe_ke server: a full handshake (§4.2.9)",
     ACCEPTED),
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
    ("tls13-ee-early-data-not-offered", "early_data in EncryptedExtensions when we offered none", "unsupported_extension"),
    ("tls13-ee-early-data-without-psk", "early_data accepted in a handshake that resumes no PSK (§4.2.10)",
     "illegal_parameter"),
    ("tls13-sh-early-data", "early_data (offered) in the ServerHello: not allowed there (§4.2)", "illegal_parameter"),
    ("tls13-sh-psk-ke-not-offered", "resumed ServerHello without key_share (psk_ke) when we offered psk_dhe_ke only "
     "(§4.2.9)", "missing_extension"),
    ("tls13-end-of-early-data-from-server", "EndOfEarlyData from the server", "unexpected_message"),
    ("tls13-nst-early-data-bad-length", "NewSessionTicket early_data of 2 bytes (uint32 max_early_data_size)",
     "decode_error"),
]


def markdown_rows(table: list[tuple[str, str, str]] = SERVER_CASES) -> list[str]:
    """The rows of the README alert table, one per case."""
    return [f"| `{case_id}` | {what} | `{alert}` |" for case_id, what, alert in table]


if __name__ == "__main__":
    for table in (SERVER_CASES, CLIENT_TABLE, TLS13_SERVER_CASES, TLS13_CLIENT_TABLE):
        print("\n".join(markdown_rows(table)))
        print()
