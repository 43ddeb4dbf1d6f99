"""Property tests (issue 5, item 2): mutated capture files through the whole ``decrypt_capture`` pipeline
(pcap/pcapng/gzip framing, link layers, TCP reassembly, session reconstruction, record decryption), seeded
from the Wireshark test-suite captures with their keys. The documented failure is CaptureError (nothing
readable); later damage must end reading with ``capture_error`` set, never with another exception.

Also: the bounded fuzz runner itself (fuzz/run.py) with the pure-Python engine, and --repro.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz import corpus, targets
from fuzz.strategies import mutated

ROOT = Path(__file__).resolve().parents[1]

# Seeds small enough for fast examples (the large captures are covered by the atheris run). The gzip seed
# (dhe1.pcapng.gz) is left out of the property test while the zlib.error bug below is open: it would find
# that bug every run; the strict xfail tests pin it instead.
SMALL_CAPTURES = [c for c in corpus.seeds("capture") if len(c) <= 13000 and not c.startswith(b"\x1f\x8b")]
GZIP_CAPTURE = (corpus.CAPTURES / "dhe1.pcapng.gz").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated(SMALL_CAPTURES, max_edits=6))
def test_mutated_captures(data: bytes) -> None:
    targets.fuzz_capture(data)


def test_truncated_captures_at_every_64th_byte() -> None:
    for capture in SMALL_CAPTURES:
        for end in range(0, len(capture), 64):
            targets.fuzz_capture(capture[:end])


# Bug found by the atheris capture target (owner: tlsstate/capture/pcap.py). open_capture() decompresses
# gzip files with _read_partial(), which catches EOFError only; corrupt deflate data raises zlib.error,
# which is neither CaptureError nor OSError, so `tlsstate decrypt` prints a traceback.
GZIP_CORRUPT_DEFLATE = bytes.fromhex("1f8b08000000000000 03 07".replace(" ", ""))
GZIP_CORRUPT_STREAM = bytes.fromhex("1f8b0800000000000003") + b"\xff" * 8
GZIP_FLIPPED_BYTE = GZIP_CAPTURE[:30] + bytes([GZIP_CAPTURE[30] ^ 0xFF]) + GZIP_CAPTURE[31:]  # byte 30 inverted


@pytest.mark.xfail(strict=True, reason="capture/pcap.py: corrupt gzip data raises zlib.error, not CaptureError")
@pytest.mark.parametrize(
    "data", [GZIP_CORRUPT_DEFLATE, GZIP_CORRUPT_STREAM, GZIP_FLIPPED_BYTE],
    ids=["invalid-block-type", "ff-deflate", "dhe1-byte30-flipped"],
)
def test_corrupt_gzip_capture_is_a_capture_error(data: bytes) -> None:
    targets.fuzz_capture(data)


def test_fuzz_runner_random_engine(tmp_path: Path) -> None:
    """fuzz/run.py with the pure-Python engine: bounded, prints the seed and the reproduce command."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), "--engine", "random", "--seconds", "1", "--seed", "7",
         "--targets", "keylog,sslv2", "--artifacts", str(tmp_path / "art")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine=random seed=7" in result.stdout
    assert "--seed 7" in result.stdout and "fuzz run passed: 2 targets" in result.stdout
    assert not list((tmp_path / "art").iterdir())


def test_fuzz_runner_reports_a_crash(tmp_path: Path) -> None:
    """A crashing input fails the run with exit 1 and is saved for --repro (uses the known gzip bug while it
    exists; once fixed, the repro of a saved harmless input succeeds instead)."""
    crash = tmp_path / "capture-input"
    crash.write_bytes(GZIP_CORRUPT_DEFLATE)
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), "--repro", "capture", str(crash)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    fixed = result.returncode == 0 and "no failure" in result.stdout
    crashed = result.returncode != 0 and "zlib" in result.stderr
    assert fixed or crashed, result.stdout + result.stderr


_BOMB_SCRIPT = r"""
import gzip, os, resource, sys, tempfile
from tlsstate.capture.decrypt import decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.pcap import CaptureError
path = os.path.join(tempfile.mkdtemp(), "bomb.pcap.gz")
with gzip.open(path, "wb", compresslevel=9) as f:
    for _ in range(96):
        f.write(bytes(1 << 20))   # 96 MiB of zeros: ~100 KB compressed, not a capture at all
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decrypt_capture(path, KeySource())
except CaptureError:
    pass
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(grown // 1024)
"""


@pytest.mark.xfail(strict=True, reason="capture/pcap.py: open_capture() decompresses a whole .gz into memory "
                   "(a ~100 KB file of zeros costs > 96 MiB RSS); memory is not bounded")
def test_gzip_capture_memory_is_bounded() -> None:
    """A small hostile .pcap.gz must not make the reader hold its whole decompressed size (issue 5: memory
    stays bounded). Measured in a child process: growth of the peak RSS while reading, in MiB."""
    result = subprocess.run([sys.executable, "-c", _BOMB_SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    grown_mib = int(result.stdout.strip())
    assert grown_mib < 32, f"peak RSS grew by {grown_mib} MiB for a ~100 KB capture"
