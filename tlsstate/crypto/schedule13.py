"""The TLS 1.3 key schedule (RFC 8446 §7).

Building blocks: HKDF-Extract (RFC 5869 §2.2, HMAC from pyca), HKDF-Expand-Label with the "tls13 " prefix and
Derive-Secret (RFC 8446 §7.1), traffic key/IV (§7.3), the KeyUpdate next-generation secret (§7.2), the Finished
key and verify_data (§4.4.4), the exporter (§7.5) and the resumption PSK (§4.6.1).

:class:`KeySchedule13` walks the §7.1 tree::

    PSK (or 0) -> Early Secret -> binder key, client_early_traffic_secret, early_exporter_master_secret
    (EC)DHE (or 0) -> Handshake Secret -> c/s handshake traffic secrets
    0 -> Master Secret -> c/s application traffic secrets, exporter and resumption master secrets

Transcript hashes are passed in already hashed (``Transcript-Hash(messages)``); :func:`transcript_hash` helps.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hmac
from cryptography.hazmat.primitives.hashes import HashAlgorithm
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from tlsstate.crypto.hashes import hash_algorithm
from tlsstate.crypto.suites import CipherSuite
from tlsstate.wire.errors import ConfigurationError

LABEL_PREFIX = b"tls13 "
TLS13_IV_LENGTH = 12  # RFC 8446 §5.3: iv_length = max(8, N_MIN) = 12 for every defined AEAD


#: The two TLS 1.3 suite hashes' lengths (RFC 9846 §B.4), read without a hash object; others are looked up.
_HASH_LENGTHS = {"sha256": 32, "sha384": 48}


def hash_length(hash_name: str) -> int:
    """Output length of the suite hash (32 for SHA-256, 48 for SHA-384)."""
    return _HASH_LENGTHS.get(hash_name) or hash_algorithm(hash_name).digest_size


def transcript_hash(hash_name: str, messages: bytes) -> bytes:
    """Transcript-Hash(M1 || ... || Mn) = Hash of the concatenated handshake messages (RFC 8446 §4.4.1)."""
    return hashlib.new(hash_algorithm(hash_name).name, messages).digest()


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM) (RFC 5869 §2.2); an empty salt means HashLen zeros."""
    algorithm = hash_algorithm(hash_name)
    h = hmac.HMAC(salt or bytes(algorithm.digest_size), algorithm)
    h.update(ikm)
    return h.finalize()


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand(PRK, info, L) (RFC 5869 §2.3), via pyca ``HKDFExpand``."""
    algorithm = hash_algorithm(hash_name)
    if not 0 < length <= 255 * algorithm.digest_size:
        raise ConfigurationError(f"HKDF-Expand length {length} out of range 1..{255 * algorithm.digest_size}")
    return HKDFExpand(algorithm, length, info).derive(prk)


#: (hash, label, length) -> (pyca hash, the HkdfLabel bytes before the context), once checked: a handshake derives some
#: forty labels from a dozen (hash, label, length) triples. Bounded: exporter labels come from callers.
_EXPANSIONS: dict[tuple[str, bytes, int], tuple[HashAlgorithm, bytes]] = {}
_LENGTH_BYTES = tuple(bytes((n,)) for n in range(256))


def _label_head(label: bytes, context: bytes, length: int) -> bytes:
    """HkdfLabel up to its context, after checking the three fields (RFC 9846 §7.1)."""
    full_label = LABEL_PREFIX + label
    if len(full_label) > 255:
        raise ConfigurationError(f"HKDF label too long ({len(full_label)} bytes, at most 255)")
    if len(context) > 255:
        raise ConfigurationError(f"HKDF context too long ({len(context)} bytes, at most 255)")
    if not 0 <= length <= 0xFFFF:
        raise ConfigurationError(f"HKDF-Expand-Label length {length} out of range")
    return length.to_bytes(2, "big") + bytes([len(full_label)]) + full_label


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel structure (RFC 9846 §7.1): uint16 length, opaque label<7..255> = "tls13 " + label,
    opaque context<0..255>."""
    return _label_head(label, context, length) + _LENGTH_BYTES[len(context)] + context


def _expansion(hash_name: str, label: bytes, context: bytes, length: int) -> tuple[HashAlgorithm, bytes]:
    """Check an HKDF-Expand-Label (HkdfLabel's fields, then HKDF-Expand's length, RFC 5869 §2.3) and keep it."""
    head = _label_head(label, context, length)
    algorithm = hash_algorithm(hash_name)
    if not 0 < length <= 255 * algorithm.digest_size:
        raise ConfigurationError(f"HKDF-Expand length {length} out of range 1..{255 * algorithm.digest_size}")
    if len(_EXPANSIONS) < 256:
        _EXPANSIONS[hash_name, label, length] = (algorithm, head)
    return algorithm, head


def hkdf_expand_label(hash_name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret, HkdfLabel, Length) (RFC 9846 §7.1).

    ``label`` is given without the "tls13 " prefix, which is added here.
    """
    known = _EXPANSIONS.get((hash_name, label, length))
    if known is None or len(context) > 255:
        known = _expansion(hash_name, label, context, length)  # the checks, in their order; raises when one fails
    return HKDFExpand(known[0], length, known[1] + _LENGTH_BYTES[len(context)] + context).derive(secret)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length).

    RFC 8446 §7.1; ``transcript_hash`` is the already computed Transcript-Hash(Messages).
    """
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, hash_length(hash_name))


def empty_hash(hash_name: str) -> bytes:
    """Transcript-Hash("") — the context of the "derived" and exporter steps (RFC 8446 §7.1, §7.5)."""
    return transcript_hash(hash_name, b"")


def traffic_key_and_iv(suite: CipherSuite, traffic_secret: bytes) -> tuple[bytes, bytes]:
    """[sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
    [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length) (RFC 8446 §7.3)."""
    if not suite.is_tls13:
        raise ConfigurationError(f"{suite.name} is not a TLS 1.3 suite")
    key = hkdf_expand_label(suite.prf_hash, traffic_secret, b"key", b"", suite.cipher.key_length)
    iv = hkdf_expand_label(suite.prf_hash, traffic_secret, b"iv", b"", TLS13_IV_LENGTH)
    return key, iv


def next_traffic_secret(hash_name: str, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length) (RFC 8446 §7.2)."""
    return hkdf_expand_label(hash_name, secret, b"traffic upd", b"", hash_length(hash_name))


def key_update_limit(suite: CipherSuite) -> int:
    """Records sealed under one TLS 1.3 traffic key before we send KeyUpdate (RFC 9846 §5.5): AES-GCM may protect
    2^24.5 full-size records; we move on at 2^23 for AES-GCM and AES-CCM (RFC 9147 §4.5.3 gives CCM a smaller
    margin) and at 2^60 for ChaCha20-Poly1305, whose limit the 64-bit sequence number reaches first."""
    return 1 << 60 if suite.cipher.algorithm == "CHACHA20-POLY1305" else 1 << 23


def finished_key(hash_name: str, base_key: bytes) -> bytes:
    """finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (RFC 8446 §4.4.4)."""
    return hkdf_expand_label(hash_name, base_key, b"finished", b"", hash_length(hash_name))


def finished_verify_data(hash_name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*, CertificateVerify*)).

    RFC 8446 §4.4.4; ``base_key`` is the sender's handshake traffic secret (or the binder key for a PSK binder).
    """
    algorithm = hash_algorithm(hash_name)
    h = hmac.HMAC(finished_key(hash_name, base_key), algorithm)
    h.update(transcript_hash)
    return h.finalize()


def resumption_psk(hash_name: str, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length) (RFC 8446 §4.6.1)."""
    return hkdf_expand_label(hash_name, resumption_master_secret, b"resumption", ticket_nonce, hash_length(hash_name))


def export_keying_material(hash_name: str, exporter_secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """TLS-Exporter(label, context_value, key_length) (RFC 8446 §7.5):
    HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), key_length)."""
    derived = derive_secret(hash_name, exporter_secret, label, empty_hash(hash_name))
    return hkdf_expand_label(hash_name, derived, b"exporter", transcript_hash(hash_name, context), length)


class KeySchedule13:
    """The RFC 8446 §7.1 secret tree for one connection, advanced stage by stage.

    >>> ks = KeySchedule13("sha256")                  # no PSK: Early Secret from zeros
    >>> ks.client_early_traffic_secret(hash_ch)        # only meaningful with a PSK
    >>> ks.enter_handshake(ecdhe_shared_secret)        # Handshake Secret
    >>> ks.client_handshake_traffic_secret(hash_ch_sh)
    >>> ks.enter_master()                              # Master Secret
    >>> ks.server_application_traffic_secret(hash_ch_sf)

    Using a stage's secret before entering it raises :class:`ConfigurationError`. The repr shows no secret.
    """

    __slots__ = ("_early_secret", "_handshake_secret", "_master_secret", "hash_length", "hash_name")

    def __init__(self, hash_name: str, psk: bytes | None = None) -> None:
        """Early Secret = HKDF-Extract(salt=0, IKM=PSK or HashLen zeros)."""
        self.hash_name = hash_name
        self.hash_length = hash_length(hash_name)
        self._early_secret = hkdf_extract(hash_name, bytes(self.hash_length), psk or bytes(self.hash_length))
        self._handshake_secret: bytes | None = None
        self._master_secret: bytes | None = None

    def __repr__(self) -> str:
        stage = "master" if self._master_secret else "handshake" if self._handshake_secret else "early"
        return f"KeySchedule13(hash={self.hash_name}, stage={stage})"

    # --- stage secrets -------------------------------------------------------------------------------------------
    @property
    def early_secret(self) -> bytes:
        """Early Secret (RFC 8446 §7.1)."""
        return self._early_secret

    @property
    def handshake_secret(self) -> bytes:
        """Handshake Secret; available after :meth:`enter_handshake`."""
        if self._handshake_secret is None:
            raise ConfigurationError("handshake secret requested before enter_handshake()")
        return self._handshake_secret

    @property
    def master_secret(self) -> bytes:
        """Master Secret; available after :meth:`enter_master`."""
        if self._master_secret is None:
            raise ConfigurationError("master secret requested before enter_master()")
        return self._master_secret

    def _derived(self, secret: bytes) -> bytes:
        return derive_secret(self.hash_name, secret, b"derived", empty_hash(self.hash_name))

    def enter_handshake(self, dhe: bytes | None) -> bytes:
        """Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret, "derived", ""), (EC)DHE or zeros)."""
        self._handshake_secret = hkdf_extract(
            self.hash_name, self._derived(self._early_secret), dhe or bytes(self.hash_length)
        )
        return self._handshake_secret

    def enter_master(self) -> bytes:
        """Master Secret = HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""), HashLen zeros)."""
        self._master_secret = hkdf_extract(self.hash_name, self._derived(self.handshake_secret), bytes(self.hash_length))
        return self._master_secret

    # --- early stage ---------------------------------------------------------------------------------------------
    def binder_key(self, external: bool) -> bytes:
        """Derive-Secret(Early Secret, "ext binder" | "res binder", "") (RFC 8446 §7.1, §4.2.11.2)."""
        label = b"ext binder" if external else b"res binder"
        return derive_secret(self.hash_name, self._early_secret, label, empty_hash(self.hash_name))

    def client_early_traffic_secret(self, hash_client_hello: bytes) -> bytes:
        """Derive-Secret(Early Secret, "c e traffic", ClientHello)."""
        return derive_secret(self.hash_name, self._early_secret, b"c e traffic", hash_client_hello)

    def early_exporter_master_secret(self, hash_client_hello: bytes) -> bytes:
        """Derive-Secret(Early Secret, "e exp master", ClientHello)."""
        return derive_secret(self.hash_name, self._early_secret, b"e exp master", hash_client_hello)

    # --- handshake stage -----------------------------------------------------------------------------------------
    def client_handshake_traffic_secret(self, hash_to_server_hello: bytes) -> bytes:
        """Derive-Secret(Handshake Secret, "c hs traffic", ClientHello...ServerHello)."""
        return derive_secret(self.hash_name, self.handshake_secret, b"c hs traffic", hash_to_server_hello)

    def server_handshake_traffic_secret(self, hash_to_server_hello: bytes) -> bytes:
        """Derive-Secret(Handshake Secret, "s hs traffic", ClientHello...ServerHello)."""
        return derive_secret(self.hash_name, self.handshake_secret, b"s hs traffic", hash_to_server_hello)

    # --- master stage --------------------------------------------------------------------------------------------
    def client_application_traffic_secret(self, hash_to_server_finished: bytes) -> bytes:
        """client_application_traffic_secret_0 = Derive-Secret(Master Secret, "c ap traffic", CH..server Finished)."""
        return derive_secret(self.hash_name, self.master_secret, b"c ap traffic", hash_to_server_finished)

    def server_application_traffic_secret(self, hash_to_server_finished: bytes) -> bytes:
        """server_application_traffic_secret_0 = Derive-Secret(Master Secret, "s ap traffic", CH..server Finished)."""
        return derive_secret(self.hash_name, self.master_secret, b"s ap traffic", hash_to_server_finished)

    def exporter_master_secret(self, hash_to_server_finished: bytes) -> bytes:
        """Derive-Secret(Master Secret, "exp master", ClientHello...server Finished)."""
        return derive_secret(self.hash_name, self.master_secret, b"exp master", hash_to_server_finished)

    def resumption_master_secret(self, hash_to_client_finished: bytes) -> bytes:
        """Derive-Secret(Master Secret, "res master", ClientHello...client Finished)."""
        return derive_secret(self.hash_name, self.master_secret, b"res master", hash_to_client_finished)
