"""The stream end to end, in this process: collector -> Kafka -> Beam -> PostgreSQL and the lake."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer
from django.conf import settings
from rest_framework.test import APIClient

from contract import wire
from contract.enriched import iso_millis
from contract.ids import package_id_of
from streaming.runtime.metrics import REGISTRY
from streaming.table.models import Event
from tests.support.factories import brief_event, messenger_event
from tests.support.kafka import header_map, read_topic
from tests.support.lanes import StreamLane
from tests.support.stream import committed_offset, lake_lines, lake_objects, rows_for, run_in_process

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_collected_events_come_out_enriched_in_postgres_and_s3(
    stream_lane: StreamLane, caplog: pytest.LogCaptureFixture
) -> None:
    client = APIClient()
    package = [brief_event(), messenger_event(), {"data": {"id": "bad"}}, brief_event()]
    response = client.post("/collect", json.dumps(package), content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    accepted = [e["correlationId"] for e in body["events"] if e["status"] == "accepted"]
    assert len(accepted) == 3
    written = {sink: written_total(sink) for sink in ("s3", "postgres")}

    assert run_in_process(idle_seconds=3) == "DONE"

    assert {sink: written_total(sink) - before for sink, before in written.items()} == {"s3": 3, "postgres": 3}

    records = {(r.key() or b"").decode(): r for r in read_topic(stream_lane.events_topic, expected=3)}
    rows = rows_for(accepted)
    assert [row["correlation_id"] for row in rows] == sorted(accepted)
    for row in rows:
        enriched = row["data"]
        record = records[row["correlation_id"]]
        _, broker_millis = record.timestamp()
        assert enriched["metadata"] == {
            "correlationId": row["correlation_id"],
            "publishTime": iso_millis(broker_millis),  # the broker's LogAppendTime
            "schemaId": wire.schema_id_of(record.value() or b""),
        }
        assert enriched["metadata"]["schemaId"] == stream_lane.schema_id
        assert row["partition"] == "events_y2024m03"  # made on demand: not in the migration's window

    # The lake: one JSON Lines object, named for the topic, partition and first offset, with the rows' events.
    objects = lake_objects("enriched", stream_lane.events_topic)
    assert len(objects) == 1
    ((key, lines),) = objects.items()
    published = datetime.fromtimestamp(records[accepted[0]].timestamp()[1] / 1000, UTC)
    assert key == f"enriched/dt={published:%Y-%m-%d}/hour={published:%H}/{stream_lane.events_topic}+0+{0:020d}.jsonl"
    assert lines == [row["data"] for row in sorted(rows, key=lambda row: accepted.index(row["correlation_id"]))]

    package_id = uuid.UUID(body["packageId"])
    # The logs follow the package: the collector's line, then each sink's.
    logged = caplog.text
    assert f"package {package_id}: 3 accepted, 1 rejected" in logged
    assert f"postgres: wrote 3 events; packages {package_id}=3" in logged
    assert f"s3 {key}: wrote 3 events; packages {package_id}=3" in logged
    regrouped = [str(e.correlation_id) for e in Event.of_package(package_id)]
    assert regrouped == sorted(accepted)
    assert all(package_id_of(uuid.UUID(c)) == package_id for c in regrouped)
    assert committed_offset(stream_lane) == 3


def test_poison_records_go_to_the_dead_letter_without_stopping_the_job(stream_lane: StreamLane) -> None:
    client = APIClient()
    good = client.post("/collect", json.dumps([brief_event()]), content_type="application/json").json()
    good_id = good["events"][0]["correlationId"]
    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    poison = {
        "bad magic byte": (str(uuid.uuid4()).encode(), b"\x07\x00\x00\x00\x01payload"),
        "unknown schema id": (str(uuid.uuid4()).encode(), b"\x00\x7f\xff\xff\xf0payload"),
        "garbage payload": (str(uuid.uuid4()).encode(), wire_header(stream_lane.schema_id) + b"\xff\xff\xff"),
        "no key": (None, wire_header(stream_lane.schema_id) + b"\x00"),
    }
    for key, value in poison.values():
        producer.produce(stream_lane.events_topic, key=key, value=value)
    producer.flush(10)
    after = client.post("/collect", json.dumps([brief_event()]), content_type="application/json").json()
    after_id = after["events"][0]["correlationId"]

    assert run_in_process(idle_seconds=3) == "DONE"

    assert [row["correlation_id"] for row in rows_for([good_id, after_id])] == sorted([good_id, after_id])
    letters = read_topic(stream_lane.dead_letter_topic, expected=4)
    assert len(letters) == 4
    errors = []
    for letter, (key, value) in zip(letters, poison.values(), strict=True):
        headers = header_map(letter)
        assert headers["error.stage"] == "stream"
        assert headers["source.topic"] == stream_lane.events_topic
        assert int(headers["source.offset"]) >= 1
        assert letter.value() == value  # undecodable: the bytes exactly as read
        if key is not None:
            assert headers["correlationId"] == key.decode()
        errors.append(headers["error"])
    assert errors[0] == "unknown magic byte 7 (expected 0)"
    assert errors[1] == f"unknown schema id {0x7FFFFFF0}"
    assert errors[2].startswith(f"cannot read schema id {stream_lane.schema_id} as {stream_lane.subject} version 1")
    assert errors[3].startswith("the record has no correlationId")
    assert committed_offset(stream_lane) == 6
    # The archive commits what it archived too: a restart does not read the whole dead-letter topic again.
    assert committed_offset(stream_lane, topic=stream_lane.dead_letter_topic) == 4

    # The stream archived its own dead letters to the lake, each with its bytes, error and source.
    archived = lake_lines("dead-letter", stream_lane.dead_letter_topic)
    assert [line["source"]["offset"] for line in archived] == [int(header_map(x)["source.offset"]) for x in letters]
    for line, letter, (_, value) in zip(archived, letters, poison.values(), strict=True):
        assert line["stage"] == "stream"
        assert line["error"] == header_map(letter)["error"]
        assert line["correlationId"] == header_map(letter)["correlationId"]
        assert base64.b64decode(line["valueBase64"]) == value
        assert line["source"]["topic"] == stream_lane.events_topic


def written_total(sink: str) -> float:
    return REGISTRY.get_sample_value("holded_stream_events_written_total", {"sink": sink}) or 0.0


def wire_header(schema_id: int) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big")
