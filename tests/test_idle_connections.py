"""Idle and slow clients cannot take the service down (`inbox serve` as deployed)."""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

import httpx
import pytest

from inbox.serving import HEADER_TIMEOUT_SECONDS
from tests.served import serving

IDLE_CONNECTIONS = 1_100


def _usual_descriptor_limit() -> None:
    """What most machines give a process: a soft limit of 1,024 open files."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


@pytest.fixture
def served(tmp_path: Path):
    with serving(tmp_path, preexec_fn=_usual_descriptor_limit) as server:
        yield server.port, server.url


@pytest.mark.slow
def test_eleven_hundred_idle_connections_do_not_stop_the_service(served):
    port, url = served
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < IDLE_CONNECTIONS + 200:
        pytest.skip("this test process itself cannot open 1,100 sockets here")
    idle = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        started = time.monotonic()
        response = httpx.get(f"{url}/contact", timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started < 5
        # and the idle ones are let go once the header deadline has passed
        probe = idle[0]
        probe.settimeout(HEADER_TIMEOUT_SECONDS + 10)
        assert probe.recv(1) == b""
    finally:
        for connection in idle:
            connection.close()


@pytest.mark.slow
def test_a_client_sending_headers_a_byte_at_a_time_is_cut_off(served):
    port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        started = time.monotonic()
        request = b"GET /contact HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
        closed = False
        for byte in request:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.5)
            if time.monotonic() - started > HEADER_TIMEOUT_SECONDS + 10:
                break
        if not closed:
            slow.settimeout(5)
            try:
                closed = slow.recv(1) == b""
            except OSError:
                closed = True
    assert closed
    assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + 10
