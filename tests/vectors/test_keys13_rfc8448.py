"""``tlsstate keys --version tls1.3`` against the TLS 1.3 trace vectors (shared/vectors/rfc8448: the "Simple 1-RTT
Handshake" of draft-ietf-tls-tls13-vectors-07, the draft of RFC 8448): fed the trace's ECDHE shared secret and its
transcript hashes, the command prints the trace's secrets, keys and IVs (RFC 9846 §7.1, §7.3)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from tlsstate.cli.keys import keys

_SECTION = re.compile(r"^\s+\{(client|server)\}\s+(.+?):?$")
_FIELD = re.compile(r"^\s+([\w ]+?) \((\d+) octets\):\s+([0-9a-f ]+)$")
_HEX = re.compile(r"^\s+((?:[0-9a-f]{2} )*[0-9a-f]{2})\s*$")


def trace_sections(path: Path) -> list[tuple[str, str, dict[str, bytes]]]:
    """(role, title, {field: value}) of each step of the first handshake in the trace; a value runs on over the
    lines (and page breaks) that follow until it has the octets its field declares."""
    sections: list[tuple[str, str, dict[str, bytes]]] = []
    field, size, value = "", 0, b""
    for line in path.read_text().splitlines():
        if field and len(value) < size:
            match = _HEX.match(line)
            if match:
                value += bytes.fromhex(match.group(1))
                if len(value) >= size:
                    sections[-1][2][field] = value
            continue
        if (section := _SECTION.match(line)) is not None:
            sections.append((section.group(1), section.group(2), {}))
            field = ""
        elif (found := _FIELD.match(line)) is not None and sections:
            field, size, value = found.group(1), int(found.group(2)), bytes.fromhex(found.group(3))
            if len(value) >= size:
                sections[-1][2][field] = value
    return sections


def _step(sections: list[tuple[str, str, dict[str, bytes]]], title: str) -> dict[str, bytes]:
    return next(fields for _, name, fields in sections if name.startswith(title))


def test_keys_tls13_prints_the_trace_schedule(vectors: Path) -> None:
    sections = trace_sections(vectors / "rfc8448" / "draft-ietf-tls-tls13-vectors.txt")
    shared = _step(sections, 'extract secret "handshake"')["IKM"]
    c_hs, s_hs = _step(sections, 'derive secret "tls13 c hs traffic"'), _step(sections, 'derive secret "tls13 s hs traffic"')
    c_ap, s_ap = _step(sections, 'derive secret "tls13 c ap traffic"'), _step(sections, 'derive secret "tls13 s ap traffic"')
    exporter = _step(sections, 'derive secret "tls13 exp master"')
    resumption = _step(sections, 'derive secret "tls13 res master"')
    server_hs_keys = _step(sections, "derive write traffic keys for handshake data")
    server_ap_keys = _step(sections, "derive write traffic keys for application data")
    args = ["--version", "tls1.3", "--suite", "TLS_AES_128_GCM_SHA256", "--shared-secret", shared.hex(),
            "--hello-hash", c_hs["hash"].hex(), "--finished-hash", c_ap["hash"].hex(),
            "--client-finished-hash", resumption["hash"].hex(), "--json"]
    run = CliRunner().invoke(keys, args)
    assert run.exit_code == 0, run.output
    schedule = {name: bytes.fromhex(value) for name, value in json.loads(run.output)["schedule"].items()}
    assert schedule["handshake_secret"] == _step(sections, 'extract secret "handshake"')["secret"]
    assert schedule["master_secret"] == _step(sections, 'extract secret "master"')["secret"]
    assert schedule["client_handshake_traffic_secret"] == c_hs["expanded"]
    assert schedule["server_handshake_traffic_secret"] == s_hs["expanded"]
    assert schedule["client_application_traffic_secret_0"] == c_ap["expanded"]
    assert schedule["server_application_traffic_secret_0"] == s_ap["expanded"]
    assert schedule["exporter_master_secret"] == exporter["expanded"]
    assert schedule["resumption_master_secret"] == resumption["expanded"]
    assert schedule["server_handshake_traffic_secret key"] == server_hs_keys["key expanded"]
    assert schedule["server_handshake_traffic_secret iv"] == server_hs_keys["iv expanded"]
    assert schedule["server_application_traffic_secret_0 key"] == server_ap_keys["key expanded"]
    assert schedule["server_application_traffic_secret_0 iv"] == server_ap_keys["iv expanded"]
    text = CliRunner().invoke(keys, args[:-1])
    assert text.exit_code == 0 and 'Derive-Secret(handshake_secret, "c hs traffic"' in text.output


def test_keys_tls13_bad_inputs_are_one_line_errors() -> None:
    h = "00" * 32
    for args in (["--version", "tls1.3", "--suite", "TLS_AES_128_GCM_SHA256", "--hello-hash", h, "--finished-hash", h],
                 ["--version", "tls1.3", "--suite", "AES128-SHA", "--shared-secret", h, "--hello-hash", h,
                  "--finished-hash", h],
                 ["--version", "tls1.3", "--suite", "TLS_AES_256_GCM_SHA384", "--shared-secret", h, "--hello-hash", h,
                  "--finished-hash", h],
                 ["--version", "tls1.2", "--suite", "AES128-SHA", "--shared-secret", h]):
        run = CliRunner().invoke(keys, args)
        assert run.exit_code == 2 and "Traceback" not in run.output, (args, run.output)
