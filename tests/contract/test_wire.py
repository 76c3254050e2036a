"""Confluent's wire format, written and read with fastavro."""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import pytest

from contract import wire
from tests.support.factories import canonical_event

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = fastavro.parse_schema(json.loads((ROOT / "schemas" / "events.raw-value.avsc").read_text()))


def test_a_record_round_trips_with_its_schema_id() -> None:
    event = canonical_event(amplitudeTrackStamp={"id": 9, "trackedDevice": None})

    value = wire.encode(1234, SCHEMA, event)

    assert value[:5] == b"\x00\x00\x00\x04\xd2"
    assert wire.schema_id_of(value) == 1234
    assert wire.decode(value, SCHEMA) == event


@pytest.mark.parametrize(
    ("value", "message"),
    [(b"", "at least 5 bytes"), (b"\x00\x00", "at least 5 bytes"), (b"\x01\x00\x00\x00\x01x", "magic byte 1")],
)
def test_what_is_not_the_wire_format_is_named(value: bytes, message: str) -> None:
    with pytest.raises(wire.WireFormatError, match=message):
        wire.schema_id_of(value)
