"""Parse the plaintext handshake messages of real captures (Wireshark test suite, see
../shared/vectors/SOURCES.md) and check them against Wireshark's own dissection (expected-tshark/*.json).

Covers SSLv2-format ClientHello (rsasnakeoil2), SSL 3.0 RSA ClientKeyExchange without a length
(RFC 6101 §5.6.7), TLS 1.0 DHE ServerKeyExchange (dhe1), TLS 1.2 ECDHE-RSA/ECDSA, DHE-RSA, PSK,
RSA_PSK, ECDHE_PSK exchanges.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import dpkt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tlsstate.crypto.suites import KeyExchange, by_id
from tlsstate.wire import messages as m
from tlsstate.wire.constants import ContentType, HandshakeType
from tlsstate.wire.errors import DecodeError

CAPTURES = [
    "rsasnakeoil2.pcap",
    "dhe1.pcapng.gz",
    "dmgr.pcapng",
    "rsa-p-lt-q.pcap",
    "tls-renegotiation.pcap",
    "tls12-aes128ccm.pcap",
    "tls12-aes256gcm.pcap",
    "tls12-chacha20poly1305.pcap",
]


def _tcp_payloads(path: Path) -> dict[tuple[tuple[str, int], tuple[str, int]], list[tuple[int, bytes]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    out: dict[tuple[tuple[str, int], tuple[str, int]], list[tuple[int, bytes]]] = defaultdict(list)
    with opener(path, "rb") as f:
        reader = dpkt.pcapng.Reader(f) if ".pcapng" in path.name else dpkt.pcap.Reader(f)
        link = reader.datalink()
        for _ts, buf in reader:
            frame = dpkt.sll.SLL(buf) if link == 113 else dpkt.ethernet.Ethernet(buf)
            ip = frame.data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            tcp = ip.data
            if tcp.data:
                key = ((bytes(ip.src).hex(), tcp.sport), (bytes(ip.dst).hex(), tcp.dport))
                out[key].append((tcp.seq, bytes(tcp.data)))
    return out


def _reassemble(segments: list[tuple[int, bytes]]) -> bytes:
    """In-order byte stream from (seq, payload) segments, duplicates and overlaps dropped."""
    segments = sorted(segments)
    start = segments[0][0]
    stream = bytearray()
    for seq, payload in segments:
        offset = seq - start
        if offset + len(payload) > len(stream):
            stream += payload[max(0, len(stream) - offset):]
    return bytes(stream)


@dataclass
class Flight:
    """Plaintext handshake bytes of one direction until its first ChangeCipherSpec."""

    handshake: bytes = b""
    records: list[bytes] = field(default_factory=list)
    sslv2_hello: bytes | None = None


def _plaintext_flight(stream: bytes) -> Flight:
    flight = Flight()
    pos = 0
    if stream and stream[0] & 0x80:
        total = m.sslv2_record_length(stream)
        assert total is not None
        flight.sslv2_hello = stream[:total]
        pos = total
    data = bytearray()
    while pos + 5 <= len(stream):
        ctype = stream[pos]
        length = int.from_bytes(stream[pos + 3 : pos + 5], "big")
        fragment = stream[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if ctype == ContentType.CHANGE_CIPHER_SPEC:
            break
        if ctype == ContentType.HANDSHAKE:
            data += fragment
            flight.records.append(fragment)
    flight.handshake = bytes(data)
    return flight


@dataclass
class Conversation:
    client: Flight
    server: Flight


def conversations(path: Path) -> list[Conversation]:
    payloads = _tcp_payloads(path)
    convs = []
    for (src, dst), segs in payloads.items():
        client_stream = _reassemble(segs)
        if not client_stream:
            continue
        first = client_stream[0]
        is_hello = (first == ContentType.HANDSHAKE and client_stream[5] == HandshakeType.CLIENT_HELLO) or (
            first & 0x80 and m.is_sslv2_client_hello(client_stream)
        )
        if not is_hello or (dst, src) not in payloads:
            continue
        convs.append(Conversation(_plaintext_flight(client_stream), _plaintext_flight(_reassemble(payloads[(dst, src)]))))
    return convs


def _messages(flight: Flight, ctx: m.ParseContext) -> list[tuple[m.RawHandshake, m.HandshakeMessage]]:
    reasm = m.HandshakeReassembler()
    out = []
    for fragment in flight.records:
        reasm.feed(fragment)
        while (raw := reasm.next_message()) is not None:
            msg = m.parse_message(raw, ctx)
            out.append((raw, msg))
    assert reasm.empty
    return out


def _first_raw(flight: Flight) -> m.RawHandshake:
    reasm = m.HandshakeReassembler()
    reasm.feed(flight.handshake)
    raw = reasm.next_message()
    assert raw is not None and raw.msg_type == HandshakeType.SERVER_HELLO
    return raw


def _expected(vectors: Path, capture: str) -> dict[str, object]:
    name = capture.split(".")[0]
    return json.loads((vectors / "wireshark-test-suite" / "expected-tshark" / f"{name}.json").read_text())


@pytest.mark.parametrize("capture", CAPTURES)
def test_capture_handshakes_match_wireshark(vectors: Path, capture: str) -> None:
    path = vectors / "wireshark-test-suite" / "captures" / capture
    expected = _expected(vectors, capture)
    hellos = {bytes.fromhex(h["server_random"]): h for h in expected["server_hellos"]}  # type: ignore[index, union-attr]
    convs = conversations(path)
    assert convs, "no TLS conversation found"
    checked = 0
    for conv in convs:
        if not conv.server.handshake:
            continue
        sh = m.ServerHello.parse(_first_raw(conv.server).body)
        assert isinstance(sh, m.ServerHello)
        suite = by_id(sh.cipher_suite)
        assert suite is not None
        ctx = m.ParseContext(sh.version, suite.key_exchange)
        server_msgs = _messages(conv.server, ctx)
        client_msgs = _messages(conv.client, ctx)
        if conv.client.sslv2_hello is not None:
            ch = m.parse_sslv2_client_hello(conv.client.sslv2_hello)
        else:
            ch = client_msgs.pop(0)[1]  # type: ignore[assignment]
        assert isinstance(ch, m.ClientHello)
        assert sh.cipher_suite in ch.cipher_suites
        want = hellos[sh.random]
        assert want["cipher_suite"] == f"0x{sh.cipher_suite:04x}"
        assert want["server_hello_version"] == f"0x{sh.version:04x}"
        if want["client_random"]:
            assert bytes.fromhex(want["client_random"]) == ch.random  # type: ignore[arg-type]
        # Every message re-encodes to exactly the bytes on the wire.
        for raw, msg in server_msgs + client_msgs:
            assert m.encode_handshake(msg, version=sh.version) == raw.raw
        types = [type(msg).__name__ for _raw, msg in server_msgs]
        if "ServerHelloDone" not in types:
            assert types in (["ServerHello"], ["ServerHello", "NewSessionTicket"])  # abbreviated handshake
            checked += 1
            continue
        # A full handshake's first flight ends in ServerHelloDone; the second may hold a NewSessionTicket.
        assert types[types.index("ServerHelloDone") + 1 :] in ([], ["NewSessionTicket"])
        for _raw, msg in server_msgs:
            if isinstance(msg, m.Certificate):
                for der in msg.certificates:
                    x509.load_der_x509_certificate(der)
            if isinstance(msg, m.ServerKeyExchange):
                assert suite.key_exchange != KeyExchange.RSA
                if suite.key_exchange in (KeyExchange.DHE_RSA, KeyExchange.DHE_PSK):
                    assert int.from_bytes(msg.dh_p, "big") > 2**1000
                    assert 1 < int.from_bytes(msg.dh_public, "big") < int.from_bytes(msg.dh_p, "big") - 1
                if suite.key_exchange.is_ephemeral and "DHE" not in suite.key_exchange.value:
                    assert msg.named_group is not None and msg.ec_public
        cke = [msg for _raw, msg in client_msgs if isinstance(msg, m.ClientKeyExchange)]
        assert len(cke) == 1
        if suite.key_exchange.uses_psk:
            assert cke[0].psk_identity is not None
        checked += 1
    assert checked >= 1


def test_sslv2_client_hello_from_capture(vectors: Path) -> None:
    """rsasnakeoil2: SSLv2-format ClientHello; Wireshark's client random = 16 zero bytes || challenge."""
    convs = conversations(vectors / "wireshark-test-suite" / "captures" / "rsasnakeoil2.pcap")
    v2 = [c for c in convs if c.client.sslv2_hello is not None]
    assert len(v2) == 1
    ch = m.parse_sslv2_client_hello(v2[0].client.sslv2_hello)  # type: ignore[arg-type]
    expected = _expected(vectors, "rsasnakeoil2.pcap")
    first = expected["key_material"][0]  # type: ignore[index]
    assert ch.random.hex() == first["client_random"]
    assert ch.version == 0x0300
    assert 0x0035 in ch.cipher_suites and ch.extensions is None
    for cut in range(1, len(v2[0].client.sslv2_hello)):  # type: ignore[arg-type]
        with pytest.raises(DecodeError):
            m.parse_sslv2_client_hello(v2[0].client.sslv2_hello[:cut])  # type: ignore[index]


def test_ssl3_rsa_client_key_exchange_decrypts_to_wiresharks_premaster(vectors: Path) -> None:
    """SSL 3.0 sends EncryptedPreMasterSecret without a length (RFC 6101 §5.6.7): decrypting our parse
    with the capture's server key gives the pre-master secret Wireshark derived."""
    key = load_pem_private_key((vectors / "wireshark-test-suite" / "keys" / "rsasnakeoil2.key").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    expected = _expected(vectors, "rsasnakeoil2.pcap")
    premasters = {k["pre_master_secret"] for k in expected["key_material"] if "pre_master_secret" in k}  # type: ignore[index, union-attr]
    found = 0
    for conv in conversations(vectors / "wireshark-test-suite" / "captures" / "rsasnakeoil2.pcap"):
        ctx = m.ParseContext(0x0300, KeyExchange.RSA)
        for _raw, msg in _messages(conv.client, ctx):
            if isinstance(msg, m.ClientKeyExchange):
                assert len(msg.encrypted_premaster) == key.key_size // 8
                premaster = key.decrypt(msg.encrypted_premaster, padding.PKCS1v15())
                assert premaster.hex() in premasters
                found += 1
    assert found >= 1


def test_tls_rsa_client_key_exchange_has_length(vectors: Path) -> None:
    """TLS (here 1.2, rsa-p-lt-q) prefixes EncryptedPreMasterSecret with a 2-byte length (RFC 5246 §7.4.7.1)."""
    convs = conversations(vectors / "wireshark-test-suite" / "captures" / "rsa-p-lt-q.pcap")
    ctx = m.ParseContext(0x0303, KeyExchange.RSA)
    (cke,) = [raw for raw, msg in _messages(convs[0].client, ctx) if isinstance(msg, m.ClientKeyExchange)]
    assert int.from_bytes(cke.body[:2], "big") == len(cke.body) - 2
    with pytest.raises(DecodeError):
        m.ClientKeyExchange.parse(cke.body[2:], 0x0303, KeyExchange.RSA)
