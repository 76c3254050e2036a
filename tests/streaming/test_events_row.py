"""The row of the `events` table an enriched event becomes (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.enriched import enrich
from contract.ids import parse_ulid
from streaming.table.events_table import COLUMNS, _copy_field, _copy_line, row_of
from tests.support.factories import canonical_event


def test_the_row_follows_the_tables_columns() -> None:
    correlation_id = str(uuid.uuid4())
    event = canonical_event(messageIdStamp="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    enriched = enrich(event, correlation_id=correlation_id, publish_time_ms=0, schema_id=1)

    row = row_of(enriched, "{}")

    assert row[0] == datetime(2024, 3, 5, 10, 12, 35, tzinfo=UTC)
    assert row[1] == str(parse_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV"))  # the ULID's bits as a UUID
    assert row[2] == correlation_id
    assert row[3:5] == ("invoice.created", "accounting")
    assert row[7] == "{}"
    assert len(row) == len(COLUMNS.split(","))


@given(st.lists(st.none() | st.text() | st.datetimes(timezones=st.just(UTC)), min_size=1, max_size=8))
def test_a_rows_copy_line_is_each_field_escaped_whatever_it_holds(row: list[Any]) -> None:
    """The whole-line look of the common row decides as the field-by-field way (which COPY's text format defines)."""
    try:
        expected = "\t".join(map(_copy_field, row)) + "\n"
    except ValueError:  # a NUL
        with pytest.raises(ValueError, match="NUL"):
            _copy_line(tuple(row))
        return
    assert _copy_line(tuple(row)) == expected
