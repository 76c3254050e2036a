"""The sender's retries, against a scripted HTTP server on loopback (the client's logic alone)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from contract.normalize import normalize_event
from generator.events import generate
from generator.sender import packages, send


class Script:
    """Answers in turn; records every body received."""

    def __init__(self, answers: list[tuple[int, dict[str, str], Any]]) -> None:
        self.answers = answers
        self.received: list[list[Any]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.received.append(body)
            status, headers, answer = script.answers.pop(0)
            if answer is None:  # echo: every event accepted
                answer = {"events": [{"index": i, "status": "accepted"} for i in range(len(body))]}
            payload = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/collect", script
    httpd.shutdown()


def test_a_503_resends_only_the_unconfirmed_events(server: tuple[str, Script]) -> None:
    url, script = server
    partial = {
        "events": [
            {"index": 0, "status": "accepted"},
            {"index": 1, "status": "unconfirmed"},
            {"index": 2, "status": "rejected"},
        ]
    }
    script.answers = [(503, {"Retry-After": "0"}, partial), (200, {}, None)]

    summary = send([["a", "b", "c"]], url=url, concurrency=1)

    assert script.received == [["a", "b", "c"], ["b"]]
    assert (summary.accepted, summary.rejected, summary.failed, summary.retries) == (2, 1, 0, 1)


def test_a_429_resends_the_whole_package_after_retry_after(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(429, {"Retry-After": "0"}, {"error": "throttled"}), (200, {}, None)]

    summary = send([["a", "b"]], url=url, concurrency=1)

    assert script.received == [["a", "b"], ["a", "b"]]
    assert (summary.accepted, summary.failed) == (2, 0)


def test_another_status_fails_the_package(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(400, {}, {"error": "invalid_package"})]

    summary = send([["a"]], url=url, concurrency=1)

    assert (summary.failed, summary.errors) == (1, {"HTTP 400": 1})


def test_packages_hold_one_to_ten_events_and_cover_the_file() -> None:
    events = list(range(1000))
    batches = list(packages(events, min_size=1, max_size=10, total=None, seed=3))

    assert [e for batch in batches for e in batch] == events
    assert all(1 <= len(batch) <= 10 for batch in batches)
    assert {len(batch) for batch in batches} == set(range(1, 11))


def test_cycling_gives_each_resent_event_a_new_message_id() -> None:
    events = list(generate(20, invalid_share=0, seed=4))
    sent = [e for batch in packages(events, min_size=1, max_size=10, total=100, seed=3) for e in batch]

    ids = [normalize_event(event)["attributes"]["messageIdStamp"] for event in sent]
    assert len(set(ids)) == 100
    assert sent[:20] == events  # the first pass is the file as it is


def test_resend_ids_sends_the_files_ids_again_on_purpose() -> None:
    events = list(generate(20, invalid_share=0, seed=4))
    sent = [e for batch in packages(events, min_size=1, max_size=10, total=100, seed=3, resend_ids=True) for e in batch]

    assert sent == events * 5


def test_progress_reports_answers_as_they_come(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(200, {}, None)] * 30
    seen: list[int] = []

    summary = send(
        ([i] for i in range(30)),
        url=url,
        concurrency=2,
        progress=lambda s: seen.append(s.answered),
        progress_seconds=0.001,
    )

    assert summary.answered == 30
    assert seen[-1] == 30
    assert seen == sorted(seen)
