"""The stream as an operator runs it (manage.py run_stream), through a crash and a stop (outages: test_outages.py)."""

from __future__ import annotations

import json
import signal
import time
import uuid

import pytest
from confluent_kafka import Producer
from rest_framework.test import APIClient

from integrations.clients import kafka_config
from tests.support.factories import brief_event
from tests.support.kafka import header_map, read_all
from tests.support.lanes import StreamLane
from tests.support.stream import committed_offset, lake_lines, rows_for, start_stream

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


def lake_ids(lane: StreamLane) -> list[str]:
    """The correlationIds of the lane's enriched objects, in offset order."""
    return [line["metadata"]["correlationId"] for line in lake_lines("enriched", lane.events_topic)]


def test_a_kill_between_write_and_commit_leaves_every_event_exactly_once(stream_lane: StreamLane) -> None:
    ids = collect(300)

    crashed = start_stream(stream_lane, "--idle-timeout", "30", crash_before_commit=True)
    output, _ = crashed.communicate(timeout=120)

    assert crashed.returncode == -signal.SIGKILL, output
    written = rows_for(ids)
    assert written, "the first bundle was written before the kill"
    assert committed_offset(stream_lane) == 0  # where the group started: the records will be read again

    restarted = start_stream(stream_lane, "--idle-timeout", "3")
    output, _ = restarted.communicate(timeout=120)

    assert restarted.returncode == 0, output
    rows = rows_for(ids)
    assert [row["correlation_id"] for row in rows] == sorted(ids)  # each exactly once
    assert lake_ids(stream_lane) == ids  # each exactly once, in offset order: the replay rewrote the same objects
    assert committed_offset(stream_lane) == 300


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


def test_a_kill_right_after_a_poison_record_leaves_its_dead_letter_exactly_once(stream_lane: StreamLane) -> None:
    # The poison record first: the first object, whose commit the kill prevents, holds it.
    producer = Producer(kafka_config().producer("tests"))
    poison_key = str(uuid.uuid4())
    producer.produce(stream_lane.events_topic, key=poison_key.encode(), value=b"\x07 not the wire format")
    assert producer.flush(10) == 0
    good = collect(10)

    # Killed once the first object's writes are done (the dead letter's too), before its offsets are committed.
    crashed = start_stream(stream_lane, "--idle-timeout", "30", crash_before_commit=True)
    output, _ = crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL, output
    assert committed_offset(stream_lane) == 0  # where the group started: nothing of the bundle
    assert [header_map(m)["correlationId"] for m in read_all(stream_lane.dead_letter_topic)] == [poison_key]

    restarted = start_stream(stream_lane, "--idle-timeout", "3")
    output, _ = restarted.communicate(timeout=120)

    assert restarted.returncode == 0, output
    letters = read_all(stream_lane.dead_letter_topic)
    assert [header_map(m)["correlationId"] for m in letters] == [poison_key]  # the replay did not write it again
    assert "were dead-lettered already" in output
    assert [line["correlationId"] for line in lake_lines("dead-letter", stream_lane.dead_letter_topic)] == [poison_key]
    assert [row["correlation_id"] for row in rows_for(good)] == sorted(good)
    assert committed_offset(stream_lane) == 11
