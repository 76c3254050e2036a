"""The `events` table made by the migrations, in the real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from contract.ids import event_id, new_package_id
from streaming.table.events_table import insert_copy, insert_values
from streaming.table.models import Event
from streaming.table.partitions import add_months, ensure_partitions, existing_partitions, month_start, partition_name

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def insert(cursor: Any, timestamp: datetime, message_id: uuid.UUID | None = None, correlation: Any = None) -> None:
    cursor.execute(
        "INSERT INTO events VALUES (%s, %s, %s, 'invoice.created', 'accounting', %s, %s, %s) ON CONFLICT DO NOTHING",
        [
            timestamp,
            message_id or uuid.uuid4(),
            correlation or uuid.uuid4(),
            uuid.uuid4(),
            uuid.uuid4(),
            json.dumps({"data": {"id": "x"}}),
        ],
    )


def partition_of(cursor: Any, message_id: uuid.UUID) -> str:
    cursor.execute("SELECT tableoid::regclass::text FROM events WHERE message_id_stamp = %s", [message_id])
    return str(cursor.fetchone()[0])


def test_the_migration_makes_a_window_of_monthly_partitions_and_a_default(services_up: None) -> None:
    this_month = month_start(datetime.now(UTC))
    with connection.cursor() as cursor:
        partitions = existing_partitions(cursor)

    assert "events_default" in partitions
    for offset in range(-3, 4):
        assert partition_name(add_months(this_month, offset)) in partitions


def test_a_row_lands_in_its_month(services_up: None) -> None:
    message_id = uuid.uuid4()
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        insert(cursor, now, message_id)
        assert partition_of(cursor, message_id) == partition_name(month_start(now))


def test_a_month_without_partition_waits_in_default_then_moves_when_its_partition_is_made(services_up: None) -> None:
    far = datetime(2031, 7, 14, 12, 0, tzinfo=UTC)
    message_id = uuid.uuid4()
    with connection.cursor() as cursor:
        insert(cursor, far, message_id)
        assert partition_of(cursor, message_id) == "events_default"

        created = ensure_partitions(cursor, [date(2031, 7, 1)])

        assert created == ["events_y2031m07"]
        assert partition_of(cursor, message_id) == "events_y2031m07"
        assert ensure_partitions(cursor, [date(2031, 7, 1)]) == []  # idempotent


def test_the_same_message_at_the_same_instant_is_inserted_once(services_up: None) -> None:
    message_id = uuid.uuid4()
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        insert(cursor, now, message_id)
        insert(cursor, now, message_id)  # a replay
        cursor.execute("SELECT count(*) FROM events WHERE message_id_stamp = %s", [message_id])
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'events' AND indexname = 'events_type_idx'")
        assert cursor.fetchone()[0].endswith("USING btree (type)")


def test_a_package_is_regrouped_by_a_range_that_uses_the_index(services_up: None) -> None:
    package = new_package_id()
    other = new_package_id()
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        for index in range(5):
            insert(cursor, now, correlation=event_id(package, index))
        insert(cursor, now, correlation=event_id(other, 0))

        query = (
            "SELECT correlation_id FROM events WHERE correlation_id "
            "BETWEEN event_package_id(%s) AND event_package_last_id(%s) ORDER BY correlation_id"
        )
        some_event = event_id(package, 3)
        cursor.execute(query, [some_event, some_event])
        found = [row[0] for row in cursor.fetchall()]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query, [some_event, some_event])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert found == [event_id(package, index) for index in range(5)]
    assert "events_correlation_id_idx" in plan or "correlation_id_idx" in plan
    assert [e.correlation_id for e in Event.objects.filter().all() if e.correlation_id == event_id(other, 0)]
    assert [e.correlation_id for e in Event.of_package(package)] == found


@pytest.mark.django_db(transaction=True)
def test_the_migration_reverses_and_applies_again(services_up: None) -> None:
    call_command("migrate", "streaming", "zero", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('events')")
        assert cursor.fetchone()[0] is None

    call_command("migrate", "streaming", verbosity=0)
    with connection.cursor() as cursor:
        assert "events_default" in existing_partitions(cursor)


def test_ensure_partitions_command_keeps_partitions_ahead(services_up: None) -> None:
    from io import StringIO

    out = StringIO()
    call_command("ensure_partitions", "--ahead", "14", stdout=out)

    this_month = month_start(datetime.now(UTC))
    with connection.cursor() as cursor:
        assert partition_name(add_months(this_month, 14)) in existing_partitions(cursor)
    assert f"created {partition_name(add_months(this_month, 14))}" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_streams_role_may_write_events_and_nothing_else(services_up: None) -> None:
    import psycopg2
    from django.conf import settings

    from streaming.pipeline.config import StreamConfig

    dsn = StreamConfig.from_settings(settings).postgres_dsn
    assert dsn["user"] == "holded_stream"
    connection = psycopg2.connect(**dsn)
    connection.autocommit = True
    far = datetime(2033, 2, 3, tzinfo=UTC)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT events_ensure_partition(%s)", [date(2033, 2, 1)])  # as the function's owner
            insert(cursor, far, uuid.uuid4())
            cursor.execute("SELECT count(*) FROM events WHERE timestamp_stamp = %s", [far])
            assert cursor.fetchone()[0] == 1
            for forbidden in (
                "DELETE FROM events",
                "UPDATE events SET type = 'x'",
                "SELECT * FROM auth_user",
                "CREATE TABLE intruder (id int)",
                "DROP TABLE events_default",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(forbidden)
    finally:
        connection.close()


@pytest.mark.parametrize("insert_rows", [insert_copy, insert_values], ids=["copy", "values"])
def test_both_inserts_store_any_text_exactly_and_a_second_time_nothing(services_up: None, insert_rows: Any) -> None:
    """COPY's text format escapes backslashes, tabs and newlines; whatever the text, the row reads back as written."""
    hostile = 'tab\there, new\nline, cr\rreturn, back\\slash, "quote", \\N, ü€😀'
    rows = []
    for index in range(3):
        body = json.dumps({"data": {"id": hostile, "n": index}}, ensure_ascii=False)
        rows.append(
            (
                datetime(2024, 3, 5, 10, index, tzinfo=UTC),
                uuid.uuid4(),
                event_id(new_package_id(), index),
                hostile,
                f"sub{index}",
                uuid.uuid4(),
                uuid.uuid4(),
                body,
            )
        )
    with connection.cursor() as cursor:
        insert_rows(cursor.cursor, rows)
        insert_rows(cursor.cursor, rows)  # a replay: every row a conflict
        cursor.execute(
            "SELECT type, data::text FROM events WHERE correlation_id = ANY(%s) ORDER BY timestamp_stamp",
            [[row[2] for row in rows]],
        )
        stored = cursor.fetchall()

    assert [(kind, json.loads(data)) for kind, data in stored] == [(hostile, json.loads(row[7])) for row in rows]


def test_copy_refuses_a_nul_as_the_rows_fault() -> None:
    with pytest.raises(ValueError, match="NUL"):
        insert_copy(None, [(datetime(2024, 3, 5, tzinfo=UTC), "a\x00b")])
