"""The stream as an operator runs it (manage.py run_stream), through a crash, an outage and a stop."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.support.factories import brief_event
from tests.support.lanes import StreamLane, free_port
from tests.support.scripts import run_script
from tests.support.stream import committed_offset, rows_for, s3_keys, start_stream

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def collect(count: int) -> list[str]:
    client = APIClient()
    ids: list[str] = []
    while len(ids) < count:
        size = min(100, count - len(ids))
        response = client.post(
            "/collect", json.dumps([brief_event() for _ in range(size)]), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        ids += [e["correlationId"] for e in response.json()["events"]]
    return ids


def health(address: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://{address}/health/ready", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def enriched_keys(ids: list[str]) -> list[str]:
    wanted = {f"enriched/dt=2024-03-05/{i}.json" for i in ids}
    return sorted(key for key in s3_keys("enriched/dt=2024-03-05/") if key in wanted)


def test_a_kill_between_write_and_commit_leaves_every_event_exactly_once(stream_lane: StreamLane) -> None:
    ids = collect(300)

    crashed = start_stream(stream_lane, "--idle-timeout", "30", crash_before_commit=True)
    output, _ = crashed.communicate(timeout=120)

    assert crashed.returncode == -signal.SIGKILL, output
    written = rows_for(ids)
    assert written, "the first bundle was written before the kill"
    assert committed_offset(stream_lane) < 0  # nothing committed: the records will be read again

    restarted = start_stream(stream_lane, "--idle-timeout", "3")
    output, _ = restarted.communicate(timeout=120)

    assert restarted.returncode == 0, output
    rows = rows_for(ids)
    assert [row["correlation_id"] for row in rows] == sorted(ids)  # each exactly once
    assert enriched_keys(ids) == sorted(f"enriched/dt=2024-03-05/{i}.json" for i in ids)
    assert committed_offset(stream_lane) == 300


def test_postgres_down_for_a_while_delays_but_loses_nothing(stream_lane: StreamLane) -> None:
    ids = collect(200)
    address = f"127.0.0.1:{free_port()}"
    assert run_script("services.sh", "stop", "postgres").returncode == 0
    try:
        stream = start_stream(stream_lane, "--idle-timeout", "3", "--metrics-address", address)
        time.sleep(8)  # the stream reads, then waits for the database
        assert stream.poll() is None, "the stream must wait for PostgreSQL, not exit"
        ready = health(address)
        assert ready[0] == 503
        assert "postgres" in ready[1]["checks"]
    finally:
        assert run_script("services.sh", "up").returncode == 0

    output, _ = stream.communicate(timeout=120)

    assert stream.returncode == 0, output
    assert "retrying in" in output  # it did wait for the database
    assert [row["correlation_id"] for row in rows_for(ids)] == sorted(ids)
    assert committed_offset(stream_lane) == 200


def test_sigterm_stops_cleanly_after_writing_what_was_read(stream_lane: StreamLane) -> None:
    ids = collect(50)
    stream = start_stream(stream_lane)
    deadline = time.monotonic() + 60
    while len(rows_for(ids)) < 50 and time.monotonic() < deadline:
        time.sleep(0.5)

    stream.send_signal(signal.SIGTERM)
    output, _ = stream.communicate(timeout=60)

    assert stream.returncode == 0, output
    assert "stream finished: DONE (signal SIGTERM)" in output
    assert committed_offset(stream_lane) == 50
