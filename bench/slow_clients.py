"""Benchmark: the API's latency while slow and idle clients hold it, with nginx in front and without.

    uv run python bench/slow_clients.py [--sockets 256] [--requests 500]

Needs the services (scripts/services.sh up). It serves the API as the README
recommends (python -m holded.server: nginx in front of granian) and, in the
same run, granian alone (API_PROXY=none), each on topics of its own. For
each: `--requests` sequential GET /health/live and one-event POST /collect
with nothing else open, then the same while `--sockets` sockets from another
loopback address (127.0.0.2) hold the server as slow clients do: a third
send a request line and then a header byte every second, a third send their
headers and then a body byte every second, a third stay idle on a
kept-alive connection. It prints p50, p99 and max per path, and the
requests that got no answer within 5 s (after 10 of them, it stops asking).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402

from bench.collect import collect_lane, lane_environment, sample_event, serve_api, stop  # noqa: E402

KINDS = ("header", "body", "idle")
MAX_FAILURES = 10  # requests per path without an answer in 5 s before the measurement stops
JSON = {"Content-Type": "application/json"}
SERVERS: tuple[tuple[str, dict[str, str]], ...] = (
    ("nginx in front (the default)", {}),
    ("granian alone (API_PROXY=none)", {"API_PROXY": "none"}),
)
ATTACKER = "127.0.0.2"


def slow_socket(port: int, kind: str, timeout: float) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(ATTACKER, 0))
    if kind == "header":
        connection.sendall(b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    elif kind == "body":
        connection.sendall(
            b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n["
        )
    else:
        connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        connection.recv(4096)
    return connection


class SlowClients:
    """`count` slow sockets on `port`, each sending a byte a second; one the server closed is opened again."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.kinds = [KINDS[index % 3] for index in range(count)]
        self.sockets: list[socket.socket | None] = [None] * count
        self.refused = 0  # connections the server did not take within a second

    def keep_open(self) -> None:
        for index, kind in enumerate(self.kinds):
            connection = self.sockets[index]
            if connection is not None and kind != "idle":
                try:
                    connection.sendall(b"X" if kind == "header" else b" ")
                    continue
                except OSError:
                    connection.close()  # closed by the server (a timeout): opened again below
            elif connection is not None:
                continue
            try:
                self.sockets[index] = slow_socket(self.port, kind, timeout=1.0)
            except OSError:
                self.sockets[index] = None
                self.refused += 1

    def open_now(self) -> int:
        return sum(connection is not None for connection in self.sockets)

    def close(self) -> None:
        for connection in self.sockets:
            if connection is not None:
                connection.close()


@contextlib.contextmanager
def slow_clients(port: int, count: int) -> Iterator[SlowClients]:
    """The slow clients, kept at work (a byte a second, reopened when closed) until the block ends."""
    clients = SlowClients(port, count)
    clients.keep_open()
    stop = threading.Event()

    def work() -> None:
        while not stop.wait(1.0):
            clients.keep_open()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        yield clients
    finally:
        stop.set()
        worker.join()
        clients.close()


def latencies(url: str, requests_count: int) -> dict[str, tuple[list[float], int]]:
    """Per path: the seconds of each answered request, and how many got no answer within 5 s."""
    session = requests.Session()
    body = json.dumps([sample_event(0)])
    found: dict[str, tuple[list[float], int]] = {}
    for path in ("/health/live", "/collect"):
        times, failed = [], 0
        for _ in range(requests_count):
            if failed >= MAX_FAILURES:
                break  # the server does not answer: enough said
            started = time.perf_counter()
            try:
                if path == "/collect":
                    response = session.post(
                        url + path, data=body, headers={"Content-Type": "application/json"}, timeout=5
                    )
                else:
                    response = session.get(url + path, timeout=5)
                if response.status_code != 200:
                    failed += 1
                    continue
            except requests.RequestException:
                failed += 1
                session = requests.Session()
                continue
            times.append(time.perf_counter() - started)
        found[path] = (times, failed)
    return found


def describe(times: list[float], failed: int) -> str:
    if not times:
        return f"no answer ({failed} failed)"
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
        f"max {ordered[-1] * 1000:7.1f} ms  no answer {failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=256)
    parser.add_argument("--requests", type=int, default=500, help="per path and condition")
    args = parser.parse_args()
    rows = []
    for label, extra in (
        ("nginx in front (the default)", {}),
        ("granian alone (API_PROXY=none)", {"API_PROXY": "none"}),
    ):
        with collect_lane() as (events_topic, dead_letter_topic, _, _):
            server, port = serve_api({**lane_environment(events_topic, dead_letter_topic), **extra})
            try:
                url = f"http://127.0.0.1:{port}"
                latencies(url, 20)  # warm-up: every worker's producer connected
                quiet = latencies(url, args.requests)
                with slow_clients(port, args.sockets) as clients:
                    time.sleep(2)
                    held = latencies(url, args.requests)
                    sockets = (clients.open_now(), clients.refused)
            finally:
                stop(server)
        rows.append((label, quiet, held, sockets))
    print(f"\n{args.requests} sequential requests per path, alone, then with {args.sockets} slow sockets open:")
    for label, quiet, held, (opened, refused) in rows:
        print(f"{label} ({opened} slow sockets open at the end; {refused} connections not taken within 1 s):")
        for path in ("/health/live", "/collect"):
            print(f"  {path:13} alone:        {describe(*quiet[path])}")
            print(f"  {path:13} slow clients: {describe(*held[path])}")


if __name__ == "__main__":
    main()
