"""bench/proxy.py: bytes arrive whole and in order, each direction later by the one-way delay."""

import os
import socket
import socketserver
import subprocess
import sys
import threading
import time

import pytest

from tests.reliability.stack import ROOT, free_port

DELAY_MS = 50
HANG = 10.0  # seconds: anything near this is a hang, not a delay


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture(scope="module")
def echo_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def proxy(echo_port: int, delay_ms: float):
    """Start bench/proxy.py in front of the echo server; return (process, port)."""
    port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "proxy.py"), "--listen", f"127.0.0.1:{port}"]
    command += ["--target", f"127.0.0.1:{echo_port}", "--delay-ms", str(delay_ms)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process, port


@pytest.fixture
def delayed(echo_port):
    process, port = proxy(echo_port, DELAY_MS)
    yield port
    process.terminate()
    process.wait(timeout=HANG)


def round_trip(port: int, payload: bytes) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=HANG) as sock:
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            assert chunk, "the proxy closed the connection early"
            received += chunk
    return received, time.monotonic() - started


def test_a_round_trip_takes_at_least_twice_the_one_way_delay(delayed):
    received, elapsed = round_trip(delayed, b"ping")

    assert received == b"ping"
    assert elapsed >= 2 * DELAY_MS / 1000  # a lower bound: a busy machine only adds to it
    assert elapsed < HANG


def test_a_large_payload_arrives_whole_and_in_order(delayed):
    payload = os.urandom(2 * 1024 * 1024)

    received, _ = round_trip(delayed, payload)

    assert received == payload


def test_zero_delay_passes_bytes_straight_through(echo_port):
    process, port = proxy(echo_port, 0)
    try:
        received, elapsed = round_trip(port, b"no delay" * 1000)
    finally:
        process.terminate()
        process.wait(timeout=HANG)

    assert received == b"no delay" * 1000
    assert elapsed < HANG
