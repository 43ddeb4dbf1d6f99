"""Page data: how secrets are shown, which tree nodes a record's key highlights, where a record's nonce and tag sit."""

from __future__ import annotations

from tlsstate.crypto.suites import lookup
from tlsstate.html.formulas import nonce_rule, record_layout
from tlsstate.html.model import ConnectionView, TreeNode, link_keys, shown
from tlsstate.wire.constants import ProtocolVersion


def test_secrets_are_shortened_unless_revealed() -> None:
    value = bytes(range(48))
    assert shown(value, secret=True, reveal=False) == "00010203…<48B>"
    assert shown(value, secret=True, reveal=True) == value.hex()
    assert shown(value, secret=False, reveal=False) == value.hex()
    assert shown(b"", secret=True, reveal=False) == ""


def _branch(prefix: str) -> TreeNode:
    six = [TreeNode(f"{prefix}{n}", n, "", length, "") for n, length in (
        ("client_write_mac_key", 0), ("server_write_mac_key", 0), ("client_write_key", 16), ("server_write_key", 16),
        ("client_write_iv", 4), ("server_write_iv", 4))]
    return TreeNode(f"{prefix}h", "handshake", "", None, "", children=[TreeNode(f"{prefix}kb", "key_block", "", 40, "",
                                                                                  children=six)])


def test_a_key_highlights_its_writers_values_of_its_epoch_only() -> None:
    view = ConnectionView(0, "t", [], [_branch("a-"), _branch("b-")], [], [])
    first, second = view.key_index("server write key (epoch 1)"), view.key_index("server write key (epoch 2)")
    plain = view.key_index("client write: none (epoch 0, plaintext)")
    link_keys(view)
    marked = {node.node_id: node.keys for branch in view.tree for node in branch.walk() if node.keys}
    # an AEAD suite's empty MAC keys protect nothing; epoch N is the N-th handshake's keys (RFC 5246 §7.1)
    assert marked == {"a-server_write_key": [first], "a-server_write_iv": [first],
                      "b-server_write_key": [second], "b-server_write_iv": [second]}
    assert view.keys[plain].slot == 0 and view.keys[first].slot == 1 and view.keys[second].slot == 2


def test_tls13_key_labels_highlight_the_secret_and_its_key_and_iv() -> None:
    secret = TreeNode("s", "SERVER_TRAFFIC_SECRET_0", "", 32, "", children=[
        TreeNode("k", "SERVER_TRAFFIC_SECRET_0 key", "", 16, ""), TreeNode("i", "SERVER_TRAFFIC_SECRET_0 iv", "", 12, "")])
    other = TreeNode("o", "CLIENT_TRAFFIC_SECRET_0", "", 32, "")
    view = ConnectionView(0, "t", [], [TreeNode("h", "handshake 1", "", None, "", children=[secret, other])], [], [])
    index = view.key_index("SERVER_TRAFFIC_SECRET_0 (epoch 2)")
    link_keys(view)
    assert [n.node_id for n in view.tree[0].walk() if index in n.keys] == ["s", "k", "i"]


def test_record_layout_follows_the_rfcs() -> None:
    fragment = bytes(range(64))
    gcm = lookup("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")  # RFC 5288 §3: 8-byte explicit nonce, 16-byte tag
    assert record_layout(gcm, ProtocolVersion.TLS1_2, False, fragment) == (fragment[:8], fragment[-16:])
    chacha = lookup("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")  # RFC 7905 §2: no explicit nonce
    assert record_layout(chacha, ProtocolVersion.TLS1_2, False, fragment) == (b"", fragment[-16:])
    cbc = lookup("TLS_RSA_WITH_AES_128_CBC_SHA")  # RFC 4346 §6.2.3.2: explicit IV in TLS 1.1+; RFC 7366: MAC last
    assert record_layout(cbc, ProtocolVersion.TLS1_2, True, fragment) == (fragment[:16], fragment[-20:])
    assert record_layout(cbc, ProtocolVersion.TLS1_0, False, fragment) == (b"", b"")
    assert "{seq}" in nonce_rule(gcm, ProtocolVersion.TLS1_2, False)
    assert "RFC 8446 §5.3" in nonce_rule(lookup("TLS_AES_128_GCM_SHA256"), ProtocolVersion.TLS1_3, False)


def test_a_key_update_hangs_under_the_secret_it_comes_from() -> None:
    from tlsstate.capture.trace import Derivation
    from tlsstate.html.capture import _branch

    derivation = Derivation(1)
    for name in ("SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_1",
                 "CLIENT_TRAFFIC_SECRET_2"):
        derivation.add(name, bytes(32), "key log")
        derivation.add(f"{name} key", bytes(16), "HKDF-Expand-Label")
        derivation.add(f"{name} iv", bytes(12), "HKDF-Expand-Label")
    branch = _branch("c0-", derivation, reveal=False)
    top = [child.name for child in branch.children]
    assert top == ["SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0"]
    first = branch.children[1]
    assert [c.name for c in first.children] == ["CLIENT_TRAFFIC_SECRET_0 key", "CLIENT_TRAFFIC_SECRET_0 iv",
                                                "CLIENT_TRAFFIC_SECRET_1"]
    second = first.children[2]
    assert [c.name for c in second.children] == ["CLIENT_TRAFFIC_SECRET_1 key", "CLIENT_TRAFFIC_SECRET_1 iv",
                                                 "CLIENT_TRAFFIC_SECRET_2"]
