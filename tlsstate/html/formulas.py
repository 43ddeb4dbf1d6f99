"""The formulas a page prints beside each value and each record, with the RFC section that specifies them.

Text only: the values themselves come from the library's one road to keys (``crypto/negotiated.py``,
``crypto/keys.py``) or from a capture's derivation; nothing is computed here.
"""

from __future__ import annotations

from tlsstate.crypto.suites import CipherFamily, CipherSuite, NonceStyle
from tlsstate.wire.constants import KeyExchange, ProtocolVersion

__all__ = ["key_block_formula", "master_formula", "nonce_rule", "premaster_formula", "record_layout",
           "tls13_update_formula"]


def _prf(version: int, suite: CipherSuite) -> str:
    """The PRF of a version: RFC 5246 §5 (TLS 1.2, the suite's hash) or RFC 2246 §5 (P_MD5 XOR P_SHA-1)."""
    if version >= ProtocolVersion.TLS1_2:
        return f"PRF = P_{suite.prf_hash.upper()} (RFC 5246 §5)"
    return "PRF = P_MD5 XOR P_SHA-1 (RFC 2246 §5)"


def premaster_formula(suite: CipherSuite, group: str | None) -> str:
    """Where the premaster secret comes from for the suite's key exchange."""
    kx = suite.key_exchange
    if kx is KeyExchange.RSA:
        return ("48 bytes drawn by the client (client_version first), encrypted to the server's RSA key "
                "(RFC 5246 §7.4.7.1)")
    if kx.uses_psk:
        return "other_secret length + other_secret + psk length + psk (RFC 4279 §2)"
    if kx in (KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA):
        return f"ECDH shared secret of the two ephemeral keys{f' ({group})' if group else ''} (RFC 8422 §5.10)"
    if kx is KeyExchange.DHE_RSA:
        return "Diffie-Hellman shared secret Z, leading zero bytes stripped (RFC 5246 §8.1.2)"
    return str(kx.value)


def master_formula(version: int, suite: CipherSuite, ems: bool, transcript_length: int | None) -> str:
    """How the master secret was derived: SSL 3.0, classic or extended (with what the session hash covers)."""
    if version == ProtocolVersion.SSL3:
        return ("master_secret = MD5(pre + SHA1('A' + pre + client_random + server_random)) + … 'BB' … 'CCC' "
                "(RFC 6101 §6.1)")
    if ems:
        covered = f"the {transcript_length} bytes of " if transcript_length else ""
        return ('master_secret = PRF(premaster_secret, "extended master secret", session_hash)[0..47]; '
                f"session_hash = Hash({covered}handshake messages ClientHello … ClientKeyExchange) "
                f"(RFC 7627 §3, §4); {_prf(version, suite)}")
    return ('master_secret = PRF(premaster_secret, "master secret", client_random + server_random)[0..47] '
            f"(RFC 5246 §8.1); {_prf(version, suite)}")


def key_block_formula(version: int, suite: CipherSuite) -> str:
    """How the key block is made (RFC 5246 §6.3; SSL 3.0: RFC 6101 §6.2.2)."""
    if version == ProtocolVersion.SSL3:
        return "key_block = MD5(master + SHA1('A' + master + server_random + client_random)) + … (RFC 6101 §6.2.2)"
    return ('key_block = PRF(master_secret, "key expansion", server_random + client_random), cut in order into '
            f"the six values (RFC 5246 §6.3); {_prf(version, suite)}")


def nonce_rule(suite: CipherSuite, version: int, encrypt_then_mac: bool) -> str:
    """How a record's nonce / IV and its additional data or MAC input are made; ``{seq}`` marks the number."""
    cipher = suite.cipher
    if suite.is_tls13:
        return ("nonce = write_iv XOR (sequence number {seq} as 64 bits, left-padded to 12 bytes) (RFC 8446 §5.3); "
                "additional_data = the 5-byte record header (RFC 8446 §5.2)")
    aad = "additional_data = seq_num ({seq}) + type + version + plaintext length (RFC 5246 §6.2.3.3)"
    if cipher.nonce_style is NonceStyle.EXPLICIT_PREFIX:
        return (f"nonce = write_iv ({cipher.fixed_iv_length}-byte salt) + the {cipher.explicit_nonce_length}-byte "
                f"explicit nonce sent first in the record (RFC 5288 §3, RFC 6655 §3); {aad}")
    if cipher.nonce_style is NonceStyle.XOR_SEQUENCE:
        return f"nonce = write_iv XOR (sequence number {{seq}}, left-padded to 12 bytes) (RFC 7905 §2); {aad}"
    mac = ("MAC = SSL 3.0 MAC(write MAC key, seq_num {seq} + type + length + fragment) (RFC 6101 §5.2.3.1)"
           if version == ProtocolVersion.SSL3 else
           "MAC = HMAC(write MAC key, seq_num {seq} + type + version + length + fragment) (RFC 5246 §6.2.3.1)")
    if cipher.family is CipherFamily.CBC:
        iv = ("IV = the last ciphertext block of the previous record (the key-block write IV for the first) "
              "(RFC 2246 §6.2.3.2)" if version <= ProtocolVersion.TLS1_0 else
              "IV = the first block of the fragment, sent in the record (RFC 4346 §6.2.3.2)")
        order = ("encrypt-then-MAC: the MAC covers IV + ciphertext and follows it (RFC 7366 §3)" if encrypt_then_mac
                 else "MAC-then-encrypt: MAC and padding are inside the ciphertext (RFC 5246 §6.2.3.2)")
        return f"{iv}; {mac}; {order}"
    return mac


def record_layout(suite: CipherSuite, version: int, encrypt_then_mac: bool, fragment: bytes) -> tuple[bytes, bytes]:
    """(explicit nonce or IV, tag or outer MAC) as they sit in a protected fragment; empty when not visible."""
    cipher = suite.cipher
    if suite.is_tls13:
        return b"", fragment[-cipher.tag_length:] if cipher.tag_length else b""
    if cipher.family is CipherFamily.AEAD:
        nonce = fragment[:cipher.explicit_nonce_length] if cipher.explicit_nonce_length else b""
        return nonce, fragment[-cipher.tag_length:]
    if cipher.family is CipherFamily.CBC:
        iv = fragment[:cipher.block_size] if version >= ProtocolVersion.TLS1_1 else b""
        mac_length = suite.mac.length
        return iv, fragment[-mac_length:] if encrypt_then_mac and mac_length else b""
    return b"", b""


#: The TLS 1.3 key schedule (RFC 9846 §7.1), one formula per secret, keyed by its Tls13Secrets name: what the
#: ``--html`` pages and ``keys --version tls1.3`` print beside each value.
TLS13_SCHEDULE: dict[str, str] = {
    "early_secret": "HKDF-Extract(0, PSK or zeros) (RFC 9846 §7.1)",
    "client_early_traffic_secret": 'Derive-Secret(early_secret, "c e traffic", ClientHello) (RFC 9846 §7.1)',
    "early_exporter_master_secret": 'Derive-Secret(early_secret, "e exp master", ClientHello) (RFC 9846 §7.1)',
    "handshake_secret": 'HKDF-Extract(Derive-Secret(early_secret, "derived", ""), shared secret or zeros) (RFC 9846 §7.1)',
    "client_handshake_traffic_secret":
        'Derive-Secret(handshake_secret, "c hs traffic", ClientHello..ServerHello) (RFC 9846 §7.1)',
    "server_handshake_traffic_secret":
        'Derive-Secret(handshake_secret, "s hs traffic", ClientHello..ServerHello) (RFC 9846 §7.1)',
    "master_secret": 'HKDF-Extract(Derive-Secret(handshake_secret, "derived", ""), 0) (RFC 9846 §7.1)',
    "client_application_traffic_secret_0":
        'Derive-Secret(master_secret, "c ap traffic", ClientHello..server Finished) (RFC 9846 §7.1)',
    "server_application_traffic_secret_0":
        'Derive-Secret(master_secret, "s ap traffic", ClientHello..server Finished) (RFC 9846 §7.1)',
    "exporter_master_secret": 'Derive-Secret(master_secret, "exp master", ClientHello..server Finished) (RFC 9846 §7.1)',
    "resumption_master_secret":
        'Derive-Secret(master_secret, "res master", ClientHello..client Finished) (RFC 9846 §7.1)',
}
#: A traffic secret's write key and IV (RFC 9846 §7.3).
TLS13_KEY = 'HKDF-Expand-Label(secret, "key", "", key_length) (RFC 9846 §7.3)'
TLS13_IV = 'HKDF-Expand-Label(secret, "iv", "", iv_length) (RFC 9846 §7.3)'


def tls13_update_formula(previous: str) -> str:
    """A KeyUpdate's next traffic secret from the one named ``previous`` (RFC 9846 §7.2)."""
    return f'HKDF-Expand-Label({previous}, "traffic upd", "", Hash.length) (RFC 9846 §7.2)'
