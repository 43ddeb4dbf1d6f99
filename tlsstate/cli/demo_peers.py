"""The two ends of ``tlsstate demo``'s loopback connections: a tlsstate echo server thread and a client whose
records the demo seals, reads and opens one at a time (so it can flip, reflect and replay them).

Shared by the TLS 1.0/1.2 part (:mod:`tlsstate.cli.demo`) and the TLS 1.3 part (:mod:`tlsstate.cli.demo13`). Every
socket has a timeout; the server thread is stopped and joined on exit: the demo never hangs.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

from tlsstate.cli.demo_model import Proof, RecordRow
from tlsstate.cli.serving import Server, ServerOptions
from tlsstate.config import TLSConfig
from tlsstate.events import ApplicationData
from tlsstate.html.live import WireTap
from tlsstate.html.model import key_base
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.record import Deframer
from tlsstate.wire.errors import AlertReceived, ProtocolError, TLSError

__all__ = ["TIMEOUT", "DemoClient", "DemoServer", "run_proofs"]

TIMEOUT = 10.0


class DemoServer:
    """A tlsstate echo server in a thread on a free loopback port; collects its one-line connection logs."""

    def __init__(self, config: TLSConfig) -> None:
        self.log: list[str] = []
        self._log_lock = threading.Lock()
        self.listener = TLSListener("127.0.0.1", 0, config, timeout=TIMEOUT)
        self.server = Server(self.listener, ServerOptions(log=self._add_log), max_connections=8)
        self.thread = threading.Thread(target=self.server.serve, name="demo-server", daemon=True)

    def _add_log(self, line: str) -> None:
        with self._log_lock:
            self.log.append(line)

    @property
    def port(self) -> int:
        """The loopback port the server listens on."""
        return self.listener.address[1]

    def __enter__(self) -> DemoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop.set()
        with contextlib.suppress(OSError):  # wakes the accept loop now (Linux: accept fails) instead of at its timeout
            self.listener.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(TIMEOUT)
        self.server.join(TIMEOUT)
        self.listener.close()

    def wait_log(self, count: int, timeout: float = TIMEOUT) -> list[str]:
        """Wait (bounded) until ``count`` connection lines were logged."""
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            with self._log_lock:
                if len(self.log) >= count:
                    return list(self.log)
            deadline.wait(0.02)
        with self._log_lock:
            return list(self.log)

    def line_of(self, port: int, timeout: float = TIMEOUT) -> str:
        """The log line of the connection from local ``port`` (waits, bounded, until it is written; "" if never)."""
        prefix = f"127.0.0.1:{port} "
        for _ in range(int(timeout / 0.02)):
            with self._log_lock:
                line = next((ln for ln in self.log if ln.startswith(prefix)), None)
            if line is not None:
                return line
            threading.Event().wait(0.02)
        return ""


class DemoClient:
    """A client TLSSocket whose records the demo inspects one by one."""

    def __init__(self, port: int, config: TLSConfig) -> None:
        self.wire: dict[str, bytearray] = {"out": bytearray(), "in": bytearray()}
        self.tap = WireTap()  # the same bytes in the order they crossed the socket (for --html)
        self.tls = TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT, on_wire=self._tap)
        self.tls.on_wire = None  # after the handshake the demo reads and writes records itself
        self.conn = self.tls.connection
        self._deframer = Deframer()  # records the demo reads off the socket before the connection sees them
        self.tried: tuple[str, int, bytes] = ("", 0, b"")  # the last tampered record's key, expected seq, bytes

    def _tap(self, direction: str, data: bytes) -> None:
        self.wire[direction] += data
        self.tap(direction, data)

    def seal(self, data: bytes) -> tuple[RecordRow, bytes]:
        """Protect ``data`` as one record with the client's write state; returns (row, wire bytes)."""
        state = self.conn.write_state
        seq, label = state.seq, state.key_label
        self.conn.send_data(data)
        wire = self.conn.bytes_to_send()
        return RecordRow("client → server", seq, label, len(data), len(wire), wire=wire, plaintext=data), wire

    def send(self, data: bytes) -> RecordRow:
        """Seal ``data`` as one record and send it to the server."""
        row, wire = self.seal(data)
        self.tls.sock.sendall(wire)
        return row

    def read_record(self) -> bytes:
        """The next whole record from the socket, not yet given to the connection."""
        while (record := self._deframer.next_record()) is None:
            chunk = self.tls.sock.recv(65536)
            if not chunk:
                raise TLSError("server closed the connection unexpectedly")
            self._deframer.feed(chunk)
        return record.to_bytes()

    def open(self, wire: bytes) -> tuple[RecordRow, bytes]:
        """Give one record to the client's read state; returns (row, plaintext). Raises on tampering."""
        state = self.conn.read_state
        seq, label = state.seq, state.key_label
        self.conn.receive_bytes(wire)
        plaintext = b""
        while (event := self.conn.next_event()) is not None:
            if isinstance(event, ApplicationData):
                plaintext += event.data
        row = RecordRow("server → client", seq, label, len(plaintext), len(wire), wire=wire, plaintext=plaintext)
        return row, plaintext

    def send_queued_alert(self) -> None:
        """Forward the fatal alert the failed connection queued (the server logs it)."""
        try:
            data = self.conn.bytes_to_send()
        except TLSError:
            return
        try:
            if data:
                self.tls.sock.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        """Close the client's socket (the server logs the connection's outcome)."""
        self.tls.close()


def echo(client: DemoClient, messages: tuple[bytes, ...]) -> list[RecordRow]:
    """Send each message as one record and read its echo: two rows per message."""
    rows = []
    for message in messages:
        rows.append(client.send(message))
        row, echoed = client.open(client.read_record())
        if echoed != message:
            raise TLSError("the echo server returned different bytes")
        rows.append(row)
    return rows


def client_port(client: DemoClient) -> int:
    """The client's local port: how its line in the server log is found."""
    return int(client.tls.sock.getsockname()[1])


def expect_rejection(client: DemoClient, wire: bytes) -> tuple[bool, str, str]:
    """Feed a tampered record; (rejected with bad_record_mac?, error text, alert name)."""
    client.tried = (client.conn.read_state.key_label, client.conn.read_state.seq, wire)
    try:
        client.open(wire)
    except ProtocolError as exc:
        client.send_queued_alert()
        return exc.alert.label == "bad_record_mac", f"{type(exc).__name__}: {exc.message}", exc.alert.label
    except AlertReceived as exc:
        return False, str(exc), "-"
    return False, "record was ACCEPTED", "-"


def flip(wire: bytes) -> bytes:
    """Flip one bit in the middle of the record's fragment (the header stays valid)."""
    index = 5 + (len(wire) - 5) // 2
    return wire[:index] + bytes([wire[index] ^ 0x01]) + wire[index + 1:]


# ---------------------------------------------------------------------------------------------- the three proofs

#: One sentence per attack saying why it fails under the run's protection (the caller's: TLS 1.0-1.2 or TLS 1.3).
Explain = Callable[[str], str]


def _prove_flipped(client: DemoClient, explain: Explain) -> Proof:
    """(a) a flipped byte in the server's echo record."""
    client.send(b"flip me")
    ok, error, alert = expect_rejection(client, flip(client.read_record()))
    return Proof("flipped byte", "flipped one bit in the middle of the server's echo record",
                 ok, error, alert, "", explain("flipped byte"))


def _prove_reflected(client: DemoClient, explain: Explain) -> Proof:
    """(b) a record reflected back to its sender."""
    write, read = client.conn.write_state, client.conn.read_state
    seq_w, seq_r, key_w, key_r = write.seq, read.seq, key_base(write.key_label), key_base(read.key_label)
    _, own_record = client.seal(b"reflect me")
    client.tls.sock.sendall(own_record)  # the server gets it; an attacker also bounces a copy back
    ok, error, alert = expect_rejection(client, own_record)
    return Proof(
        "reflected record",
        f"sent a record ({key_w}, seq {seq_w}) and fed a copy back to the client's read side "
        f"({key_r}, expecting seq {seq_r}: same number, other key)",
        ok, error, alert, "", explain("reflected record"))


def _prove_replayed(client: DemoClient, explain: Explain) -> Proof:
    """(c) a record replayed after it was accepted once."""
    client.send(b"replay me")
    original = client.read_record()
    row, _ = client.open(original)
    ok, error, alert = expect_rejection(client, original)
    return Proof(
        "replayed record",
        f"accepted the server's record (seq {row.seq}) once, then fed the same bytes again "
        f"(the read state now expects seq {row.seq + 1})", ok, error, alert, "", explain("replayed record"))


PROOFS: tuple[Callable[[DemoClient, Explain], Proof], ...] = (_prove_flipped, _prove_reflected, _prove_replayed)


def run_proofs(server: DemoServer, connect: Callable[[], DemoClient], explain: Explain,
               annotate: Callable[[DemoClient, Proof], None] | None = None) -> list[Proof]:
    """The three proofs, each on a connection of its own (a failed record kills the connection state), with what
    the server logged for it; ``annotate`` adds to a proof what only its live connection knows."""
    proofs: list[Proof] = []
    ports: list[int] = []
    for prove in PROOFS:
        client = connect()
        ports.append(client_port(client))
        try:
            proof = prove(client, explain)
            proof.key_tried, proof.seq_expected, proof.wire = client.tried
            if annotate is not None:
                annotate(client, proof)
            proofs.append(proof)
        finally:
            client.close()
    for proof, port in zip(proofs, ports, strict=True):
        proof.server_saw = server.line_of(port)
    return proofs
