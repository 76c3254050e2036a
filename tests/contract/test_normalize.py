"""The source's spellings -> canonical events (contract section 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.normalize import NAME_CACHED_MAX_LENGTH, _cached_canonical_name, canonical_name, normalize_event
from contract.validation import InvalidEvent
from tests.support.factories import (
    ACCOUNT_ID,
    AMPLITUDE,
    DISPATCHED_AT,
    MESSAGE_ID,
    NEW_CONTEXT,
    TIMESTAMP,
    USER_ID,
    brief_event,
    messenger_event,
)


def test_the_briefs_spelling() -> None:
    event = brief_event()

    normalized = normalize_event(event)

    assert normalized["data"] == {"id": "inv-1", "amount": 120.5}
    assert normalized["attributes"] == {
        "type": "invoice.created",
        "targetSubscription": "accounting",
        "newContextStamp": {"accountId": ACCOUNT_ID, "userId": USER_ID, "requestPlatform": "web"},
        "timestampStamp": DISPATCHED_AT,
        "messageIdStamp": event["attributes"][MESSAGE_ID],
        "amplitudeTrackStamp": {"id": 42, "trackedDevice": "ios"},
    }


def test_messengers_json_encoded_stamp_lists_take_the_last_stamp() -> None:
    normalized = normalize_event(messenger_event(message_id="m-1"))

    attributes = normalized["attributes"]
    assert attributes["timestampStamp"] == DISPATCHED_AT  # the last of two
    assert attributes["messageIdStamp"] == "m-1"
    assert attributes["newContextStamp"] == {"accountId": ACCOUNT_ID, "userId": USER_ID}
    assert "amplitudeTrackStamp" not in attributes


def test_stamps_as_objects_under_headers() -> None:
    event = {
        "data": {"id": "x", "amount": 1},
        "headers": {
            TIMESTAMP: {"dispatchedAt": DISPATCHED_AT},
            MESSAGE_ID: {"id": "m-2"},
            AMPLITUDE: [{"id": 7}],
        },
    }

    attributes = normalize_event(event)["attributes"]

    assert attributes["timestampStamp"] == DISPATCHED_AT
    assert attributes["messageIdStamp"] == "m-2"
    assert attributes["amplitudeTrackStamp"] == {"id": 7}


@pytest.mark.parametrize(
    "header",
    [
        "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\TimestampStamp",
        "X-Message-Stamp-Other\\Namespace\\TimestampStamp",  # another namespace
        "X-Message-Stamp-Holded\\\\Core\\\\Messaging\\\\TimestampStamp",  # escaped twice
        "X-Message-Stamp-Holded/Core/TimestampStamp",  # slashes
        "X-Message-Stamp-TimestampStamp",  # no namespace at all
        "timestampStamp",  # already canonical
    ],
)
def test_a_stamp_header_is_recognized_by_its_short_class_name(header: str) -> None:
    assert canonical_name(header) == "timestampStamp"


@pytest.mark.parametrize("header", ["X-Message-Stamp-Holded\\Stamp\\UnknownStamp", "Content-Type", "bus"])
def test_other_headers_are_ignored(header: str) -> None:
    assert canonical_name(header) is None


def test_attributes_win_over_headers() -> None:
    event = brief_event()
    event["headers"] = {"type": "from.headers", "targetSubscription": "other"}

    attributes = normalize_event(event)["attributes"]

    assert attributes["type"] == "invoice.created"


def test_a_stamp_string_that_is_not_json_stays_a_string() -> None:
    event = brief_event(attributes={TIMESTAMP: "[not json"})

    assert normalize_event(event)["attributes"]["timestampStamp"] == "[not json"


def test_an_empty_stamp_list_is_a_missing_stamp() -> None:
    event = brief_event(attributes={NEW_CONTEXT: "[]"})

    assert normalize_event(event)["attributes"]["newContextStamp"] is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (5, "event: must be a JSON object, got a number"),
        ("text", "event: must be a JSON object, got a string"),
        (None, "event: must be a JSON object, got null"),
        ([1], "event: must be a JSON object, got an array"),
        ({"data": {}, "attributes": "x"}, "attributes: must be a JSON object, got a string"),
        ({"data": {}, "headers": [1]}, "headers: must be a JSON object, got an array"),
    ],
)
def test_broken_shapes_are_named(event: Any, message: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        normalize_event(event)
    assert str(raised.value) == message


def test_normalization_does_not_change_the_received_event() -> None:
    event = messenger_event()
    before = json.dumps(event, sort_keys=True)

    normalize_event(event)

    assert json.dumps(event, sort_keys=True) == before


def test_a_long_header_name_is_looked_at_but_never_kept() -> None:
    # The names' cache holds a few thousand short names; a hostile client's megabyte names would fill memory.
    kept = _cached_canonical_name.cache_info().currsize
    for index in range(100):
        assert canonical_name(f"{index}" + "x" * NAME_CACHED_MAX_LENGTH + "\\TimestampStamp") == "timestampStamp"

    assert _cached_canonical_name.cache_info().currsize == kept
