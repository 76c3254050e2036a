"""Events in every spelling the source uses, for the collector's tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

NAMESPACE_SHARED = "Holded\\Shared\\Infrastructure\\Messenger\\Stamp\\"
NAMESPACE_CORE = "Holded\\Core\\Messaging\\Messenger\\Stamp\\"
PREFIX = "X-Message-Stamp-"
NEW_CONTEXT = f"{PREFIX}{NAMESPACE_SHARED}NewContextStamp"
TIMESTAMP = f"{PREFIX}{NAMESPACE_CORE}TimestampStamp"
MESSAGE_ID = f"{PREFIX}{NAMESPACE_CORE}MessageIdStamp"
AMPLITUDE = f"{PREFIX}{NAMESPACE_SHARED}AmplitudeTrackStamp"

ACCOUNT_ID = "5b0e6d3c-9f1a-4c55-8d5e-0a7f3f1b2c44"
USER_ID = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
DISPATCHED_AT = "2024-03-05T10:12:35+00:00"


def brief_event(**overrides: Any) -> dict[str, Any]:
    """The brief's spelling: `attributes`, stamps as plain values and objects."""
    attributes: dict[str, Any] = {
        "type": "invoice.created",
        "targetSubscription": "accounting",
        NEW_CONTEXT: {"accountId": ACCOUNT_ID, "userId": USER_ID, "requestPlatform": "web"},
        TIMESTAMP: DISPATCHED_AT,
        MESSAGE_ID: str(uuid.uuid4()),
        AMPLITUDE: {"id": 42, "trackedDevice": "ios"},
    }
    attributes.update(overrides.pop("attributes", {}))
    event: dict[str, Any] = {"data": {"id": "inv-1", "amount": 120.5}, "attributes": attributes}
    event.update(overrides)
    return event


def messenger_event(message_id: str | None = None) -> dict[str, Any]:
    """Symfony Messenger's serializer: `headers`, each stamp a JSON-encoded list of stamp objects."""
    return {
        "data": {"id": "inv-2", "amount": 10},
        "headers": {
            "type": "invoice.paid",
            "targetSubscription": "billing",
            NEW_CONTEXT: json.dumps([{"accountId": ACCOUNT_ID, "userId": USER_ID}]),
            TIMESTAMP: json.dumps([{"dispatchedAt": "2024-01-01T00:00:00+00:00"}, {"dispatchedAt": DISPATCHED_AT}]),
            MESSAGE_ID: json.dumps([{"id": message_id or str(uuid.uuid4())}]),
        },
    }


def canonical_event(**attribute_overrides: Any) -> dict[str, Any]:
    """An event already in canonical form, valid."""
    attributes: dict[str, Any] = {
        "timestampStamp": DISPATCHED_AT,
        "messageIdStamp": str(uuid.uuid4()),
        "type": "invoice.created",
        "targetSubscription": "accounting",
        "newContextStamp": {"accountId": ACCOUNT_ID, "userId": USER_ID, "requestPlatform": None},
        "amplitudeTrackStamp": None,
    }
    attributes.update(attribute_overrides)
    return {"data": {"id": "inv-1", "amount": 1.25}, "attributes": attributes}
