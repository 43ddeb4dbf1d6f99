"""The SSL 3.0 – TLS 1.2 key schedule as pure functions.

* ``p_hash``: the data expansion function P_hash (RFC 5246 §5, RFC 2246 §5).
* ``tls10_prf``: TLS 1.0/1.1 PRF = P_MD5(S1, label + seed) XOR P_SHA1(S2, label + seed) (RFC 2246 §5).
* ``tls12_prf``: TLS 1.2 PRF = P_<hash>(secret, label + seed) (RFC 5246 §5).
* ``ssl3_expand``: SSL 3.0 MD5(secret + SHA1('A'*i + secret + seed)) (RFC 6101 §6.1, §6.2.2).
* master secret (RFC 5246 §8.1), extended master secret and session hash (RFC 7627 §3/§4),
  key block (RFC 5246 §6.3), Finished verify_data (RFC 6101 §5.6.9, RFC 5246 §7.4.9).

HMAC comes from pyca/cryptography; plain MD5/SHA-1/SHA-2 digests from hashlib (stdlib primitives).
Nothing here logs or keeps a secret.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hmac

from tlsstate.crypto.hashes import hash_algorithm
from tlsstate.wire.constants import PROTOCOL_VERSIONS, ProtocolVersion
from tlsstate.wire.errors import ConfigurationError

MASTER_SECRET_LENGTH = 48  # RFC 5246 §8.1
RANDOM_LENGTH = 32  # RFC 5246 §7.4.1.2
TLS_VERIFY_DATA_LENGTH = 12  # RFC 5246 §7.4.9
SSL3_VERIFY_DATA_LENGTH = 36  # RFC 6101 §5.6.9: MD5 (16) || SHA (20)

_MAX_OUTPUT = 1 << 20  # no key schedule needs more than a few hundred bytes; refuse absurd requests

# RFC 6101 §5.6.9 Sender values and the pads of the SSL 3.0 MAC construction.
SSL3_SENDER_CLIENT = b"\x43\x4c\x4e\x54"  # "CLNT"
SSL3_SENDER_SERVER = b"\x53\x52\x56\x52"  # "SRVR"
_SSL3_PAD1_MD5 = b"\x36" * 48
_SSL3_PAD2_MD5 = b"\x5c" * 48
_SSL3_PAD1_SHA = b"\x36" * 40
_SSL3_PAD2_SHA = b"\x5c" * 40


def _check_length(length: int) -> None:
    if not 0 <= length <= _MAX_OUTPUT:
        raise ConfigurationError(f"PRF output length {length} out of range 0..{_MAX_OUTPUT}")


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash(secret, seed) truncated to ``length`` bytes (RFC 5246 §5).

    A(0) = seed, A(i) = HMAC(secret, A(i-1)); output = HMAC(secret, A(1) + seed) || HMAC(secret, A(2) + seed) ...
    The keyed HMAC context is built once and copied for each block.
    """
    _check_length(length)
    keyed = hmac.HMAC(secret, hash_algorithm(hash_name))
    out = bytearray()
    a = seed
    while len(out) < length:
        h = keyed.copy()
        h.update(a)
        a = h.finalize()
        h = keyed.copy()
        h.update(a)
        h.update(seed)
        out += h.finalize()
    return bytes(out[:length])


def tls10_prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """TLS 1.0/1.1 PRF (RFC 2246 §5, RFC 4346 §5).

    The secret is split into halves S1, S2 of ceil(len/2) bytes (sharing the middle byte when the length is
    odd); PRF = P_MD5(S1, label + seed) XOR P_SHA-1(S2, label + seed).
    """
    half = (len(secret) + 1) // 2
    s1, s2 = secret[:half], secret[len(secret) - half :]
    label_seed = label + seed
    md5_part = p_hash("md5", s1, label_seed, length)
    sha_part = p_hash("sha1", s2, label_seed, length)
    return (int.from_bytes(md5_part, "big") ^ int.from_bytes(sha_part, "big")).to_bytes(length, "big")


def tls12_prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """TLS 1.2 PRF(secret, label, seed) = P_<hash>(secret, label + seed) (RFC 5246 §5)."""
    return p_hash(hash_name, secret, label + seed, length)


def ssl3_expand(secret: bytes, seed: bytes, length: int) -> bytes:
    """SSL 3.0 expansion: MD5(secret + SHA1('A' + secret + seed)) || MD5(secret + SHA1('BB' + ...)) ...

    Used for the master secret (RFC 6101 §6.1, seed = client_random + server_random) and the key block
    (RFC 6101 §6.2.2, seed = server_random + client_random). Limited to 26 blocks ('A'..'Z', 416 bytes).
    """
    _check_length(length)
    blocks = -(-length // 16)
    if blocks > 26:
        raise ConfigurationError(f"SSL 3.0 expansion is limited to 416 bytes, {length} requested")
    out = bytearray()
    for i in range(1, blocks + 1):
        prefix = bytes([0x40 + i]) * i  # 'A', 'BB', 'CCC', ...
        inner = hashlib.sha1(prefix + secret + seed).digest()
        out += hashlib.md5(secret + inner).digest()
    return bytes(out[:length])


def _version(version: ProtocolVersion | int) -> ProtocolVersion:
    known = PROTOCOL_VERSIONS.get(version)  # (not an enum call: the PRF runs several times per handshake)
    if known is not None:
        return known
    try:
        return ProtocolVersion(int(version))
    except ValueError:
        raise ConfigurationError(f"unknown protocol version 0x{int(version):04x}") from None


def prf(version: ProtocolVersion | int, prf_hash: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The PRF of a TLS version: TLS 1.0/1.1 MD5+SHA-1 (RFC 2246 §5), TLS 1.2 P_<prf_hash> (RFC 5246 §5).

    SSL 3.0 has no labelled PRF; use :func:`ssl3_expand`. TLS 1.3 uses HKDF (``schedule13``).
    """
    v = _version(version)
    if v in (ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1):
        return tls10_prf(secret, label, seed, length)
    if v is ProtocolVersion.TLS1_2:
        return tls12_prf(prf_hash, secret, label, seed, length)
    raise ConfigurationError(f"{v.label} has no TLS PRF (SSL 3.0: ssl3_expand, TLS 1.3: HKDF)")


def _check_random(name: str, value: bytes) -> None:
    if len(value) != RANDOM_LENGTH:
        raise ConfigurationError(f"{name} must be {RANDOM_LENGTH} bytes, got {len(value)}")


def master_secret(
    version: ProtocolVersion | int, prf_hash: str, premaster: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    """master_secret = PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random)[0..47].

    RFC 5246 §8.1 (TLS); RFC 6101 §6.1 for SSL 3.0 (expansion of the same seed, 48 bytes).
    """
    _check_random("client random", client_random)
    _check_random("server random", server_random)
    seed = client_random + server_random
    if _version(version) is ProtocolVersion.SSL3:
        return ssl3_expand(premaster, seed, MASTER_SECRET_LENGTH)
    return prf(version, prf_hash, premaster, b"master secret", seed, MASTER_SECRET_LENGTH)


def session_hash(version: ProtocolVersion | int, prf_hash: str, transcript: bytes) -> bytes:
    """session_hash = Hash(handshake_messages) (RFC 7627 §3).

    Before TLS 1.2 the hash is MD5(transcript) || SHA-1(transcript) (36 bytes); in TLS 1.2 the PRF hash.
    """
    v = _version(version)
    if v < ProtocolVersion.TLS1_2:
        return hashlib.md5(transcript).digest() + hashlib.sha1(transcript).digest()
    return hashlib.new(hash_algorithm(prf_hash).name, transcript).digest()


def extended_master_secret(version: ProtocolVersion | int, prf_hash: str, premaster: bytes, session_hash: bytes) -> bytes:
    """master_secret = PRF(pre_master_secret, "extended master secret", session_hash)[0..47] (RFC 7627 §4).

    Not defined for SSL 3.0 (RFC 7627 §5.4 concerns TLS only).
    """
    return prf(version, prf_hash, premaster, b"extended master secret", session_hash, MASTER_SECRET_LENGTH)


def key_block(
    version: ProtocolVersion | int, prf_hash: str, master: bytes, client_random: bytes, server_random: bytes, length: int
) -> bytes:
    """key_block = PRF(master_secret, "key expansion", server_random + client_random) (RFC 5246 §6.3).

    SSL 3.0: the MD5/SHA-1 expansion of the same seed (RFC 6101 §6.2.2).
    """
    _check_random("client random", client_random)
    _check_random("server random", server_random)
    if len(master) != MASTER_SECRET_LENGTH:
        raise ConfigurationError(f"master secret must be {MASTER_SECRET_LENGTH} bytes, got {len(master)}")
    seed = server_random + client_random
    if _version(version) is ProtocolVersion.SSL3:
        return ssl3_expand(master, seed, length)
    return prf(version, prf_hash, master, b"key expansion", seed, length)


def export_keys(
    version: ProtocolVersion | int, client_key_material: bytes, server_key_material: bytes, client_random: bytes,
    server_random: bytes, key_length: int, iv_length: int,
) -> tuple[bytes, bytes, bytes, bytes]:
    """The final write keys and IVs of an export cipher: (client key, server key, client IV, server IV).

    TLS 1.0 (RFC 2246 §6.3): final_client_write_key = PRF(client_write_key, "client write key",
    client_random + server_random), the server's with "server write key"; iv_block = PRF("", "IV block",
    client_random + server_random) cut into the client's and the server's IV. SSL 3.0 (RFC 6101 §6.2.2):
    final_client_write_key = MD5(client_write_key + client_random + server_random), the server's
    MD5(server_write_key + server_random + client_random), client_write_IV = MD5(client_random + server_random),
    server_write_IV = MD5(server_random + client_random). Each truncated to its length.
    """
    _check_random("client random", client_random)
    _check_random("server random", server_random)
    if key_length > 16 or iv_length > 16:
        raise ConfigurationError("export ciphers have keys and IVs of at most 16 bytes")
    cs, sc = client_random + server_random, server_random + client_random
    if _version(version) is ProtocolVersion.SSL3:
        return (
            hashlib.md5(client_key_material + cs).digest()[:key_length],
            hashlib.md5(server_key_material + sc).digest()[:key_length],
            hashlib.md5(cs).digest()[:iv_length],
            hashlib.md5(sc).digest()[:iv_length],
        )
    client_key = tls10_prf(client_key_material, b"client write key", cs, key_length)
    server_key = tls10_prf(server_key_material, b"server write key", cs, key_length)
    ivs = tls10_prf(b"", b"IV block", cs, 2 * iv_length) if iv_length else b""
    return client_key, server_key, ivs[:iv_length], ivs[iv_length:]


def ssl3_finished(master: bytes, transcript: bytes, from_client: bool) -> bytes:
    """SSL 3.0 Finished (RFC 6101 §5.6.9).

    md5_hash = MD5(master + pad2 + MD5(handshake_messages + Sender + master + pad1)),
    sha_hash = SHA(master + pad2 + SHA(handshake_messages + Sender + master + pad1)); returns md5 || sha.
    """
    sender = SSL3_SENDER_CLIENT if from_client else SSL3_SENDER_SERVER
    md5_inner = hashlib.md5(transcript + sender + master + _SSL3_PAD1_MD5).digest()
    sha_inner = hashlib.sha1(transcript + sender + master + _SSL3_PAD1_SHA).digest()
    md5_outer = hashlib.md5(master + _SSL3_PAD2_MD5 + md5_inner).digest()
    sha_outer = hashlib.sha1(master + _SSL3_PAD2_SHA + sha_inner).digest()
    return md5_outer + sha_outer


def finished_verify_data(
    version: ProtocolVersion | int, prf_hash: str, master: bytes, transcript: bytes, from_client: bool
) -> bytes:
    """Finished.verify_data over the handshake messages ``transcript`` sent so far.

    TLS: PRF(master_secret, "client finished"/"server finished", Hash(handshake_messages))[0..11], where Hash is
    MD5 || SHA-1 before TLS 1.2 (RFC 2246 §7.4.9) and the PRF hash in TLS 1.2 (RFC 5246 §7.4.9).
    SSL 3.0: the 36-byte MD5 || SHA construction of RFC 6101 §5.6.9.
    """
    v = _version(version)
    if v is ProtocolVersion.SSL3:
        return ssl3_finished(master, transcript, from_client)
    label = b"client finished" if from_client else b"server finished"
    return prf(v, prf_hash, master, label, session_hash(v, prf_hash, transcript), TLS_VERIFY_DATA_LENGTH)


def export_keying_material(
    version: ProtocolVersion | int,
    prf_hash: str,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    label: bytes,
    context: bytes | None,
    length: int,
) -> bytes:
    """RFC 5705 §4 exporter for TLS 1.0-1.2: PRF(master_secret, label, client_random + server_random
    [+ uint16 context length + context]). ``context=None`` means "no context" (distinct from an empty one).

    TLS 1.3 has its own exporter (``schedule13.export_keying_material``); SSL 3.0 has none.
    """
    seed = client_random + server_random
    if context is not None:
        if len(context) > 0xFFFF:
            raise ConfigurationError("exporter context longer than 65535 bytes")
        seed += len(context).to_bytes(2, "big") + context
    return prf(version, prf_hash, master, label, seed, length)
