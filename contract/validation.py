"""Is a canonical event valid? The registered Avro schema, plus what the sink needs.

Two layers (contract section 3):
- the schema registered in the Schema Registry: every field present or
  defaulted, every value of its Avro type;
- the limits the schema states beyond Avro's types (contract/limits.py):
  a text's `maxLength` and no NUL character in it, an array's or a map's
  `maxItems`, each with a default where the schema states none;
- the rules the PostgreSQL sink needs, that Avro cannot say: UUIDs, an
  ISO-8601 instant with an offset inside the accepted window, a
  non-negative amplitude id.

The window of timestampStamp (contract section 7) is measured against `now`:
the clock at the door, the record's publishTime in the stream, so a replay
decides the same. It also bounds the months, hence the partitions, an event
can create.

Errors name the field by its path in the event (`data.amount`), so a
producer can fix an event in one go: the first MAX_ERRORS_NAMED of them, and
how many more there are, so that an error's text has a bound.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.ids import message_id_uuid
from contract.limits import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, MAX_ERRORS_NAMED, shorten_path

INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)
MAX_ECHO = 60  # characters of a bad value quoted back in an error
# A UUID as sources write it, which uuid.UUID takes. Checked first because a
# match costs a tenth of parsing; any other text is parsed, so the forms
# uuid.UUID also takes (braces, urn:uuid:, no hyphens) are taken as before.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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
        return f"{shorten_path(self.field)}: {self.message}"


def describe(errors: list[FieldError]) -> str:
    """The errors as one text: the first MAX_ERRORS_NAMED, then how many more."""
    text = "; ".join(str(error) for error in errors[:MAX_ERRORS_NAMED])
    if len(errors) > MAX_ERRORS_NAMED:
        text += f"; and {len(errors) - MAX_ERRORS_NAMED} more errors"
    return text


class InvalidEvent(Exception):
    """An event that cannot go to events.raw; its dead letter carries str(self) (bounded: `describe`)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(describe(errors))
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


# --- Layer 1: the Avro schema, and the limits it states (contract/limits.py) ---------
#
# A schema is compiled once into nested checks, one closure per node, so that
# checking an event does no lookups in the schema itself: with 100-event
# packages this was a third of the collector's Python time (decision 19).
# tests/support/schema_walker.py keeps the schema walk this replaced, and
# tests/contract/test_validation.py checks that both name the same errors for
# whatever hypothesis generates.

Check = Callable[[Any, str], list[FieldError]]
_VALID: list[FieldError] = []  # shared; a check never changes the list it gets from another


def schema_errors(value: Any, schema: Any, path: str) -> list[FieldError]:
    """Every way `value` fails the Avro `schema` (parsed JSON, as registered)."""
    return list(compiled(schema)(value, path))


_compiled: dict[int, tuple[Any, Check]] = {}


def compiled(schema: Any) -> Check:
    """The checks of `schema`, compiled on first use and kept while the schema object lives (bounded)."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_compiled) >= 64:  # schemas are few; a caller making new ones for ever is not kept
            _compiled.clear()
        entry = (schema, _compile(schema, {}))
        _compiled[id(schema)] = entry  # the schema is held, so its id is not reused while cached
    return entry[1]


def _compile(schema: Any, named: dict[str, Check]) -> Check:
    if isinstance(schema, str):
        if schema in named:
            return _named(named, schema)
        return _primitive(schema)
    if isinstance(schema, list):
        return _union(schema, named)
    kind = schema.get("type")
    if kind == "record":
        return _record(schema, named)
    if kind == "enum":
        return _enum(schema, named)
    if kind == "array":
        return _array(_compile(schema["items"], named), _limit(schema, "maxItems", DEFAULT_MAX_ITEMS))
    if kind == "map":
        return _map(_compile(schema["values"], named), _limit(schema, "maxItems", DEFAULT_MAX_ITEMS))
    if kind == "fixed":
        named[schema["name"]] = _primitive("bytes")
        return named[schema["name"]]
    if kind == "string":  # {"type": "string", "maxLength": 64}
        return _string(_limit(schema, "maxLength", DEFAULT_MAX_LENGTH))
    return _compile(kind, named)  # {"type": "long"} and logical types


def _limit(schema: dict[str, Any], name: str, default: int) -> int:
    """A limit the schema states (a positive integer), else the default."""
    value = schema.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _named(named: dict[str, Check], name: str) -> Check:
    # Looked up at check time: a record may refer to itself.
    def check(value: Any, path: str) -> list[FieldError]:
        return named[name](value, path)

    return check


def _record(schema: dict[str, Any], named: dict[str, Check]) -> Check:
    fields: list[tuple[str, Check, bool]] = []

    def check(value: Any, path: str) -> list[FieldError]:
        if not isinstance(value, dict):
            return [FieldError(path or "event", f"must be an object, got {type_name(value)}")]
        errors = _VALID
        for name, field_check, has_default in fields:
            field_path = f"{path}.{name}" if path else name
            if name in value:
                found = field_check(value[name], field_path)
                if found:
                    errors = [*errors, *found]
            elif not has_default:
                errors = [*errors, FieldError(field_path, "is required")]
        return errors

    named[schema["name"]] = check
    if "namespace" in schema:
        named[f"{schema['namespace']}.{schema['name']}"] = check
    fields.extend((field["name"], _compile(field["type"], named), "default" in field) for field in schema["fields"])
    return check


def _enum(schema: dict[str, Any], named: dict[str, Check]) -> Check:
    symbols = schema["symbols"]

    def check(value: Any, path: str) -> list[FieldError]:
        if value in symbols:
            return _VALID
        return [FieldError(path, f"must be one of {', '.join(symbols)}, got {echo(value)}")]

    named[schema["name"]] = check
    return check


def _too_many(value: Any, path: str, max_items: int) -> list[FieldError]:
    return [FieldError(path, f"holds {len(value)} entries; at most {max_items} (maxItems)")]


def _array(item_check: Check, max_items: int) -> Check:
    def check(value: Any, path: str) -> list[FieldError]:
        if not isinstance(value, list):
            return [FieldError(path, f"must be an array, got {type_name(value)}")]
        if len(value) > max_items:
            return _too_many(value, path, max_items)
        return [e for i, item in enumerate(value) for e in item_check(item, f"{path}[{i}]")] or _VALID

    return check


def _map(value_check: Check, max_items: int) -> Check:
    def check(value: Any, path: str) -> list[FieldError]:
        if not isinstance(value, dict):
            return [FieldError(path, f"must be an object, got {type_name(value)}")]
        if len(value) > max_items:
            return _too_many(value, path, max_items)
        errors = [e for k, item in value.items() for e in value_check(item, f"{path}.{k}")]
        # A map's keys are texts the sinks store too.
        errors += [
            e for k in value if isinstance(k, str) for e in _text_errors(k, f"{path}.{k} (key)", DEFAULT_MAX_LENGTH)
        ]
        return errors or _VALID

    return check


def _union(branches: list[Any], named: dict[str, Check]) -> Check:
    nullable = "null" in branches
    checks = [_compile(branch, named) for branch in branches if branch != "null"]

    def check(value: Any, path: str) -> list[FieldError]:
        if value is None:
            return _VALID if nullable else [FieldError(path, "is required")]
        attempts = []
        for branch_check in checks:
            errors = branch_check(value, path)
            if not errors:
                return _VALID  # the first branch that takes the value: no need to try the others
            attempts.append(errors)
        # Report the branch the value was closest to (fewest errors), usually the record.
        return min(attempts, key=len) if attempts else [FieldError(path, "must be null")]

    return check


def _primitive(kind: str) -> Check:
    if kind in ("int", "long"):
        low, high = INT32 if kind == "int" else INT64

        def check_integer(value: Any, path: str) -> list[FieldError]:
            if isinstance(value, int) and not isinstance(value, bool):
                if low <= value <= high:
                    return _VALID
                return [FieldError(path, f"is out of range for an Avro {kind}: {value}")]
            return _mismatch(kind, value, path)

        return check_integer
    accepts: Callable[[Any], bool] | None = {
        "null": lambda value: value is None,
        "boolean": lambda value: isinstance(value, bool),
        "float": _is_double,
        "double": _is_double,
        "string": lambda value: isinstance(value, str),
        "bytes": lambda value: isinstance(value, (bytes, str)),
    }.get(kind)
    if accepts is None:

        def unknown(value: Any, path: str) -> list[FieldError]:
            return [FieldError(path, f"has a type this collector does not know: {kind}")]

        return unknown
    if kind == "string":
        return _string(DEFAULT_MAX_LENGTH)

    def check(value: Any, path: str) -> list[FieldError]:
        return _VALID if accepts(value) else _mismatch(kind, value, path)

    return check


def _string(max_length: int) -> Check:
    """A text of at most `max_length` characters, without NUL: the commonest check, so the quickest."""

    def check_string(value: Any, path: str) -> list[FieldError]:
        if isinstance(value, str):
            if len(value) <= max_length and "\x00" not in value and (value.isascii() or _unicode(value)):
                return _VALID
            return _text_errors(value, path, max_length)
        return _mismatch("string", value, path)

    return check_string


def _unicode(text: str) -> bool:
    """Can UTF-8 hold it? Not a lone surrogate, which JSON's \\ud800 escape can spell."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _text_errors(value: str, path: str, max_length: int) -> list[FieldError]:
    errors = []
    if len(value) > max_length:
        errors.append(FieldError(path, f"is {len(value)} characters long; at most {max_length} (maxLength)"))
    if "\x00" in value:
        errors.append(FieldError(path, "must not contain the NUL character (PostgreSQL cannot store it)"))
    if not value.isascii() and not _unicode(value):
        errors.append(FieldError(path, "must be Unicode text (it holds a lone surrogate, which UTF-8 cannot)"))
    return errors


def _is_double(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)


def _mismatch(kind: str, value: Any, path: str) -> list[FieldError]:
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
    if isinstance(message_id, str) and not _CANONICAL_UUID.fullmatch(message_id):
        try:
            message_id_uuid(message_id)
        except ValueError:
            errors.append(FieldError("attributes.messageIdStamp", f"must be a UUID or a ULID, got {echo(message_id)}"))

    for name in ("accountId", "userId"):
        value = context.get(name)
        if isinstance(value, str) and not _CANONICAL_UUID.fullmatch(value):
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
