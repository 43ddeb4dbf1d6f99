"""Test helpers for live packet captures on loopback, shared by the capture-decryption test modules.

- :func:`loopback_capture`: dumpcap recording TCP on ``lo`` for some ports into a file, for the body of a
  ``with`` block; skips the test where this machine cannot capture, always stops dumpcap.
- :func:`stop_process`: signal a child process, wait a bounded time, kill it if it does not exit.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.env import require_binary

START_TIMEOUT = 10.0  # seconds for dumpcap to write its file header
SETTLE = 0.3  # after the header: the capture filter is live
LINGER = 0.5  # after the body: the last packets reach dumpcap before it is stopped
STOP_TIMEOUT = 10.0  # seconds for dumpcap to finish the file after SIGINT


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    """Send ``sig`` to ``proc`` if it is still running, wait up to ``timeout`` seconds, then kill it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def loopback_capture(path: Path, ports: Iterable[int]) -> Iterator[Path]:
    """dumpcap on ``lo`` writing the TCP packets to or from any of ``ports`` to ``path`` (pcapng).

    On entry: waits until dumpcap has written the file header (it does so once the capture runs), skipping the
    test if that does not happen within :data:`START_TIMEOUT` or dumpcap exits. On a normal exit: waits
    :data:`LINGER` seconds for the last packets. Always: SIGINT (dumpcap then finishes the file), up to
    :data:`STOP_TIMEOUT` seconds, then kill. ``path`` is complete and readable after the ``with`` block."""
    dumpcap = require_binary("dumpcap")
    wanted = list(ports)
    assert wanted, "no ports to capture"
    bpf = "tcp and (" + " or ".join(f"port {port}" for port in wanted) + ")"
    proc = subprocess.Popen([dumpcap, "-i", "lo", "-f", bpf, "-w", str(path), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not path.exists() or path.stat().st_size == 0:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.skip("cannot capture on loopback here")
            time.sleep(0.05)
        time.sleep(SETTLE)
        yield path
        time.sleep(LINGER)
    finally:
        stop_process(proc, signal.SIGINT, STOP_TIMEOUT)
