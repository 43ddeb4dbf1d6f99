"""Parsers for the external vector file formats under ../shared/vectors, shared by the key-schedule tests.

- NIST ACVP ``internalProjection.json``: :func:`acvp_tests` (group, test) pairs.
- OpenSSL ``test/recipes/30-test_evp_data`` files: :func:`openssl_blocks` (blank-line separated
  ``Key = value`` blocks) and :func:`openssl_skip_reason` (blocks that are not plain known answers).
- Botan ``.vec`` files: :func:`botan_blocks` (``[section]`` headers, blank-line separated blocks) and
  :func:`botan_sections` (every key of a section merged into one dict).
- NIST CAVS style ``.txt`` (as in cryptography-vectors): :func:`cavs_records`, one dict per ``COUNT``.

Only parsing lives here; every expected value is the file's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def acvp_tests(path: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each (test group, test case) of an ACVP ``internalProjection.json``, in file order."""
    data = json.loads(path.read_text())
    for group in data["testGroups"]:
        for test in group["tests"]:
            yield group, test


def openssl_blocks(path: Path, require: str | None = "KDF") -> list[dict[str, list[str]]]:
    """Blank-line separated blocks of ``Key = value`` lines (comments dropped); a key's values in order.

    Only blocks that have the key ``require`` are returned (None: all of them).
    """
    blocks: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] = {}
    for line in [*path.read_text().splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return [blk for blk in blocks if require is None or require in blk]


def openssl_skip_reason(block: dict[str, list[str]]) -> str | None:
    """Why an OpenSSL block is not a plain known-answer test (None if it is)."""
    if "Result" in block:
        return f"error case ({block['Result'][0]})"
    if "Unapproved" in block or any(v.startswith(">=") for v in block.get("FIPSversion", [])):
        return "FIPS-provider-only block"
    if "Availablein" in block:
        return "provider-specific block"
    return None


def botan_blocks(path: Path) -> list[tuple[str, dict[str, str]]]:
    """(section, block) for each blank-line separated block of ``Key = value`` lines in a Botan ``.vec`` file."""
    section = ""
    out: list[tuple[str, dict[str, str]]] = []
    current: dict[str, str] = {}
    for raw in [*path.read_text().splitlines(), ""]:
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line.startswith("[") or not line:
            if current:
                out.append((section, current))
            current = {}
            if line:
                section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        current[key.strip()] = value.strip()
    return out


def botan_sections(path: Path) -> dict[str, dict[str, str]]:
    """Every ``Key = value`` of each ``[section]`` of a Botan ``.vec`` file in one dict (a later key wins)."""
    sections: dict[str, dict[str, str]] = {}
    for section, block in botan_blocks(path):
        sections.setdefault(section, {}).update(block)
    return sections


def cavs_records(path: Path) -> list[dict[str, str]]:
    """One dict per ``COUNT = n`` record of a NIST CAVS style file (``Key = value`` lines up to the next COUNT)."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in [*path.read_text().splitlines(), "COUNT = end"]:
        if line.startswith("COUNT"):
            if current:
                records.append(current)
            current = {"COUNT": line.partition("=")[2].strip()}
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return records
