"""Is a canonical event valid? The registered Avro schema, plus what the sink needs.

Two layers (contract section 3):
- the schema registered in the Schema Registry: every field present or
  defaulted, every value of its Avro type;
- the rules the PostgreSQL sink needs, that Avro cannot say: UUIDs, an
  ISO-8601 instant with an offset inside the accepted window, a
  non-negative amplitude id, no NUL character in any text.

The window of timestampStamp (contract section 7) is measured against `now`:
the clock at the door, the record's publishTime in the stream, so a replay
decides the same. It also bounds the months, hence the partitions, an event
can create.

Errors name the field by its path in the event (`data.amount`), all of them,
so a producer can fix an event in one go.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.ids import message_id_uuid

INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)
MAX_ECHO = 60  # characters of a bad value quoted back in an error


@dataclass(frozen=True)
class TimestampWindow:
    """Where timestampStamp may lie: not before `earliest`, at most `max_ahead` past now."""

    earliest: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_ahead: timedelta = timedelta(days=1)

    @classmethod
    def from_settings(cls, settings: Any) -> TimestampWindow:
        """From EVENTS_EARLIEST_TIMESTAMP and EVENTS_MAX_SECONDS_AHEAD (any object with those attributes)."""
        return cls(settings.EVENTS_EARLIEST_TIMESTAMP, timedelta(seconds=settings.EVENTS_MAX_SECONDS_AHEAD))


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidEvent(Exception):
    """An event that cannot go to events.raw; its dead letter carries str(self)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def echo(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


# --- Layer 1: the Avro schema ------------------------------------------------


def schema_errors(value: Any, schema: Any, path: str, named: dict[str, Any] | None = None) -> list[FieldError]:
    """Every way `value` fails the Avro `schema` (parsed JSON, as registered)."""
    named = {} if named is None else named
    if isinstance(schema, str):
        if schema in named:
            return schema_errors(value, named[schema], path, named)
        return _primitive_errors(value, schema, path)
    if isinstance(schema, list):
        return _union_errors(value, schema, path, named)
    kind = schema.get("type")
    if kind == "record":
        named[schema["name"]] = schema
        if "namespace" in schema:
            named[f"{schema['namespace']}.{schema['name']}"] = schema
        return _record_errors(value, schema, path, named)
    if kind == "enum":
        named[schema["name"]] = schema
        if value not in schema["symbols"]:
            return [FieldError(path, f"must be one of {', '.join(schema['symbols'])}, got {echo(value)}")]
        return []
    if kind == "array":
        if not isinstance(value, list):
            return [FieldError(path, f"must be an array, got {type_name(value)}")]
        return [e for i, item in enumerate(value) for e in schema_errors(item, schema["items"], f"{path}[{i}]", named)]
    if kind == "map":
        if not isinstance(value, dict):
            return [FieldError(path, f"must be an object, got {type_name(value)}")]
        return [e for k, item in value.items() for e in schema_errors(item, schema["values"], f"{path}.{k}", named)]
    if kind == "fixed":
        named[schema["name"]] = schema
        return _primitive_errors(value, "bytes", path)
    return schema_errors(value, kind, path, named)  # {"type": "string"} and logical types


def _record_errors(value: Any, schema: dict[str, Any], path: str, named: dict[str, Any]) -> list[FieldError]:
    if not isinstance(value, dict):
        return [FieldError(path or "event", f"must be an object, got {type_name(value)}")]
    errors = []
    for field in schema["fields"]:
        name = field["name"]
        field_path = f"{path}.{name}" if path else name
        if name in value:
            errors.extend(schema_errors(value[name], field["type"], field_path, named))
        elif "default" not in field:
            errors.append(FieldError(field_path, "is required"))
    return errors


def _union_errors(value: Any, branches: list[Any], path: str, named: dict[str, Any]) -> list[FieldError]:
    if value is None:
        if "null" in branches:
            return []
        return [FieldError(path, "is required")]
    attempts = []
    for branch in branches:
        if branch == "null":
            continue
        errors = schema_errors(value, branch, path, named)
        if not errors:
            return []  # the first branch that takes the value: no need to try the others
        attempts.append(errors)
    # Report the branch the value was closest to (fewest errors), usually the record.
    return min(attempts, key=len) if attempts else [FieldError(path, "must be null")]


def _primitive_errors(value: Any, kind: str, path: str) -> list[FieldError]:
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        low, high = INT32 if kind == "int" else INT64
        if isinstance(value, int) and not isinstance(value, bool):
            if low <= value <= high:
                return []
            return [FieldError(path, f"is out of range for an Avro {kind}: {value}")]
        ok = False
    elif kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)
    elif kind == "string":
        ok = isinstance(value, str)
    elif kind == "bytes":
        ok = isinstance(value, (bytes, str))
    else:
        return [FieldError(path, f"has a type this collector does not know: {kind}")]
    if ok:
        return []
    expected = {"null": "null", "boolean": "a boolean", "int": "an integer", "long": "an integer"}.get(
        kind, "a number" if kind in ("float", "double") else f"a {kind}"
    )
    return [FieldError(path, f"must be {expected}, got {type_name(value)} {echo(value)}")]


def _finite(number: int | float) -> bool:
    """A finite number that a double holds (a 400-digit integer is neither)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


# --- Layer 2: what the PostgreSQL sink needs ----------------------------------


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every text in `value` (keys included), with its path; without recursion, whatever the depth."""
    pending = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                yield child_path, str(key)
                pending.append((child, child_path))
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{index}]") for index, child in enumerate(item))


def _instant_errors(timestamp: str, now: datetime, window: TimestampWindow) -> list[FieldError]:
    field = "attributes.timestampStamp"
    try:
        instant = datetime.fromisoformat(timestamp)
    except ValueError:
        return [FieldError(field, f"must be an ISO-8601 instant, got {echo(timestamp)}")]
    if instant.tzinfo is None:
        return [FieldError(field, f"must carry an offset (Z or +hh:mm), got {echo(timestamp)}")]
    try:
        instant = instant.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return [FieldError(field, f"is outside the calendar once in UTC, got {echo(timestamp)}")]
    if instant < window.earliest:
        return [FieldError(field, f"must not be before {window.earliest.isoformat()}, got {echo(timestamp)}")]
    latest = now.astimezone(UTC) + window.max_ahead
    if instant > latest:
        ahead = f"{window.max_ahead.total_seconds():g}s"
        return [FieldError(field, f"must be at most {ahead} ahead of {now.isoformat()}, got {echo(timestamp)}")]
    return []


def sink_errors(
    event: dict[str, Any], *, now: datetime | None = None, window: TimestampWindow = TimestampWindow()
) -> list[FieldError]:
    """Rules beyond Avro's types, on an event that passed the schema.

    A rule applies to a field the registered schema has; should a later
    version drop one, its rule stops applying rather than failing.
    """
    attributes = event.get("attributes", {})
    context = attributes.get("newContextStamp") or {}
    amplitude = attributes.get("amplitudeTrackStamp") or {}
    errors = []

    timestamp = attributes.get("timestampStamp")
    if isinstance(timestamp, str):
        errors.extend(_instant_errors(timestamp, now or datetime.now(UTC), window))

    message_id = attributes.get("messageIdStamp")
    if isinstance(message_id, str):
        try:
            message_id_uuid(message_id)
        except ValueError:
            errors.append(FieldError("attributes.messageIdStamp", f"must be a UUID or a ULID, got {echo(message_id)}"))

    for name in ("accountId", "userId"):
        value = context.get(name)
        if isinstance(value, str):
            try:
                uuid.UUID(value)
            except ValueError:
                errors.append(FieldError(f"attributes.newContextStamp.{name}", f"must be a UUID, got {echo(value)}"))

    amplitude_id = amplitude.get("id")
    if isinstance(amplitude_id, int) and amplitude_id < 0:
        errors.append(FieldError("attributes.amplitudeTrackStamp.id", f"must be >= 0, got {amplitude_id}"))

    for name in ("type", "targetSubscription"):
        value = attributes.get(name)
        if isinstance(value, str) and not value.strip():
            errors.append(FieldError(f"attributes.{name}", "must not be empty"))

    for path, text in _strings(event, ""):
        if "\x00" in text:
            errors.append(FieldError(path, "must not contain the NUL character (PostgreSQL cannot store it)"))
    return errors


def validate_event(
    event: dict[str, Any],
    schema: dict[str, Any],
    *,
    now: datetime | None = None,
    window: TimestampWindow = TimestampWindow(),
) -> None:
    """Raise InvalidEvent naming every problem of a canonical event, or return.

    `now` is when the event is judged (default: the clock) for the timestamp window.
    """
    errors = schema_errors(event, schema, "")
    if not errors:
        errors = sink_errors(event, now=now, window=window)
    if errors:
        raise InvalidEvent(errors)
