"""The dead-letter record: its Kafka value and headers, and its line in the lake (pure)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import lake
from contract.dead_letter import (
    CUT,
    ERROR_MAX_BYTES,
    HEADERS_MAX_BYTES,
    DeadLetter,
    DeadLetterTooLarge,
    archive_line,
    jsonable,
)
from contract.ids import event_id, new_package_id

PACKAGE = new_package_id()
CORRELATION = event_id(PACKAGE, 3)
APPENDED_MS = 1_709_683_199_123  # 2024-03-05T23:59:59.123Z, the broker's LogAppendTime


def archived(letter: DeadLetter) -> dict[str, Any]:
    """The letter as the stream archives it: from its Kafka record, through a line of the lake."""
    value, headers = letter.record(2**21)
    document: dict[str, Any] = json.loads(lake.line(archive_line(value, headers, APPENDED_MS)))  # type: ignore[arg-type]
    return document


def test_a_collector_dead_letter_is_the_event_as_received_with_why() -> None:
    event = {"data": {"amount": "lots"}, "attributes": {"type": "ü"}}
    letter = DeadLetter(event, "data.amount: must be a number", "collect", CORRELATION, PACKAGE)

    assert json.loads(letter.value()) == event
    assert "ü" in letter.value().decode()  # as sent, not escaped
    assert dict(letter.headers()) == {
        "error": b"data.amount: must be a number",
        "error.stage": b"collect",
        "correlationId": str(CORRELATION).encode(),
        "packageId": str(PACKAGE).encode(),
    }
    assert archived(letter) == {
        "correlationId": str(CORRELATION),
        "packageId": str(PACKAGE),
        "stage": "collect",
        "error": "data.amount: must be a number",
        "deadLetteredAt": "2024-03-05T23:59:59.123Z",
        "event": event,
    }


def test_a_stream_dead_letter_names_where_it_was_read() -> None:
    letter = DeadLetter(
        None,
        "unknown magic byte 7",
        "stream",
        CORRELATION,
        PACKAGE,
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
    line = archived(letter)
    assert line["source"] == {"topic": "events.raw", "partition": 2, "offset": 41}
    assert line["valueBase64"] == "B/8gbm90IGF2cm8="  # not JSON: kept as its bytes
    assert "event" not in line


def test_what_json_cannot_hold_becomes_a_string() -> None:
    # An event the stream decoded may hold a NaN double or Avro bytes: the letter is still JSON.
    event = {"data": {"amount": float("nan"), "big": float("-inf"), "blob": b"\x00\x01"}}
    letter = DeadLetter(event, "data.amount: must be a number", "stream", CORRELATION, PACKAGE)

    assert json.loads(letter.value()) == {"data": {"amount": "NaN", "big": "-Infinity", "blob": "AAE="}}
    assert archived(letter)["event"]["data"]["amount"] == "NaN"


def test_a_letter_is_never_cut_it_says_it_does_not_fit() -> None:
    letter = DeadLetter({"blob": "x" * 5000}, "too big", "collect", CORRELATION, PACKAGE)

    with pytest.raises(DeadLetterTooLarge):
        letter.record(3000)
    value, _ = letter.record(10_000)
    assert json.loads(value) == {"blob": "x" * 5000}


def test_the_headers_are_bounded_whatever_the_error() -> None:
    error = "; ".join(f"data.field{index}: must be a string, got a number {index}" for index in range(5000))
    letter = DeadLetter({}, error, "stream", CORRELATION, PACKAGE, "t" * 249, 2**31, 2**63 - 1)

    headers = letter.headers()

    named = {name: value if isinstance(value, bytes) else str(value).encode() for name, value in headers}
    assert sum(len(name) + len(value) for name, value in named.items()) <= HEADERS_MAX_BYTES
    assert len(named["error"]) <= ERROR_MAX_BYTES
    assert named["error"].endswith(CUT.encode())
    assert named["error"].startswith(b"data.field0: must be a string")


def test_a_letter_kept_in_the_lake_says_where() -> None:
    letter = DeadLetter(
        {"data": "x" * 100},
        "too big",
        "stream",
        CORRELATION,
        PACKAGE,
        "events.raw",
        0,
        7,
        value_location="dead-letter-values/events.raw+0+7",
        value_bytes=120,
    )

    value, headers = letter.record(10_000)

    assert value == b""
    line = archive_line(value, headers, APPENDED_MS)  # type: ignore[arg-type]
    assert line["valueLocation"] == "dead-letter-values/events.raw+0+7"
    assert line["valueBytes"] == 120
    assert "event" not in line
    assert "valueBase64" not in line


def test_a_lone_surrogate_is_kept_as_json_escapes_it() -> None:
    event = json.loads('{"data": {"id": "a\\ud800b"}}')  # valid JSON text; not valid Unicode once read
    letter = DeadLetter(event, "data.id: not Unicode", "collect", CORRELATION, PACKAGE)

    value = letter.value()

    assert b"\\ud800" in value
    assert json.loads(value) == event


def test_a_timestamp_outside_the_calendar_still_makes_a_line() -> None:
    line = archive_line(b"{}", [], -(2**62))

    assert line["deadLetteredAt"] == -(2**62)


@given(
    value=st.one_of(st.none(), st.binary(max_size=200)),
    headers=st.lists(st.tuples(st.text(max_size=20), st.one_of(st.none(), st.binary(max_size=40))), max_size=8),
)
def test_any_record_of_the_topic_makes_a_line(value: bytes | None, headers: list[tuple[str, bytes | None]]) -> None:
    # Anyone may write to the dead-letter topic: whatever it holds, the archive writes a line and keeps the bytes.
    line = json.loads(lake.line(archive_line(value, headers, APPENDED_MS)))

    kept = line.get("valueBase64")
    if kept is None:
        assert jsonable(json.loads(value or b"")) == line["event"]  # JSON: kept as JSON (NaN named)
    else:
        assert base64.b64decode(kept) == (value or b"")
