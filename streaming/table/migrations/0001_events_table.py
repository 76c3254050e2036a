"""The `events` table, as the customer gave it (minus its trailing-comma typo).

Partitioned by month of timestamp_stamp, with a DEFAULT partition as a last
safety net; `events_type_idx`; a unique index on (message_id_stamp,
timestamp_stamp) (the partition key must be in it) for idempotent inserts; an
index on correlation_id for regrouping a package by range; SQL helpers for
that range; and `events_ensure_partition(month)`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import migrations

from streaming.table.partitions import ensure_partitions, months_around

# The window created by this migration; `manage.py ensure_partitions` moves it.
MONTHS_BEHIND = 3
MONTHS_AHEAD = 3

CREATE = r"""
CREATE TABLE events (
    timestamp_stamp TIMESTAMP WITH TIME ZONE NOT NULL,
    message_id_stamp UUID NOT NULL,
    correlation_id UUID NOT NULL,
    type TEXT NOT NULL,
    target_subscription TEXT NOT NULL,
    new_context_account_id UUID NOT NULL,
    new_context_user_id UUID NOT NULL,
    data JSONB NOT NULL
)
PARTITION BY RANGE (timestamp_stamp);

CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE INDEX events_type_idx ON events (type);
CREATE UNIQUE INDEX events_message_id_stamp_timestamp_stamp_key ON events (message_id_stamp, timestamp_stamp);
CREATE INDEX events_correlation_id_idx ON events (correlation_id);

-- A package's id is any of its events' ids with the last 16 bits (4 hex digits) zeroed.
CREATE FUNCTION event_package_id(correlation_id uuid) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN overlay(correlation_id::text PLACING '0000' FROM 33)::uuid;
CREATE FUNCTION event_package_last_id(correlation_id uuid) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN overlay(correlation_id::text PLACING 'ffff' FROM 33)::uuid;

-- The partition of the month holding `month` (UTC): created if missing, with
-- any rows that waited in the DEFAULT partition moved into it. True if created.
CREATE FUNCTION events_ensure_partition(month date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    low timestamptz := (date_trunc('month', month::timestamp) AT TIME ZONE 'UTC');
    high timestamptz := ((date_trunc('month', month::timestamp) + interval '1 month') AT TIME ZONE 'UTC');
    name text := 'events_y' || to_char(low AT TIME ZONE 'UTC', 'YYYY"m"MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Two sinks meeting the same new month: one creates, the other waits.
    PERFORM pg_advisory_xact_lock(hashtext('events_ensure_partition'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format(
        'WITH moved AS (DELETE FROM events_default WHERE timestamp_stamp >= %L AND timestamp_stamp < %L RETURNING *)
         INSERT INTO %I SELECT * FROM moved', low, high, name);
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, low, high);
    RETURN true;
END;
$$;
"""

DROP = """
DROP TABLE IF EXISTS events CASCADE;
DROP FUNCTION IF EXISTS events_ensure_partition(date);
DROP FUNCTION IF EXISTS event_package_id(uuid);
DROP FUNCTION IF EXISTS event_package_last_id(uuid);
"""


def create_window(apps: Any, schema_editor: Any) -> None:
    today = datetime.now(UTC).date()
    with schema_editor.connection.cursor() as cursor:
        ensure_partitions(cursor, months_around(today, MONTHS_BEHIND, MONTHS_AHEAD))


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []  # type: ignore[misc]  # django-stubs declares a ClassVar

    operations = [
        migrations.RunSQL(CREATE, reverse_sql=DROP),
        migrations.RunPython(create_window, reverse_code=migrations.RunPython.noop),
    ]
