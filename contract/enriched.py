"""The enriched event (contract section 6), made from a decoded one. Pure functions (its object: contract/lake.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contract.ids import uuid_text


def iso_millis(epoch_millis: int) -> str:
    """ISO-8601 UTC with milliseconds: 2024-03-05T10:12:35.123Z."""
    moment = datetime.fromtimestamp(epoch_millis / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def correlation_id_of(key: bytes | None, header: bytes | None) -> str:
    """The record's correlationId: its key, else its correlationId header; a UUID either way."""
    for candidate in (key, header):
        if candidate:
            try:
                return uuid_text(candidate.decode())
            except (ValueError, UnicodeDecodeError):
                continue
    raise ValueError("the record has no correlationId (neither its key nor its header is a UUID)")


def enrich(event: dict[str, Any], *, correlation_id: str, publish_time_ms: int, schema_id: int) -> dict[str, Any]:
    attributes = event["attributes"]
    context = attributes["newContextStamp"]
    amplitude = attributes.get("amplitudeTrackStamp")
    return {
        "data": {"id": event["data"]["id"], "amount": float(event["data"]["amount"])},
        "attributes": {
            "timestampStamp": attributes["timestampStamp"],
            "messageIdStamp": attributes["messageIdStamp"],
            "type": attributes["type"],
            "targetSubscription": attributes["targetSubscription"],
            "newContextStamp": {
                "accountId": context["accountId"],
                "userId": context["userId"],
                "requestPlatform": context.get("requestPlatform"),
            },
            "amplitudeTrackStamp": None
            if amplitude is None
            else {"id": amplitude["id"], "trackedDevice": amplitude.get("trackedDevice")},
        },
        "metadata": {
            "correlationId": correlation_id,
            "publishTime": iso_millis(publish_time_ms),
            "schemaId": schema_id,
        },
    }


def timestamp_of(enriched: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(enriched["attributes"]["timestampStamp"])
