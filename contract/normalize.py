"""The source's spellings of an event -> the canonical event (contract section 2).

The source is a Symfony Messenger system. Its stamps travel under
`attributes` (the brief) or `headers` (the sample data), as headers named
`X-Message-Stamp-<PHP class>`, and each may arrive as a plain value, as an
object, or as Messenger's own serialization: a JSON-encoded string holding a
list of stamp objects, of which the last one counts (as in Messenger).

Canonical names are those of the enriched format: timestampStamp,
messageIdStamp, type, targetSubscription, newContextStamp, amplitudeTrackStamp.
Avro field names cannot hold `\\` or `-`, so this runs before serialization.
Whatever cannot be normalized is left out, for validation to name it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from contract.validation import FieldError, InvalidEvent, type_name

# A stamp header is recognized by its class's short name (after the last
# backslash), so a namespace or an extra level of escaping does not matter.
STAMPS = {
    "TimestampStamp": "timestampStamp",
    "MessageIdStamp": "messageIdStamp",
    "NewContextStamp": "newContextStamp",
    "AmplitudeTrackStamp": "amplitudeTrackStamp",
}
PLAIN_ATTRIBUTES = ("type", "targetSubscription")
CANONICAL_NAMES = frozenset(STAMPS.values()) | frozenset(PLAIN_ATTRIBUTES)

# The field that holds a stamp's value when the stamp arrives as an object.
STAMP_VALUE_FIELDS = {"timestampStamp": "dispatchedAt", "messageIdStamp": "id"}

STAMP_HEADER_PREFIX = "X-Message-Stamp-"


# Header names kept in canonical_name's cache: at most this many, each at most this long. A source uses a
# few names again and again; a hostile one sends new ones, long ones: they are looked at, never kept.
NAMES_CACHED = 4096
NAME_CACHED_MAX_LENGTH = 256


def canonical_name(header: str) -> str | None:
    """The canonical attribute name of a header, or None for one we do not use."""
    if len(header) > NAME_CACHED_MAX_LENGTH:
        return _canonical_name(header)
    return _cached_canonical_name(header)


@lru_cache(maxsize=NAMES_CACHED)
def _cached_canonical_name(header: str) -> str | None:
    return _canonical_name(header)


def _canonical_name(header: str) -> str | None:
    if header in CANONICAL_NAMES:
        return header
    if header.startswith(STAMP_HEADER_PREFIX) or "\\" in header or "/" in header:
        short = header.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]
        short = short.removeprefix(STAMP_HEADER_PREFIX)
        return STAMPS.get(short)
    return None


def unwrap_stamp(value: Any) -> Any:
    """Messenger's JSON-encoded list of stamps -> the last stamp; other values as they are."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return value  # not JSON after all (or absurdly nested): validation reports the plain string
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def stamp_value(name: str, value: Any) -> Any:
    value = unwrap_stamp(value)
    field = STAMP_VALUE_FIELDS.get(name)
    if field is not None and isinstance(value, dict):
        return value.get(field)
    return value


CONTAINERS = ("headers", "attributes")  # where the stamps are; attributes (the brief's spelling) wins


def shape_errors(raw: Any) -> list[FieldError]:
    """What is wrong with the shape of one event as received: it is an object, and its stamps, if any, are in
    `attributes` or `headers` objects. `data` is the registered schema's to judge, with the rest
    (contract/validation.py), so that its errors are named with the event's others."""
    if not isinstance(raw, dict):
        return [FieldError("event", f"must be a JSON object, got {type_name(raw)}")]
    errors = []
    for key in CONTAINERS:
        value = raw.get(key)
        if value is not None and not isinstance(value, dict):
            errors.append(FieldError(key, f"must be a JSON object, got {type_name(value)}"))
    return errors


def normalize_event(raw: Any) -> dict[str, Any]:
    """The canonical form of one event as received; raises InvalidEvent if its shape is not one."""
    errors = shape_errors(raw)
    if errors:
        raise InvalidEvent(errors)
    return normalize_shaped(raw)


def normalize_shaped(raw: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of an event whose shape was checked (shape_errors found nothing)."""
    container: dict[str, Any] = {}
    for key in CONTAINERS:
        value = raw.get(key)
        if value is not None:
            container.update(value)

    attributes: dict[str, Any] = {}
    for header, value in container.items():
        name = canonical_name(header)
        if name is None:
            continue
        attributes[name] = stamp_value(name, value) if name in STAMPS.values() else value

    event: dict[str, Any] = {"attributes": attributes}
    if "data" in raw:
        event["data"] = raw["data"]
    return event
