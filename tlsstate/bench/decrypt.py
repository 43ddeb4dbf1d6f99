"""Capture-decryption benchmark: tlsstate decrypt vs tshark on the same AES-128-GCM capture, same run.

The capture is real TLS made by CPython ``ssl`` (OpenSSL): a client and a server joined by memory BIOs
(no sockets, so the run is deterministic and fast) with ``keylog_filename`` set; every byte each side
puts on the wire is cut into TCP segments (≤ ``segment_size`` bytes, as on a loopback interface with
TSO) and written as Ethernet/IPv4/TCP frames to a classic pcap file by
:func:`tlsstate.capture.writer.write_tcp_capture`, so no capture privileges are needed. The handshake is TLS 1.2
ECDHE-RSA-AES128-GCM-SHA256; then ``size_mib`` MiB of application data flow server → client.

Timed: :func:`tlsstate.capture.decrypt.decrypt_capture` (in process, best of ``repeat``), and
``tshark -q -z io,stat,0,"SUM(data.len)data.len" -o tcp.reassemble_out_of_order:TRUE -o tls.keylog_file:K``
(best of ``repeat``; tshark's reported sum is checked to cover the server's application bytes, so its
run is a complete decryption). MB/s = application-data bytes / wall time (10^6 bytes). The Python heap peak of one
extra run (tracemalloc) shows memory bounded by the records in flight, not by the capture size.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tlsstate.capture.writer import write_tcp_capture

__all__ = ["build_gcm_capture", "run_decrypt_bench"]


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench.local")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def build_gcm_capture(directory: Path, size_mib: int = 64, segment_size: int = 1448) -> dict[str, Any]:
    """Make ``capture.pcap`` + ``keys.log`` in ``directory``: TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 carrying
    ``size_mib`` MiB server → client (plus a small request). Returns paths, byte and packet counts."""
    cert, key = _self_signed(directory)
    keylog = directory / "keys.log"
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    for ctx in (server_ctx, client_ctx):
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    client_ctx.keylog_filename = str(keylog)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="bench.local")
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    chunks: list[tuple[bool, bytes]] = []

    def pump() -> None:
        for from_client, src, dst in ((True, c_out, s_in), (False, s_out, c_in)):
            data = src.read()
            if data:
                chunks.append((from_client, data))
                dst.write(data)

    for _ in range(20):
        for side in (client, server):
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
        pump()
        if client.version() and server.version():
            break
    pump()
    request = b"GET /bench HTTP/1.1\r\nHost: bench.local\r\n\r\n"
    client.write(request)
    pump()
    server.read(65536)
    total = size_mib * 1024 * 1024
    block = bytes(range(256)) * 64  # 16 KiB
    app_bytes = 0
    path = directory / "capture.pcap"

    def stream() -> Iterable[tuple[bool, bytes]]:
        nonlocal app_bytes
        yield from chunks
        chunks.clear()
        while app_bytes < total:
            for _ in range(64):  # 1 MiB per batch
                server.write(block)
                app_bytes += len(block)
            data = s_out.read()
            c_in.write(data)
            while True:
                try:
                    client.read(1 << 20)
                except ssl.SSLWantReadError:
                    break
            yield False, data

    packets = write_tcp_capture(path, stream(), segment_size)
    return {"capture": path, "keylog": keylog, "app_bytes": app_bytes + len(request), "server_bytes": app_bytes,
            "packets": packets,
            "capture_bytes": path.stat().st_size}


def _time_ours(capture: Path, keylog: Path) -> tuple[float, int]:
    from tlsstate.capture.decrypt import decrypt_capture
    from tlsstate.capture.keysource import KeySource

    keys = KeySource()
    keys.add_keylog_file(keylog)
    start = time.perf_counter()
    result = decrypt_capture(capture, keys)
    elapsed = time.perf_counter() - start
    conn = result.connections[0].session
    if conn.summary()["records_failed"]:
        raise RuntimeError("benchmark capture did not decrypt cleanly")
    return elapsed, conn.client.app_bytes + conn.server.app_bytes


def _time_tshark(tshark: str, capture: Path, keylog: Path) -> tuple[float, int]:
    start = time.perf_counter()
    run = subprocess.run(
        [tshark, "-r", str(capture), "-q", "-z", "io,stat,0,SUM(data.len)data.len",
         "-o", "tcp.reassemble_out_of_order:TRUE", "-o", f"tls.keylog_file:{keylog}"],
        capture_output=True, text=True, timeout=900,
    )
    elapsed = time.perf_counter() - start
    numbers = re.findall(r"\|\s*[\d.]+\s*<>\s*(?:[\d.]+|Dur)\s*\|\s*(\d+)\s*\|", run.stdout)
    return elapsed, int(numbers[-1]) if numbers else -1


def run_decrypt_bench(repeat: int = 3, seconds: float = 0.0, *, size_mib: int = 64,
                      segment_sizes: tuple[int, ...] = (1448, 65483), tshark: str | None = None,
                      progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """For each segment size (1448 = Ethernet MSS, 65483 = loopback MTU 65536): build the capture, time
    tlsstate and tshark on it; one result row each (MB/s, speed-up, heap peak).

    ``seconds`` is accepted for ``tlsstate speed`` compatibility (each run is one whole decryption).
    """
    del seconds
    say = progress or (lambda _message: None)
    tshark = tshark or shutil.which("tshark")
    repeat = max(1, min(repeat, 3))  # tshark needs seconds per run on small segments
    rows = []
    for segment_size in segment_sizes:
        with tempfile.TemporaryDirectory(prefix="tlsstate-bench-") as tmp:
            say(f"building a {size_mib} MiB AES-128-GCM capture, {segment_size}-byte TCP segments")
            info = build_gcm_capture(Path(tmp), size_mib, segment_size)
            rows.append(_measure(info, segment_size, repeat, tshark, say))
    return rows


def _measure(info: dict[str, Any], segment_size: int, repeat: int, tshark: str | None,
             say: Callable[[str], None]) -> dict[str, Any]:
    capture, keylog = info["capture"], info["keylog"]
    ours = []
    app = 0
    for i in range(repeat):
        say(f"tlsstate decrypt run {i + 1}/{repeat}")
        elapsed, app = _time_ours(capture, keylog)
        ours.append(elapsed)
    tracemalloc.start()
    _time_ours(capture, keylog)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row: dict[str, Any] = {
        "benchmark": "decrypt",
        "suite": "ECDHE-RSA-AES128-GCM-SHA256",
        "segment_bytes": segment_size,
        "capture_mib": round(info["capture_bytes"] / 2**20, 1),
        "packets": info["packets"],
        "app_bytes": app,
        "tlsstate_seconds": round(min(ours), 3),
        "tlsstate_mb_s": round(app / min(ours) / 1e6, 1),
        "tlsstate_heap_peak_mib": round(peak / 2**20, 2),
    }
    if tshark:
        times = []
        tshark_bytes = -1
        for i in range(repeat):
            say(f"tshark run {i + 1}/{repeat}")
            elapsed, tshark_bytes = _time_tshark(tshark, capture, keylog)
            times.append(elapsed)
        row.update({
            "tshark_seconds": round(min(times), 3),
            "tshark_mb_s": round(app / min(times) / 1e6, 1),
            "tshark_data_len_sum": tshark_bytes,
            # tshark sums the server's bulk data (the 42-byte request is dissected as HTTP, not data)
            "tshark_complete": tshark_bytes >= info["server_bytes"],
            "speedup_vs_tshark": round(min(times) / min(ours), 2),
        })
    else:
        row["tshark_mb_s"] = None
    return row
