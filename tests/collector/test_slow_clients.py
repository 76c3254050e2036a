"""Slow and idle clients cannot take the API down: nginx in front of granian (holded/proxy.py), for real.

The API runs as production runs it (python -m holded.server). 256 sockets from
another loopback address (127.0.0.2: another client) hold it the way a slow
or hostile client does: a request line and then a header byte now and then,
headers and then a body a byte at a time, or nothing at all on a kept-alive
connection. Meanwhile /health/live and a one-event POST /collect from
127.0.0.1 must each be answered; their latencies are printed (bench/
slow_clients.py measures them at length; no timing is asserted here). Then
every slow socket must have been closed by the server, within its timeouts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.api import api_server
from tests.support.factories import brief_event
from tests.support.lanes import Lane, free_port
from tests.support.stream import descendants

pytestmark = pytest.mark.integration

SLOW_SOCKETS = 256
# Short timeouts, so that the test sees the server close what is slow.
TIMEOUTS = {"API_HEADER_TIMEOUT": "3", "API_BODY_TIMEOUT": "3", "API_IDLE_TIMEOUT": "3"}
ATTACKER = "127.0.0.2"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(lane: Lane, tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    env = {
        **os.environ,
        **TIMEOUTS,
        "API_WORKERS": "2",
        "KAFKA_TOPIC_EVENTS": lane.events_topic,
        "KAFKA_TOPIC_DEAD_LETTER": lane.dead_letter_topic,
    }
    port = free_port()
    with api_server(port, env, tmp_path) as served:
        yield served.url, port, served.process.pid


def slow_socket(port: int, kind: str) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(ATTACKER, 0))
    if kind == "header":
        connection.sendall(b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    elif kind == "body":
        connection.sendall(
            b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n["
        )
    else:  # idle: one request answered, then nothing on the kept-alive connection
        connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        connection.recv(4096)
    return connection


def closed_by_server(connection: socket.socket, deadline: float) -> bool:
    """Does the server close this connection (an answer, then end of stream) before `deadline`?"""
    while time.monotonic() < deadline:
        connection.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if connection.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:
            return True  # reset by the server
    return False


def test_the_api_answers_while_256_slow_clients_hold_it_and_closes_them_in_time(api: tuple[str, int, int]) -> None:
    url, port, _ = api
    kinds = ["header", "body", "idle"]
    slow = [slow_socket(port, kinds[index % 3]) for index in range(SLOW_SOCKETS)]
    stop = threading.Event()

    def dribble() -> None:  # a header or body byte on each socket now and then, as a slow client sends
        while not stop.wait(1.0):
            for index, connection in enumerate(slow):
                if kinds[index % 3] != "idle":
                    with contextlib.suppress(OSError):
                        connection.sendall(b"X" if kinds[index % 3] == "header" else b" ")

    dribbler = threading.Thread(target=dribble, daemon=True)
    dribbler.start()
    opened = time.monotonic()
    try:
        live, collect = [], []
        session = requests.Session()
        body = json.dumps([brief_event()])
        for _ in range(50):
            started = time.perf_counter()
            response = session.get(f"{url}/health/live", timeout=5)
            live.append(time.perf_counter() - started)
            assert response.status_code == 200
            started = time.perf_counter()
            response = session.post(
                f"{url}/collect", data=body, headers={"Content-Type": "application/json"}, timeout=5
            )
            collect.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            assert response.json()["accepted"] == 1
        print(
            f"\nwith {SLOW_SOCKETS} slow sockets open: /health/live p50 {statistics.median(live) * 1000:.1f} ms, "
            f"max {max(live) * 1000:.1f} ms; POST /collect p50 {statistics.median(collect) * 1000:.1f} ms, "
            f"max {max(collect) * 1000:.1f} ms"
        )
        # A slow header or body is dropped after its timeout (3 s here), measured from its last byte for a body;
        # an idle connection after its idle timeout. A dribbling header is timed whole, so it cannot last.
        stop.set()
        deadline = opened + 3 + 10
        still_open = [index for index, connection in enumerate(slow) if not closed_by_server(connection, deadline)]
        assert still_open == [], f"{len(still_open)} slow sockets were still open after their timeouts"
    finally:
        stop.set()
        for connection in slow:
            connection.close()


def test_what_nginx_answers_itself_is_json_in_the_api_s_shape(api: tuple[str, int, int]) -> None:
    url, port, _ = api

    # A body announced larger than COLLECT_MAX_BODY_BYTES is refused before it is read.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2000000\r\n\r\n["
        )
        answer = connection.recv(65536).decode()
    status_line, _, rest = answer.partition("\r\n")
    assert status_line == "HTTP/1.1 413 Request Entity Too Large"
    assert json.loads(rest.split("\r\n\r\n", 1)[1])["error"] == "payload_too_large"

    header = requests.get(f"{url}/health/live", headers={"X-Long": "x" * 20_000}, timeout=30)
    assert header.status_code == 431
    assert header.json()["error"] == "header_too_large"

    uri = requests.get(f"{url}/health/live?{'q' * 20_000}", timeout=30)
    assert uri.status_code == 414
    assert uri.json()["error"] == "uri_too_long"


def test_an_api_that_does_not_answer_is_a_503_with_retry_after(api: tuple[str, int, int]) -> None:
    url, _, server = api
    # The server's workers paused (not nginx, its other child): nginx answers alone, after its timeout.
    workers = [pid for pid, command in descendants(server) if "holded.server" in command]
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        response = requests.get(f"{url}/health/live", timeout=60)
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "api_unavailable"
