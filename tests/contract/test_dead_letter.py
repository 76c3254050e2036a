"""The dead-letter record: its Kafka value and headers, its S3 key and body (pure)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime

from contract.dead_letter import DeadLetter, object_key
from contract.ids import event_id, new_package_id

PACKAGE = new_package_id()
CORRELATION = event_id(PACKAGE, 3)
MADE = datetime(2024, 3, 5, 23, 59, 59, 123000, tzinfo=UTC)


def test_a_collector_dead_letter_is_the_event_as_received_with_why() -> None:
    event = {"data": {"amount": "lots"}, "attributes": {"type": "ü"}}
    letter = DeadLetter(event, "data.amount: must be a number", "collect", CORRELATION, PACKAGE, MADE)

    assert json.loads(letter.value()) == event
    assert "ü" in letter.value().decode()  # as sent, not escaped
    assert dict(letter.headers()) == {
        "error": b"data.amount: must be a number",
        "error.stage": b"collect",
        "correlationId": str(CORRELATION).encode(),
        "packageId": str(PACKAGE).encode(),
    }
    assert letter.object_key() == f"dead-letter/dt=2024-03-05/{CORRELATION}.json"
    body = json.loads(letter.object_body())
    assert body == {
        "correlationId": str(CORRELATION),
        "packageId": str(PACKAGE),
        "stage": "collect",
        "error": "data.amount: must be a number",
        "receivedAt": "2024-03-05T23:59:59.123Z",
        "event": event,
    }


def test_a_stream_dead_letter_names_where_it_was_read() -> None:
    letter = DeadLetter(
        None,
        "unknown magic byte 7",
        "stream",
        CORRELATION,
        PACKAGE,
        MADE,
        source_topic="events.raw",
        source_partition=2,
        source_offset=41,
        raw_value=b"\x07\xff not avro",
    )

    assert letter.value() == b"\x07\xff not avro"  # the bytes exactly as read
    headers = dict(letter.headers())
    assert headers["source.topic"] == b"events.raw"
    assert headers["source.partition"] == b"2"
    assert headers["source.offset"] == b"41"
    body = json.loads(letter.object_body())
    assert body["source"] == {"topic": "events.raw", "partition": 2, "offset": 41}
    assert base64.b64decode(body["valueBase64"]) == b"\x07\xff not avro"


def test_the_same_dead_letter_has_the_same_key() -> None:
    # A second write of it (a replay) overwrites the first.
    assert object_key(date(2024, 1, 2), CORRELATION) == object_key(date(2024, 1, 2), str(CORRELATION))
    assert object_key(date(2024, 1, 2), uuid.UUID(int=1)) != object_key(date(2024, 1, 3), uuid.UUID(int=1))


def test_what_json_cannot_hold_becomes_a_string() -> None:
    # An event the stream decoded may hold a NaN double or Avro bytes: the letter is still JSON.
    event = {"data": {"amount": float("nan"), "big": float("-inf"), "blob": b"\x00\x01"}}
    letter = DeadLetter(event, "data.amount: must be a number", "stream", CORRELATION, PACKAGE, MADE)

    assert json.loads(letter.value()) == {"data": {"amount": "NaN", "big": "-Infinity", "blob": "AAE="}}
    assert json.loads(letter.object_body())["event"]["data"]["amount"] == "NaN"


def test_a_record_too_large_for_kafka_is_cut_and_says_so() -> None:
    event = {"data": {"id": "x" * 5000}}
    letter = DeadLetter(event, "event: too large", "collect", CORRELATION, PACKAGE, MADE)

    whole, headers = letter.record(max_bytes=100_000)
    assert whole == letter.value()
    assert "truncated" not in dict(headers)

    cut, headers = letter.record(max_bytes=3000)
    assert len(cut) < 3000
    assert whole.startswith(cut)
    assert dict(headers)["truncated"] == str(len(whole)).encode()
