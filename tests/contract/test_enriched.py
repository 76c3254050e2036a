"""Enrichment, keys and rows: pure functions (contract sections 6 and 7)."""

from __future__ import annotations

import uuid

import pytest

from contract.enriched import correlation_id_of, enrich, iso_millis
from tests.support.factories import canonical_event


def test_enrich_adds_metadata() -> None:
    event = canonical_event(amplitudeTrackStamp={"id": 3})

    enriched = enrich(event, correlation_id="cid", publish_time_ms=1_709_633_555_123, schema_id=7)

    assert enriched["metadata"] == {
        "correlationId": "cid",
        "publishTime": "2024-03-05T10:12:35.123Z",
        "schemaId": 7,
    }
    assert enriched["data"] == event["data"]
    assert enriched["attributes"]["amplitudeTrackStamp"] == {"id": 3, "trackedDevice": None}
    assert enriched["attributes"]["newContextStamp"]["requestPlatform"] is None
    assert list(enriched) == ["data", "attributes", "metadata"]


def test_an_integer_amount_becomes_a_double() -> None:
    event = canonical_event()
    event["data"]["amount"] = 10

    assert enrich(event, correlation_id="c", publish_time_ms=0, schema_id=1)["data"]["amount"] == 10.0


@pytest.mark.parametrize(
    ("millis", "text"),
    [(0, "1970-01-01T00:00:00.000Z"), (1_709_633_555_001, "2024-03-05T10:12:35.001Z")],
)
def test_publish_time_is_iso_utc_with_milliseconds(millis: int, text: str) -> None:
    assert iso_millis(millis) == text


def test_the_correlation_id_comes_from_the_key_else_the_header() -> None:
    value = uuid.uuid4()
    assert correlation_id_of(str(value).encode(), None) == str(value)
    assert correlation_id_of(b"not-a-uuid", str(value).encode()) == str(value)
    with pytest.raises(ValueError, match="no correlationId"):
        correlation_id_of(None, b"nope")
