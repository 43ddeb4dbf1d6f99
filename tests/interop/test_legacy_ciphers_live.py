"""``serve`` / ``connect`` and the suite table: the older suites are for reading captures and ``tlsstate keys``.

* The defaults hold none of them; the export suites and the key exchanges the handshake does not implement
  (DHE_DSS, static DH/ECDH, anonymous) are refused even when named (no usable suite: ConfigurationError, and
  ``tlsstate serve --ciphers`` exits 1 with one line, as for any configuration that cannot run).
* A suite a user names explicitly whose key exchange the handshake runs (RSA, DHE_RSA, ECDHE) works with the new
  ciphers too: Camellia and SEED against CPython ``ssl`` (OpenSSL) in both roles, 20 kB each way.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from tests.helpers.connections import client_config, completes, server_config
from tests.helpers.peers import TLSSTATE, SslPeer, exchange, ssl_context, transfer
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import CIPHER_SUITES, by_name
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError

pytestmark = pytest.mark.interop

OLD_CIPHERS = {"DES", "IDEA", "SEED", "CAMELLIA", "RC2", "RC4"}


def test_defaults_hold_no_old_suite() -> None:
    for suite in TLSConfig().effective_suites():
        assert suite.cipher.algorithm not in OLD_CIPHERS and not suite.cipher.is_export, suite
        assert suite.key_exchange.signed, suite  # no anonymous key exchange


@pytest.mark.parametrize("name", ["EXP-RC4-MD5", "EXP-DES-CBC-SHA", "EXP-EDH-RSA-DES-CBC-SHA", "DHE-DSS-AES128-SHA",
                                  "ADH-AES128-SHA", "AECDH-AES128-SHA", "ECDH-ECDSA-AES128-SHA", "DH-RSA-AES128-SHA"])
def test_handshake_refuses_suites_it_does_not_run(name: str) -> None:
    suite = by_name(name)
    assert suite is not None
    with pytest.raises(ConfigurationError, match="no usable cipher suite"):
        TLSConfig(cipher_suites=[suite]).check(server_side=False)
    result = subprocess.run([*TLSSTATE, "serve", "--port", "0", "--ciphers", name], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1, result  # a configuration that cannot run (the command's existing status)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_every_export_suite_is_refused() -> None:
    exports = [s for s in CIPHER_SUITES if s.cipher.is_export]
    assert len(exports) == 9
    assert TLSConfig(cipher_suites=exports).effective_suites() == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("name", "version"), [
    ("CAMELLIA128-SHA", ProtocolVersion.TLS1_0),
    ("CAMELLIA256-SHA256", ProtocolVersion.TLS1_2),
    ("ECDHE-RSA-CAMELLIA128-SHA256", ProtocolVersion.TLS1_2),
    ("CAMELLIA256-SHA", ProtocolVersion.TLS1_1),
    ("SEED-SHA", ProtocolVersion.TLS1_2),
])
def test_named_camellia_and_seed_run_against_openssl(name: str, version: ProtocolVersion, tmp_path: Path) -> None:
    suite = by_name(name)
    assert suite is not None
    common = {"min_version": version, "max_version": version, "cipher_suites": [suite]}
    try:
        peer_ctx = ssl_context(False, version, suite, tmp_path, "rsa")
    except ssl.SSLError:
        pytest.skip(f"this OpenSSL does not offer {name}")  # SEED needs the legacy provider in OpenSSL 3
    conn = Connection(server_config("rsa", **common), server_side=True)
    peer = SslPeer(peer_ctx, server_side=False)
    assert completes(exchange(conn, peer)).cipher_suite == suite
    negotiated = peer.obj.cipher()
    assert negotiated is not None and negotiated[0] == name
    transfer(conn, peer, 20000)
    conn = Connection(client_config(**common), server_side=False)
    peer = SslPeer(ssl_context(True, version, suite, tmp_path, "rsa"), server_side=True)
    conn.start_handshake()
    assert completes(exchange(conn, peer)).cipher_suite == suite
    transfer(conn, peer, 20000)
