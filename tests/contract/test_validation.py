"""Validation: the registered schema's rules and the sink's, with errors that name the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.limits import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, INDEXED_TEXT_MAX_LENGTH, MAX_ERRORS_NAMED
from contract.validation import InvalidEvent, TimestampWindow, schema_errors, validate_event
from tests.support.factories import canonical_event
from tests.support.schema_walker import walker_errors

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "events.raw-value.avsc").read_text())


def errors_of(event: dict[str, Any]) -> str:
    with pytest.raises(InvalidEvent) as raised:
        validate_event(event, SCHEMA)
    return str(raised.value)


def test_a_valid_event_passes() -> None:
    validate_event(canonical_event(), SCHEMA)


def test_optional_stamps_may_be_absent() -> None:
    event = canonical_event()
    del event["attributes"]["amplitudeTrackStamp"]
    del event["attributes"]["newContextStamp"]["requestPlatform"]

    validate_event(event, SCHEMA)


def test_every_missing_field_is_named() -> None:
    event: dict[str, Any] = {"data": {"id": "x"}, "attributes": {"type": "t"}}

    message = errors_of(event)

    assert message == (
        "data.amount: is required; attributes.timestampStamp: is required; "
        "attributes.messageIdStamp: is required; attributes.targetSubscription: is required; "
        "attributes.newContextStamp: is required"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"data": {"id": "x", "amount": "12"}}, "data.amount: must be a number, got a string '12'"),
        ({"data": {"id": "x", "amount": True}}, "data.amount: must be a number, got a boolean True"),
        ({"data": {"id": "x", "amount": float("nan")}}, "data.amount: must be a number, got a number nan"),
        ({"data": {"id": 7, "amount": 1}}, "data.id: must be a string, got a number 7"),
        ({"data": [1]}, "data: must be an object, got an array"),
    ],
)
def test_avro_types_are_enforced(change: dict[str, Any], expected: str) -> None:
    event = canonical_event()
    event.update(change)

    assert errors_of(event) == expected


def test_the_amplitude_id_is_a_non_negative_long() -> None:
    assert (
        errors_of(canonical_event(amplitudeTrackStamp={"id": -1}))
        == "attributes.amplitudeTrackStamp.id: must be >= 0, got -1"
    )
    assert errors_of(canonical_event(amplitudeTrackStamp={"id": 2**63})).startswith(
        "attributes.amplitudeTrackStamp.id: is out of range for an Avro long"
    )
    assert errors_of(canonical_event(amplitudeTrackStamp={"id": "7"})) == (
        "attributes.amplitudeTrackStamp.id: must be an integer, got a string '7'"
    )
    validate_event(canonical_event(amplitudeTrackStamp={"id": 0, "trackedDevice": None}), SCHEMA)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("messageIdStamp", "not-a-uuid", "attributes.messageIdStamp: must be a UUID or a ULID, got 'not-a-uuid'"),
        ("timestampStamp", "yesterday", "attributes.timestampStamp: must be an ISO-8601 instant, got 'yesterday'"),
        (
            "timestampStamp",
            "2024-03-05T10:12:35",
            "attributes.timestampStamp: must carry an offset (Z or +hh:mm), got '2024-03-05T10:12:35'",
        ),
        ("type", "  ", "attributes.type: must not be empty"),
        ("targetSubscription", "", "attributes.targetSubscription: must not be empty"),
    ],
)
def test_the_sinks_rules(field: str, value: str, expected: str) -> None:
    assert errors_of(canonical_event(**{field: value})) == expected


def test_account_and_user_must_be_uuids() -> None:
    event = canonical_event(newContextStamp={"accountId": "acc-1", "userId": "usr-1"})

    assert errors_of(event) == (
        "attributes.newContextStamp.accountId: must be a UUID, got 'acc-1'; "
        "attributes.newContextStamp.userId: must be a UUID, got 'usr-1'"
    )


@pytest.mark.parametrize(
    "timestamp", ["2024-03-05T10:12:35Z", "2024-03-05T10:12:35.123+02:00", "2024-03-05 10:12:35-05:00"]
)
def test_instants_with_an_offset_pass(timestamp: str) -> None:
    validate_event(canonical_event(timestampStamp=timestamp), SCHEMA)


def test_a_ulid_message_id_passes() -> None:
    validate_event(canonical_event(messageIdStamp="01ARZ3NDEKTSV4RRFFQ69G5FAV"), SCHEMA)


def test_a_long_bad_value_is_shortened_in_the_error() -> None:
    message = errors_of(canonical_event(messageIdStamp="x" * 64))

    assert len(message) < 140
    assert message.endswith("...")


def test_a_schema_with_a_new_optional_field_is_followed() -> None:
    # The collector validates against whatever version is registered: a new
    # field with a default may be absent, and is checked when present.
    schema = json.loads(json.dumps(SCHEMA))
    schema["fields"][0]["type"]["fields"].append({"name": "currency", "type": ["null", "string"], "default": None})
    event = canonical_event()
    assert schema_errors(event, schema, "") == []
    event["data"]["currency"] = 5
    assert [str(error) for error in schema_errors(event, schema, "")] == [
        "data.currency: must be a string, got a number 5"
    ]


# --- Hostile values: each a clear error, never an exception --------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("0001-01-01T00:00:00+01:00", "is outside the calendar once in UTC"),
        ("9999-12-31T23:59:59-01:00", "is outside the calendar once in UTC"),
        ("1999-12-31T23:59:59+00:00", "must not be before 2000-01-01T00:00:00+00:00"),
        ("2999-01-01T00:00:00+00:00", "must be at most 86400s ahead of"),
    ],
)
def test_a_timestamp_outside_the_window_is_refused(timestamp: str, expected: str) -> None:
    assert expected in errors_of(canonical_event(timestampStamp=timestamp))


def test_the_window_is_measured_against_the_given_instant() -> None:
    # The stream judges against the record's publishTime: a replay years later decides the same.
    event = canonical_event(timestampStamp="2024-03-05T10:12:35+00:00")
    published = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)

    validate_event(event, SCHEMA, now=published)  # 12 minutes ahead: within a day
    with pytest.raises(InvalidEvent, match="ahead of"):
        validate_event(event, SCHEMA, now=published, window=TimestampWindow(max_ahead=timedelta(minutes=5)))


def test_a_number_too_large_for_a_double_is_refused() -> None:
    event = canonical_event()
    event["data"]["amount"] = 10**400

    assert "data.amount: must be a number" in errors_of(event)


def test_a_nul_character_anywhere_is_refused_naming_where() -> None:
    event = canonical_event(type="invoice\x00created")
    event["data"]["id"] = "a\x00b"

    message = errors_of(event)

    assert "attributes.type: must not contain the NUL character" in message
    assert "data.id: must not contain the NUL character" in message


def test_a_nul_written_out_as_text_is_not_a_nul() -> None:
    event = canonical_event()
    event["data"]["id"] = "\\u0000 is how JSON escapes it"  # a backslash, then u0000: six characters

    validate_event(event, SCHEMA)


def test_a_nul_beside_what_orjson_cannot_write_is_still_found() -> None:
    event = canonical_event()
    event["data"]["id"] = "a\x00b"
    event["data"]["big"] = 10**30  # beyond 64 bits

    assert [error.field for error in schema_errors(event, SCHEMA, "")] == ["data.id"]


def test_a_lone_surrogate_is_refused_naming_the_field() -> None:
    event = canonical_event()
    event["data"]["id"] = json.loads('"a\\ud800b"')  # JSON spells it; UTF-8 cannot hold it

    assert errors_of(event) == "data.id: must be Unicode text (it holds a lone surrogate, which UTF-8 cannot)"


def test_a_nul_in_what_the_schema_does_not_carry_is_left_alone() -> None:
    # Only what the schema has reaches Kafka and the sinks; a key it does not name is dropped when encoded.
    event = canonical_event()
    event["data"]["note\x00"] = "a\x00b"

    validate_event(event, SCHEMA)


# --- Limits the schema states (contract/limits.py) ---------------------------------


def test_a_text_past_its_max_length_is_refused_naming_the_limit() -> None:
    assert (
        errors_of(canonical_event(type="t" * 256)) == "attributes.type: is 256 characters long; at most 255 (maxLength)"
    )
    validate_event(canonical_event(type="\U0001f600" * 255), SCHEMA)  # characters, not bytes


def test_every_text_of_the_contract_states_its_limit_and_indexed_ones_fit_a_btree_entry() -> None:
    for name in ("events.raw-value.avsc", "events.enriched-value.avsc"):
        schema = json.loads((ROOT / "schemas" / name).read_text())
        limits = dict(text_limits(schema, ""))
        assert limits, name
        assert all(limit is not None for limit in limits.values()), f"{name}: a text without maxLength: {limits}"
        assert (limits["attributes.type"] or 0) <= INDEXED_TEXT_MAX_LENGTH  # events_type_idx


def text_limits(schema: Any, path: str) -> list[tuple[str, int | None]]:
    """(path, maxLength) of every text in a schema of records, unions and strings."""
    if isinstance(schema, list):
        return [found for branch in schema for found in text_limits(branch, path)]
    if schema == "string":
        return [(path, None)]
    if isinstance(schema, dict) and schema.get("type") == "record":
        return [
            found
            for field in schema["fields"]
            for found in text_limits(field["type"], f"{path}.{field['name']}" if path else field["name"])
        ]
    if isinstance(schema, dict) and schema.get("type") == "string":
        return [(path, schema.get("maxLength"))]
    return []


def test_a_text_without_a_stated_limit_gets_the_default() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "note", "type": "string"}]}

    assert [str(e) for e in schema_errors({"note": "n" * (DEFAULT_MAX_LENGTH + 1)}, schema, "")] == [
        f"note: is {DEFAULT_MAX_LENGTH + 1} characters long; at most {DEFAULT_MAX_LENGTH} (maxLength)"
    ]


def test_arrays_and_maps_hold_at_most_their_max_items() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "tags", "type": {"type": "array", "items": "string", "maxItems": 3}},
            {"name": "extra", "type": {"type": "map", "values": "long"}},
        ],
    }
    event = {"tags": ["a", "b", "c", "d"], "extra": {str(i): i for i in range(DEFAULT_MAX_ITEMS + 1)}}

    assert [str(e) for e in schema_errors(event, schema, "")] == [
        "tags: holds 4 entries; at most 3 (maxItems)",
        f"extra: holds {DEFAULT_MAX_ITEMS + 1} entries; at most {DEFAULT_MAX_ITEMS} (maxItems)",
    ]
    assert [str(e) for e in schema_errors({"tags": [], "extra": {"k\x00": 1}}, schema, "")] == [
        "extra.k\x00 (key): must not contain the NUL character (PostgreSQL cannot store it)"
    ]


def test_an_error_names_the_first_ten_problems_and_counts_the_rest() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "m", "type": {"type": "map", "values": "long"}}]}
    event = {"m": {f"key-{index}": "not a number" for index in range(500)}}

    with pytest.raises(InvalidEvent) as raised:
        validate_event(event, schema)

    assert len(raised.value.errors) == 500
    message = str(raised.value)
    assert message.count("must be an integer") == MAX_ERRORS_NAMED
    assert message.endswith(f"; and {500 - MAX_ERRORS_NAMED} more errors")


def test_a_long_path_is_cut_in_the_error() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "m", "type": {"type": "map", "values": "long"}}]}

    errors = [str(error) for error in schema_errors({"m": {"k" * 5000: "x"}}, schema, "")]

    assert len(errors) == 2  # the value is no integer, the key is too long
    assert all(len(error) < 300 and error.startswith("m.kkk") for error in errors)


# Values of every JSON type, and of none (bytes), for any field: what a hostile source could send.
any_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | st.binary(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


@st.composite
def mangled_events(draw: st.DrawFn) -> Any:
    """A valid event with some of its fields (at any depth) replaced, deleted or added."""
    event: Any = canonical_event(amplitudeTrackStamp={"id": 7, "trackedDevice": "ios"})
    for _ in range(draw(st.integers(0, 4))):
        parents = [event]
        while True:
            container = parents[-1]
            keys = list(container) if isinstance(container, dict) else []
            if not keys or draw(st.booleans()):
                break
            child = container[draw(st.sampled_from(keys))]
            if not isinstance(child, dict):
                break
            parents.append(child)
        target = parents[-1]
        if not isinstance(target, dict):
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "add" or not target:
            target[draw(st.text(max_size=6))] = draw(any_value)
        elif action == "delete":
            del target[draw(st.sampled_from(list(target)))]
        else:
            target[draw(st.sampled_from(list(target)))] = draw(any_value)
    if draw(st.integers(0, 20)) == 0:
        event = draw(any_value)
    return event


@settings(max_examples=500, deadline=None)
@given(mangled_events())
def test_the_compiled_checks_name_what_the_schema_walk_named(event: Any) -> None:
    assert schema_errors(event, SCHEMA, "") == walker_errors(event, SCHEMA, "")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["null", "boolean", "int", "long", "float", "double", "string", "bytes", "uuid"]), any_value)
def test_every_primitive_is_checked_as_the_walk_checked_it(kind: str, value: Any) -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "f", "type": kind}, {"name": "u", "type": ["null", kind]}],
    }
    event = {"f": value, "u": value}
    assert schema_errors(event, schema, "") == walker_errors(event, schema, "")


def test_a_record_may_refer_to_itself() -> None:
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "value", "type": "long"}, {"name": "next", "type": ["null", "Node"], "default": None}],
    }
    chain = {"value": 1, "next": {"value": 2, "next": {"value": "three"}}}

    assert [str(e) for e in schema_errors(chain, schema, "")] == [
        "next.next.value: must be an integer, got a string 'three'"
    ]
    assert schema_errors(chain, schema, "") == walker_errors(chain, schema, "")
