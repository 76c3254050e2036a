"""End to end, with accounting: generated events through the API and the stream, each in exactly one place."""

from __future__ import annotations

import json
import re
import signal
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from django.conf import settings
from django.core.management import CommandError, call_command

from generator.events import generate
from tests.support.kafka import topic_size
from tests.support.lanes import StreamLane
from tests.support.stream import run_in_process, start_stream

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def send(tmp_path: Path, live_server: Any, count: int, seed: int) -> str:
    path = tmp_path / "events.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in generate(count, invalid_share=0.2, seed=seed)))
    out = StringIO()
    call_command("send_events", "--file", str(path), "--host", live_server.url.removeprefix("http://"), stdout=out)
    return out.getvalue()


def event_places(text: str) -> dict[str, str]:
    """The lines of `reconcile --list`: correlationId -> place."""
    places = {}
    for line in text.splitlines():
        first, _, rest = line.partition(" ")
        try:
            uuid.UUID(first)
        except ValueError:
            continue  # a summary line
        places[first] = rest
    return places


def reconcile(since: datetime) -> str:
    out = StringIO()
    try:
        call_command("reconcile", "--since", since.isoformat(), stdout=out)
    except CommandError as error:
        raise AssertionError(f"{error}\n{out.getvalue()}") from None
    return out.getvalue()


def test_generated_events_are_each_in_exactly_one_place(
    tmp_path: Path, stream_lane: StreamLane, live_server: Any
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    summary = send(tmp_path, live_server, 1000, seed=21)
    assert re.search(r"sent +│ +1000 │", summary)
    assert re.search(r"failed +│ +0 │", summary)

    assert run_in_process(idle_seconds=3) == "DONE"
    report = reconcile(since)

    accepted, rejected = topic_size(stream_lane.events_topic), topic_size(stream_lane.dead_letter_topic)
    assert accepted + rejected == 1000
    assert report.startswith("reconcile: ")  # the summary table comes first
    assert re.search(rf"enriched \(PostgreSQL and the lake\) +│ +{accepted} │", report), report
    assert re.search(rf"dead letter, collect stage \(topic and the lake\) +│ +{rejected} │", report)
    assert re.search(r"problems +│ +0 │", report)
    assert re.search(r"events taken in +│ +1000 │", report)
    assert report.rstrip().endswith("every event is in exactly one place")

    listed = StringIO()
    call_command("reconcile", "--since", since.isoformat(), "--list", stdout=listed)
    places = list(event_places(listed.getvalue()).values())
    assert len(places) == 1000
    assert sum(1 for place in places if place == "enriched (PostgreSQL and the lake)") == accepted
    dead = [place for place in places if place.startswith("dead letter (collect, topic and the lake): ")]
    assert len(dead) == rejected
    assert all(place.split(": ", 1)[1] for place in dead)  # each with its error


def test_a_message_the_source_resent_is_accounted_as_a_resend(
    tmp_path: Path, stream_lane: StreamLane, live_server: Any
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    path = tmp_path / "events.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in generate(50, invalid_share=0, seed=23)))
    host = live_server.url.removeprefix("http://")
    call_command(
        "send_events", "--file", str(path), "--host", host, "--count", "100", "--resend-ids", stdout=StringIO()
    )

    assert run_in_process(idle_seconds=3) == "DONE"
    report = reconcile(since)

    assert re.search(r"enriched \(PostgreSQL and the lake\) +│ +50 │", report), report
    assert re.search(r"resent by the source \(stored once in PostgreSQL\) +│ +50 │", report)
    assert re.search(r"events taken in +│ +100 │", report)
    assert report.rstrip().endswith("every event is in exactly one place")


def test_a_restart_in_the_middle_still_accounts_for_every_event(
    tmp_path: Path, stream_lane: StreamLane, live_server: Any
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    send(tmp_path, live_server, 600, seed=22)

    crashed = start_stream(stream_lane, "--idle-timeout", "30", "--poll-records", "100", crash_before_commit=True)
    crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    restarted = start_stream(stream_lane, "--idle-timeout", "3")
    output, _ = restarted.communicate(timeout=180)
    assert restarted.returncode == 0, output

    report = reconcile(since)
    assert re.search(r"events taken in +│ +600 │", report), report
    assert report.rstrip().endswith("every event is in exactly one place")


def test_an_event_the_stream_never_wrote_is_reported_missing(stream_lane: StreamLane) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    producer.produce(
        stream_lane.events_topic, key=b"0190f5e2-7c1a-7000-8000-000000000001", value=b"\x00\x00\x00\x00\x01"
    )
    producer.flush(10)

    with pytest.raises(CommandError, match="not every event is in exactly one place"):
        call_command("reconcile", "--since", since.isoformat(), stdout=(out := StringIO()))
    assert "  1 missing: 0190f5e2-7c1a-7000-8000-000000000001" in out.getvalue()
    assert re.search(r"problems \(listed below\) +│ +1 │", out.getvalue())
