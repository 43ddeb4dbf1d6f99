"""The TLS ≤ 1.2 key path in a capture: from the hellos and the key material to both directions' record protection.

The master secret of a handshake comes from the key log (``CLIENT_RANDOM``, ``RSA Session-ID``), from an earlier
handshake of the same capture when the session is resumed (by session ID, RFC 5246 §7.3, or ticket, RFC 5077 §3.4),
or from a premaster (key log ``PMS_CLIENT_RANDOM`` / ``RSA``, an RSA private key, a PSK; RFC 5246 §7.4.7.1,
RFC 4279) through :func:`~tlsstate.crypto.negotiated.master_secret_for` (classic or extended, RFC 7627). The six
values and the protections then take the same road as a live connection:
:func:`~tlsstate.crypto.negotiated.connection_keys_for` and :func:`~tlsstate.record.keying.protections_for`.
Every step is written to the handshake's :class:`~tlsstate.capture.trace.Derivation` for ``--explain``.
"""

from __future__ import annotations

from typing import Any

from tlsstate.capture.keysource import KeySource, psk_premaster, rsa_psk_premaster
from tlsstate.capture.stream import DirectionState
from tlsstate.capture.trace import Cause, Derivation
from tlsstate.crypto import prf
from tlsstate.crypto.keys import KEY_NAMES
from tlsstate.crypto.negotiated import Negotiated, connection_keys_for, master_secret_for
from tlsstate.crypto.suites import KeyExchange
from tlsstate.record.keying import protections_for
from tlsstate.record.protection import RecordProtection
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import BadRecordMAC
from tlsstate.wire.messages import ClientKeyExchange

__all__ = ["CapturedSessions", "Tls12Keys", "UnknownKeys", "change_cipher_spec", "key_source"]

RSA_PREMASTER_LENGTH = 48  # RFC 5246 §7.4.7.1: client_version(2) random(46)


class CapturedSessions:
    """Master secrets seen in this capture, by session ID and by ticket, for the handshakes that resume them
    (RFC 5246 §7.3, RFC 5077 §3.4)."""

    def __init__(self) -> None:
        self.by_session_id: dict[bytes, bytes] = {}  # session id -> master secret
        self.by_ticket: dict[bytes, bytes] = {}  # ticket -> master secret


class Tls12Keys:
    """What one TLS ≤ 1.2 handshake contributes to its keys, and the master secret once found."""

    def __init__(self, keys: KeySource, captured: CapturedSessions) -> None:
        self.keys = keys
        self.captured = captured
        self.client_session_id = b""  # ClientHello.session_id: a resumption offer (RFC 5246 §7.4.1.2)
        self.offered_ticket = b""  # the ClientHello's SessionTicket (RFC 5077 §3.2)
        self.certificate: bytes | None = None  # the server's end-entity certificate (DER)
        self.client_key_exchange: ClientKeyExchange | None = None
        self.session_hash_input: bytes | None = None  # handshake messages up to the ClientKeyExchange (RFC 7627 §3)
        self.master: bytes | None = None
        self.cause: Cause | None = None  # why there is no master secret
        self.master_source: tuple[str | None, str | None] = (None, None)  # (key log label, where) it came from

    @property
    def failure(self) -> str:
        """Why there is no master secret, in words ("" when there is one or none was needed yet)."""
        return self.cause.message if self.cause is not None else ""

    def fail(self, kind: str, message: str, label: str | None = None, client_random: bytes = b"") -> None:
        """Record why this handshake has no master secret (a :class:`~tlsstate.capture.trace.Cause`)."""
        self.cause = Cause(kind, message, label, client_random.hex() if client_random else None)

    def client_key_exchange_seen(self, message: ClientKeyExchange, transcript: bytes) -> None:
        """A full handshake: the ClientKeyExchange, and the transcript it ends (the EMS session hash input)."""
        self.client_key_exchange = message
        self.session_hash_input = transcript

    # ------------------------------------------------------------------ master secret
    def master_secret(self, n: Negotiated | None, d: Derivation | None) -> bytes | None:
        """The master secret of this handshake (RFC 5246 §8.1, RFC 7627 §4), or None with :attr:`failure` set."""
        if self.master is not None:
            return self.master
        if n is None or d is None or not n.client_random:
            self.fail("mid_stream", "handshake not seen (no ClientHello/ServerHello)")
            return None
        d.add("client_random", n.client_random, "ClientHello")
        d.add("server_random", n.server_random, "ServerHello")
        master = self._logged_master(n, d)
        if master is not None and self.client_key_exchange is None:
            n.resumed = True  # keys change with no ClientKeyExchange: an abbreviated handshake (RFC 5246 §7.3)
        if master is None:
            master = self._resumed_master(n, d) if self.client_key_exchange is None else self._derived_master(n, d)
        self.master = master
        return master

    def _logged_master(self, n: Negotiated, d: Derivation) -> bytes | None:
        """A master secret the key log gives directly: by client random, or by session ID after an RSA exchange."""
        keylog = self.keys.keylog
        master = keylog.master_secret(n.client_random)
        if master is not None:
            d.add("master_secret", master, f"key log CLIENT_RANDOM line {keylog.line_of('CLIENT_RANDOM', n.client_random)}")
            self.master_source = ("CLIENT_RANDOM", keylog.where("CLIENT_RANDOM", n.client_random))
            return master
        logged = keylog.session_master(n.session_id)
        if logged is not None and self.client_key_exchange is not None:
            d.add("master_secret", logged, f"key log RSA Session-ID line {keylog.line_of('RSA Session-ID', n.session_id)}")
            self.master_source = ("RSA Session-ID", keylog.where("RSA Session-ID", n.session_id))
            return logged
        return None

    def _resumed_master(self, n: Negotiated, d: Derivation) -> bytes | None:
        """An abbreviated handshake (no ClientKeyExchange): the resumed session's master secret (RFC 5246 §7.3)."""
        keylog = self.keys.keylog
        sid = n.session_id
        if sid and sid == self.client_session_id:
            cached = self.captured.by_session_id.get(sid)
            if cached is not None:
                n.resumed = True
                d.add("master_secret", cached, f"resumed session {sid.hex()[:16]}… (earlier in the capture)")
                return cached
            logged = keylog.session_master(sid)
            if logged is not None:
                n.resumed = True
                d.add("master_secret", logged, f"key log RSA Session-ID line {keylog.line_of('RSA Session-ID', sid)}")
                return logged
        if self.offered_ticket:
            cached = self.captured.by_ticket.get(self.offered_ticket)
            if cached is not None:
                n.resumed = True
                d.add("master_secret", cached, "resumed by session ticket (issued earlier in the capture)")
                return cached
        self.fail("missing_secret", f"resumed session whose master secret is unknown: no CLIENT_RANDOM for client random "
                  f"{n.client_random.hex()[:8]}…, and the session was not set up earlier in the capture",
                  "CLIENT_RANDOM", n.client_random)
        return None

    def _derived_master(self, n: Negotiated, d: Derivation) -> bytes | None:
        """A full handshake: master secret from the premaster, classic or extended (RFC 5246 §8.1, RFC 7627 §4)."""
        premaster = self._premaster(n, d)
        if premaster is None:
            return None
        session_hash = None
        if n.extended_master_secret and self.session_hash_input is not None:
            session_hash = prf.session_hash(n.version, n.suite.prf_hash, self.session_hash_input)
            d.add("session_hash", session_hash, "hash of handshake messages ClientHello..ClientKeyExchange (RFC 7627 §3)")
        master = master_secret_for(n, premaster, session_hash)
        if n.extended_master_secret:
            d.add("master_secret", master, 'PRF(premaster, "extended master secret", session_hash) (RFC 7627 §4)')
        else:
            d.add("master_secret", master, 'PRF(premaster, "master secret", client_random + server_random) (RFC 5246 §8.1)')
        return master

    def _premaster(self, n: Negotiated, d: Derivation) -> bytes | None:
        """The premaster secret: from the key log, the RSA-encrypted ClientKeyExchange, or the PSK (RFC 4279)."""
        keylog = self.keys.keylog
        logged = keylog.premaster_secret(n.client_random)
        if logged is not None:
            line = keylog.line_of("PMS_CLIENT_RANDOM", n.client_random)
            d.add("premaster_secret", logged, f"key log PMS_CLIENT_RANDOM line {line}")
            self.master_source = ("PMS_CLIENT_RANDOM", keylog.where("PMS_CLIENT_RANDOM", n.client_random))
            return logged
        kx = n.suite.key_exchange
        encrypted = self.client_key_exchange.encrypted_premaster if self.client_key_exchange else b""
        rsa_premaster: bytes | None = None
        if kx.client_public == "rsa" and encrypted:  # RSA, RSA_EXPORT, RSA_PSK
            rsa_premaster = self._rsa_premaster(n, d, encrypted)
            if rsa_premaster is None:
                return None
            if not kx.uses_psk:
                return rsa_premaster
        if kx.uses_psk and self.keys.psk is not None:
            if kx is KeyExchange.PSK:
                premaster = psk_premaster(self.keys.psk)
                d.add("premaster_secret", premaster, "--psk: uint16 N, N zeros, uint16 N, psk (RFC 4279 §2)")
                self.master_source = ("PSK", "--psk")
                return premaster
            if kx is KeyExchange.RSA_PSK and rsa_premaster is not None:
                premaster = rsa_psk_premaster(rsa_premaster, self.keys.psk)
                d.add("premaster_secret", premaster, "uint16 48, RSA premaster, uint16 N, psk (RFC 4279 §4)")
                self.master_source = ("PSK", "--psk")
                return premaster
        if kx.uses_psk and self.keys.psk is None:
            self.fail("missing_key_material", f"no CLIENT_RANDOM for client random {n.client_random.hex()[:8]}… "
                      f"and no --psk ({kx.value} key exchange)", "CLIENT_RANDOM", n.client_random)
        else:
            self.fail("missing_secret", f"no CLIENT_RANDOM for client random {n.client_random.hex()[:8]}… in the key "
                      f"log ({kx.value} key exchange: CLIENT_RANDOM or PMS_CLIENT_RANDOM)", "CLIENT_RANDOM", n.client_random)
        return None

    def _rsa_premaster(self, n: Negotiated, d: Derivation, encrypted: bytes) -> bytes | None:
        """The 48 bytes an RSA ClientKeyExchange encrypts (RFC 5246 §7.4.7.1): from the key log or a private key."""
        keylog = self.keys.keylog
        name = "rsa_premaster" if n.suite.key_exchange.uses_psk else "premaster_secret"
        logged = keylog.rsa_premaster(encrypted)
        if logged is not None:
            d.add(name, logged, f"key log RSA line {keylog.line_of('RSA', encrypted[:8])}")
            self.master_source = ("RSA", keylog.where("RSA", encrypted[:8]))
            return logged
        key = self.keys.rsa_key_for(self.certificate)
        if key is None:
            if self.keys.rsa_keys:
                self.fail("missing_key_material", "no RSA key matches the server certificate")
            else:
                self.fail("missing_secret", f"no CLIENT_RANDOM for client random {n.client_random.hex()[:8]}…, no RSA "
                          "line for its encrypted premaster and no --rsa-key", "CLIENT_RANDOM", n.client_random)
            return None
        premaster = KeySource.rsa_decrypt(key, encrypted)
        if premaster is None or len(premaster) != RSA_PREMASTER_LENGTH or (
            premaster[:2] != n.client_version.to_bytes(2, "big") and premaster[0] != 3
        ):
            self.fail("wrong_key", f"RSA key {key.source} does not decrypt the premaster (wrong key?)")
            return None
        d.add("encrypted_premaster", encrypted, "ClientKeyExchange")
        d.add(name, premaster, f"RSA-decrypted with {key.source} (PKCS #1 v1.5, RFC 5246 §7.4.7.1)")
        return premaster

    # ------------------------------------------------------------------ keys and checks
    def protection(self, n: Negotiated | None, d: Derivation | None, writer: str) -> RecordProtection | None:
        """The record protection ``writer`` switches to at its ChangeCipherSpec (RFC 5246 §6.3, §7.1)."""
        master = self.master_secret(n, d)
        if master is None or n is None:
            return None
        keys = connection_keys_for(n, master)
        if d is not None and not d.has("client_write_key"):
            for name in KEY_NAMES:
                d.add(name, getattr(keys, name), key_source(n, name))
        return protections_for(n, keys).for_writer(writer)

    def finished_matches(
        self, n: Negotiated | None, transcript: bytes, from_client: bool, verify_data: bytes
    ) -> bool | None:
        """Whether Finished.verify_data is the one over ``transcript`` (RFC 5246 §7.4.9, RFC 6101 §5.6.9): proof that
        the master secret and every handshake message reconstructed are the ones both peers used. None: no master."""
        if self.master is None or n is None:
            return None
        return prf.finished_verify_data(n.version, n.suite.prf_hash, self.master, transcript, from_client) == verify_data

    def remember_session(self, n: Negotiated | None) -> None:
        """A completed handshake's session, resumable by its ID later in the capture (RFC 5246 §7.3)."""
        if self.master is not None and n is not None and n.session_id:
            self.captured.by_session_id[n.session_id] = self.master

    def remember_ticket(self, ticket: bytes, master: bytes | None) -> None:
        """A NewSessionTicket's session, resumable by that ticket later in the capture (RFC 5077 §3.3)."""
        if master is not None and ticket:
            self.captured.by_ticket[ticket] = master


def key_source(n: Negotiated, name: str) -> str:
    """How ``--explain`` says one of the six values was derived (RFC 5246 §6.3, RFC 6101 §6.2.2; export ciphers:
    RFC 2246 §6.3 and RFC 6101 §6.2.2 final keys and IVs)."""
    ssl3 = n.version == ProtocolVersion.SSL3
    block = ("key_block = SSL 3.0 expansion(master, server_random + client_random) (RFC 6101 §6.2.2)" if ssl3
             else 'key_block = PRF(master, "key expansion", server_random + client_random)')
    if not n.suite.cipher.is_export or "mac_key" in name:
        return block
    writer = name.split("_", 1)[0]
    first, second = ("client_random", "server_random") if writer == "client" else ("server_random", "client_random")
    if name.endswith("_key"):
        if ssl3:
            return f"MD5({writer} key material (5 bytes of key_block) + {first} + {second}) (RFC 6101 §6.2.2, export)"
        return (f'PRF({writer} key material (5 bytes of key_block), "{writer} write key", client_random + '
                'server_random) (RFC 2246 §6.3, export)')
    if ssl3:
        return f"MD5({first} + {second}) (RFC 6101 §6.2.2, export)"
    return 'iv_block = PRF("", "IV block", client_random + server_random) (RFC 2246 §6.3, export)'


def change_cipher_spec(direction: DirectionState, protection: RecordProtection | None, failure: Cause | None) -> None:
    """ChangeCipherSpec (RFC 5246 §7.1): ``direction`` switches to its pending keys, or to :class:`UnknownKeys`."""
    if protection is None:
        direction.lost_state(failure or Cause("missing_secret", "keys unknown"))
        direction.half.set_pending(UnknownKeys())
        direction.half.activate_pending()
        direction.set_label(f"{direction.writer} write key (epoch {direction.half.epoch}, unknown)")
        return
    direction.half.set_pending(protection)
    direction.half.activate_pending()
    direction.set_label(direction.half.key_label)
    direction.no_keys = False


class UnknownKeys(RecordProtection):
    """Stands for keys we do not have: every open fails (the direction is marked no_keys first)."""

    name = "unknown keys"
    protects = True

    def seal(self, seq: int, content_type: int, version: int, plaintext: Any) -> bytes:
        raise BadRecordMAC()

    def open(self, seq: int, content_type: int, version: int, fragment: Any) -> bytes:
        raise BadRecordMAC()
