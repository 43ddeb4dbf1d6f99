"""``tlsstate demo``'s TLS 1.3 part, checked against computation written here (RFC 9846 §7.1-§7.3, §5.2-§5.3).

From the demo's --json: the client's NSS key log, the shared secret and the plaintext handshake messages. With a
test-local HKDF (HMAC from the stdlib for Extract, pyca ``HKDFExpand`` for Expand, the HkdfLabel built here) the
whole tree is derived again from the shared secret and the transcript and must equal the key log; both Finished
messages must verify under it (so the transcript is the one the peers hashed); every traffic secret's key and IV
must equal the demo's; every record must open with pyca AESGCM under the key the demo says protected it, at its
sequence number (nonce = iv XOR seq, additional data = the record header); the KeyUpdate's secret 1 must be
HKDF-Expand-Label(secret 0, "traffic upd") and its records start at seq 0; the three proofs are rejected with
bad_record_mac, the nonce each tried being the iv XOR the expected sequence number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from tlsstate.cli.main import cli

HANDSHAKE, APPLICATION_DATA = 22, 23
FINISHED, KEY_UPDATE = 20, 24


def expand_label(secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 9846 §7.1), written out here: HkdfLabel = length, "tls13 " + label, context."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2) = HMAC-SHA256(salt, IKM)."""
    return hmac.digest(salt, ikm, "sha256")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def messages(transcript: bytes) -> list[tuple[int, bytes]]:
    """The handshake messages (type, whole message) of a transcript, by their 4-byte headers (RFC 9846 §4)."""
    out, pos = [], 0
    while pos < len(transcript):
        length = int.from_bytes(transcript[pos + 1:pos + 4], "big")
        out.append((transcript[pos], transcript[pos:pos + 4 + length]))
        pos += 4 + length
    assert pos == len(transcript)
    return out


def open_record(wire: bytes, key: bytes, iv: bytes, seq: int) -> tuple[int, bytes]:
    """(inner content type, content) of one TLS 1.3 record (RFC 9846 §5.2-§5.4), with pyca AESGCM."""
    nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
    inner = AESGCM(key).decrypt(nonce, wire[5:], wire[:5]).rstrip(b"\0")
    return inner[-1], inner[:-1]


@pytest.fixture(scope="module")
def tls13() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["all_rejected_with_bad_record_mac"] is True
    part: dict[str, Any] = doc["tls13"]
    return part


@pytest.fixture(scope="module")
def keylog(tls13: dict[str, Any]) -> dict[str, bytes]:
    """The client's key log lines (NSS format: label, client random, secret), all of this one connection."""
    client_random = messages(bytes.fromhex(tls13["handshake_transcript"]))[0][1][6:38]
    out = {}
    for line in tls13["keylog"]:
        label, random, secret = line.split()
        assert bytes.fromhex(random) == client_random
        out[label] = bytes.fromhex(secret)
    assert set(out) == {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                        "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}
    return out


def test_schedule_from_the_shared_secret_and_transcript(tls13: dict[str, Any], keylog: dict[str, bytes]) -> None:
    assert (tls13["version"], tls13["suite"], tls13["group"]) == ("TLS 1.3", "TLS_AES_128_GCM_SHA256", "X25519MLKEM768")
    shared = bytes.fromhex(tls13["shared_secret"])
    parts = tls13["shared_secret_parts"]  # RFC 10024 §3: ML-KEM-768 secret (32 B) first, then X25519 (32 B)
    assert [(p["name"], p["length"]) for p in parts] == [("ML-KEM-768 shared secret", 32), ("X25519 shared secret", 32)]
    assert bytes.fromhex(parts[0]["value"] + parts[1]["value"]) == shared and len(shared) == 64
    hs = messages(bytes.fromhex(tls13["handshake_transcript"]))
    types = [t for t, _ in hs]
    assert types[:2] == [1, 2] and types[-2:] == [FINISHED, FINISHED] and 15 in types  # CH, SH, ... CV, Fin, Fin
    to_sh = sha256(b"".join(m for _, m in hs[:2]))
    to_cv, to_sf = sha256(b"".join(m for _, m in hs[:-2])), sha256(b"".join(m for _, m in hs[:-1]))
    to_cf = sha256(b"".join(m for _, m in hs))
    assert tls13["transcript_hashes"] == {"ClientHello..ServerHello": to_sh.hex(),
                                          "ClientHello..server Finished": to_sf.hex(),
                                          "ClientHello..client Finished": to_cf.hex()}
    zeros, empty = bytes(32), sha256(b"")
    early = extract(zeros, zeros)
    handshake = extract(expand_label(early, b"derived", empty, 32), shared)
    chts, shts = expand_label(handshake, b"c hs traffic", to_sh, 32), expand_label(handshake, b"s hs traffic", to_sh, 32)
    master = extract(expand_label(handshake, b"derived", empty, 32), zeros)
    expected = {
        "early_secret": early, "handshake_secret": handshake, "master_secret": master,
        "client_handshake_traffic_secret": chts, "server_handshake_traffic_secret": shts,
        "client_application_traffic_secret_0": expand_label(master, b"c ap traffic", to_sf, 32),
        "server_application_traffic_secret_0": expand_label(master, b"s ap traffic", to_sf, 32),
        "exporter_master_secret": expand_label(master, b"exp master", to_sf, 32),
        "resumption_master_secret": expand_label(master, b"res master", to_cf, 32),
    }
    for name, label in (("client_handshake_traffic_secret", "CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
                        ("server_handshake_traffic_secret", "SERVER_HANDSHAKE_TRAFFIC_SECRET"),
                        ("client_application_traffic_secret_0", "CLIENT_TRAFFIC_SECRET_0"),
                        ("server_application_traffic_secret_0", "SERVER_TRAFFIC_SECRET_0"),
                        ("exporter_master_secret", "EXPORTER_SECRET")):
        assert keylog[label] == expected[name], name
    # RFC 9846 §4.4.4: both Finished verify under this transcript, so it is the one the two peers hashed
    server_finished, client_finished = hs[-2][1][4:], hs[-1][1][4:]
    assert server_finished == hmac.digest(expand_label(shts, b"finished", b"", 32), to_cv, "sha256")
    assert client_finished == hmac.digest(expand_label(chts, b"finished", b"", 32), to_sf, "sha256")
    schedule = {name: bytes.fromhex(value) for name, value in tls13["schedule"].items()}
    for name, value in expected.items():
        assert schedule[name] == value, name
        if "traffic_secret" in name:  # RFC 9846 §7.3: one key and one IV per traffic secret, no MAC key
            assert schedule[f"{name} key"] == expand_label(value, b"key", b"", 16)
            assert schedule[f"{name} iv"] == expand_label(value, b"iv", b"", 12)
    assert len(schedule) == len(expected) + 8
    assert tls13["schedule_recomputed"] is True and tls13["keylog_matches"] is True
    assert "RFC 9846 §7.3" in tls13["schedule_formulas"]["client_application_traffic_secret_0 key"]


def test_records_open_under_their_epochs_key_and_the_key_update(tls13: dict[str, Any],
                                                                keylog: dict[str, bytes]) -> None:
    secret_1 = expand_label(keylog["CLIENT_TRAFFIC_SECRET_0"], b"traffic upd", b"", 32)  # RFC 9846 §7.2
    secrets = {"client application traffic secret 0": keylog["CLIENT_TRAFFIC_SECRET_0"],
               "client application traffic secret 1": secret_1,
               "server application traffic secret 0": keylog["SERVER_TRAFFIC_SECRET_0"]}
    update = tls13["key_update"]
    assert update["secret"] == secret_1.hex() and update["checked"] is True
    assert update["key"] == expand_label(secret_1, b"key", b"", 16).hex()
    assert update["iv"] == expand_label(secret_1, b"iv", b"", 12).hex()
    assert (update["old_label"], update["new_label"]) == ("client application traffic secret 0",
                                                          "client application traffic secret 1")
    epochs = {r["key_label"].split(" (epoch")[0]: r["key_label"].rpartition(" ")[2] for r in tls13["records"]}
    assert epochs == {"client application traffic secret 0": "2)", "client application traffic secret 1": "3)",
                      "server application traffic secret 0": "2)"}  # the KeyUpdate: the client's direction only
    seen: dict[str, list[int]] = {}
    contents: list[tuple[str, int, bytes]] = []
    for record in tls13["records"]:
        label = record["key_label"].split(" (epoch")[0]
        wire, secret = bytes.fromhex(record["wire"]), secrets[label]
        assert wire[0] == APPLICATION_DATA and len(wire) == record["wire_length"]
        content_type, content = open_record(wire, expand_label(secret, b"key", b"", 16),
                                            expand_label(secret, b"iv", b"", 12), record["seq"])
        with pytest.raises(InvalidTag):  # the other direction's key never opens it
            other = secrets["server application traffic secret 0" if label.startswith("client")
                            else "client application traffic secret 0"]
            open_record(wire, expand_label(other, b"key", b"", 16), expand_label(other, b"iv", b"", 12), record["seq"])
        seen.setdefault(label, []).append(record["seq"])
        contents.append((record["direction"], content_type, content))
    # sequence numbers per traffic secret: the KeyUpdate went under secret 0 (seq 2), secret 1 starts at 0 (§5.3)
    assert seen == {"client application traffic secret 0": [0, 1, 2], "client application traffic secret 1": [0, 1],
                    "server application traffic secret 0": [0, 1, 2, 3]}
    key_update = [c for c in contents if c[1] == HANDSHAKE]
    assert key_update == [("client → server", HANDSHAKE, bytes([KEY_UPDATE, 0, 0, 1, 0]))]  # update_not_requested
    data = [c for c in contents if c[1] == APPLICATION_DATA]
    assert len(data) == 8
    for sent, echoed in zip(data[::2], data[1::2], strict=True):  # each message and the server's echo of it
        assert sent[0] == "client → server" and echoed[0] == "server → client" and sent[2] == echoed[2] != b""


def test_three_proofs_rejected_with_bad_record_mac(tls13: dict[str, Any]) -> None:
    """Each proof's own key log gives the key and nonce it was tried with; pyca AESGCM agrees the record fails there
    and shows what it was: the echo with one bit flipped, the client's own record, a record one seq too old."""
    proofs = tls13["proofs"]
    assert [p["attack"] for p in proofs] == ["flipped byte", "reflected record", "replayed record"]
    for proof in proofs:
        assert proof["rejected"] is True and proof["alert"] == "bad_record_mac"
        assert "bad_record_mac" in proof["server_saw"] and "TLS 1.3" in proof["server_saw"]
        assert proof["key_tried"].startswith("server application traffic secret 0") and "RFC 9846" in proof["why"]
        logged = {line.split()[0]: bytes.fromhex(line.split()[2]) for line in proof["keylog"]}
        server, client = logged["SERVER_TRAFFIC_SECRET_0"], logged["CLIENT_TRAFFIC_SECRET_0"]
        key, iv, seq = expand_label(server, b"key", b"", 16), expand_label(server, b"iv", b"", 12), proof["seq_expected"]
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        assert (proof["key"], proof["nonce"]) == (key.hex(), nonce.hex())
        assert key.hex() in proof["tried"] and nonce.hex() in proof["tried"]
        wire = bytes.fromhex(proof["wire"])
        with pytest.raises(InvalidTag):
            open_record(wire, key, iv, seq)
        if proof["attack"] == "flipped byte":  # one bit in the middle of the fragment: restored, the record opens
            middle = 5 + (len(wire) - 5) // 2
            restored = wire[:middle] + bytes([wire[middle] ^ 1]) + wire[middle + 1:]
            assert open_record(restored, key, iv, seq) == (APPLICATION_DATA, b"flip me")
        elif proof["attack"] == "reflected record":  # the client's own record, under the client's key
            assert open_record(wire, expand_label(client, b"key", b"", 16), expand_label(client, b"iv", b"", 12),
                               seq) == (APPLICATION_DATA, b"reflect me")
        else:  # accepted once at the sequence number before
            assert open_record(wire, key, iv, seq - 1) == (APPLICATION_DATA, b"replay me")
    assert [p["seq_expected"] for p in proofs] == [0, 0, 1]
    assert len(tls13["server_log"]) == 4 and all("X25519MLKEM768" in line for line in tls13["server_log"])
    assert [row["tls12"] for row in tls13["where_the_six_values_went"]][:2] == ["client write MAC key",
                                                                                "server write MAC key"]


def test_screen_shows_the_tls13_part() -> None:
    result = CliRunner(env={"COLUMNS": "220"}).invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    text = result.output
    part = text[text.index("3. TLS_AES_128_GCM_SHA256 (TLS 1.3, X25519MLKEM768)"):]
    for shown in ("ML-KEM-768 shared secret (32 B) || X25519 shared secret (32 B)", "where the six values went",
                  "client_application_traffic_secret_0 key", "(RFC 9846 §7.3)", "KeyUpdate(update_not_requested)",
                  "client application traffic secret 1 (epoch 3)", "derived again from the shared secret"):
        assert shown in part, shown
    assert part.count("matches") == 3 and "MISMATCH" not in part
    assert part.count("rejected with bad_record_mac") == 3 and part.count("write_iv XOR seq") == 3
