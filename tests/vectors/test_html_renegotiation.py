"""The page of Wireshark's renegotiation capture (5 handshakes in one TLS 1.2 connection, SOURCES.md §4): one tree
branch per handshake, each branch's six values equal to tshark's key material for that handshake's randoms
(expected-tshark/tls-renegotiation.json), and each epoch's records highlight only that handshake's keys."""

from __future__ import annotations

import json
from pathlib import Path

from tlsstate.capture.decrypt import DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource, load_rsa_key
from tlsstate.html.capture import capture_connection
from tlsstate.html.model import TreeNode

WS = "wireshark-test-suite"
PAIRS = (("client_write_mac_key", "client_mac_key"), ("server_write_mac_key", "server_mac_key"),
         ("client_write_key", "client_write_key"), ("server_write_key", "server_write_key"))


def _value(branch: TreeNode, name: str) -> str:
    return next(node.value for node in branch.walk() if node.name == name)


def test_each_renegotiation_is_a_branch_with_tsharks_keys(vectors: Path) -> None:
    keys = KeySource()
    keys.rsa_keys.append(load_rsa_key(vectors / WS / "keys" / "rsasnakeoil2.key", None))
    result = decrypt_capture(vectors / WS / "captures" / "tls-renegotiation.pcap", keys, DecryptOptions(keep_records=True))
    view = capture_connection(result.connections[0], reveal=True)
    material = json.loads((vectors / WS / "expected-tshark" / "tls-renegotiation.json").read_text())["key_material"]
    theirs = sorted(tuple(m[name] for _, name in PAIRS) for m in material)  # the resumed ones have no randoms there
    assert len(view.tree) == 5
    assert sorted(tuple(_value(branch, ours) for ours, _ in PAIRS) for branch in view.tree) == theirs
    for index, key in enumerate(view.keys):
        holders = [number for number, branch in enumerate(view.tree) if any(index in n.keys for n in branch.walk())]
        if key.slot == 0:
            assert holders == []  # plaintext
        else:
            epoch = int(key.label.split("(epoch ")[1].rstrip(")"))
            assert holders == [epoch - 1], key.label
