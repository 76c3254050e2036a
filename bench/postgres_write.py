"""Benchmark of the stream's idempotent PostgreSQL write: COPY through a temporary table against execute_values.

    uv run python bench/postgres_write.py [--rows 100000] [--batches 1000,10000] [--repeat 3]

Needs the services (scripts/services.sh up). Writes into a database of its
own (migrated like the real one, dropped at the end), as the stream's role.
For each batch size and each way (streaming/table/events_table.py: insert_copy,
insert_values) it inserts `--rows` enriched events into an empty table, then
writes the same rows again (a replay: every row a conflict, nothing
inserted), one commit per batch as the sink does. The ways take turns, and
each figure is the median of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402

from bench.stream import admin_sql  # noqa: E402
from contract import lake  # noqa: E402
from contract.enriched import enrich  # noqa: E402
from contract.ids import event_id, new_package_id  # noqa: E402
from contract.normalize import normalize_event  # noqa: E402
from streaming.pipeline.config import StreamConfig  # noqa: E402
from streaming.table.events_table import insert_copy, insert_values, row_of  # noqa: E402

WAYS: dict[str, Callable[[Any, list[tuple[Any, ...]]], object]] = {
    "COPY + INSERT ... SELECT": insert_copy,
    "execute_values": insert_values,
}


def make_rows(count: int) -> list[tuple[Any, ...]]:
    from bench.collect import sample_event

    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = []
    package = new_package_id()
    for index in range(count):
        if index % 100 == 0:
            package = new_package_id()
        event = normalize_event(sample_event(index))
        event["attributes"]["timestampStamp"] = now
        enriched = enrich(event, correlation_id=str(event_id(package, index % 100)), publish_time_ms=0, schema_id=1)
        rows.append(row_of(enriched, lake.line(enriched).decode()))
    return rows


def write(
    dsn: dict[str, Any], way: Callable[[Any, list[tuple[Any, ...]]], object], rows: list[Any], batch: int
) -> float:
    """Seconds to write `rows` in batches of `batch`, one commit each."""
    connection = psycopg2.connect(**dsn)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(0, len(rows), batch):
            way(cursor, rows[first : first + batch])
            connection.commit()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batches", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    database = f"bench_pg_{uuid.uuid4().hex[:8]}"
    admin_sql(f'CREATE DATABASE "{database}"')
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env={**os.environ, "POSTGRES_DB": database},
            check=True,
        )
        dsn = {**StreamConfig.from_settings(settings).postgres_dsn, "dbname": database}
        rows = make_rows(options.rows)
        print(f"{options.rows:,} rows a run, {options.repeat} runs each, ways taking turns; rows/s (median)")
        print(f"{'batch':>6}  {'way':<26} {'insert':>10} {'replay':>10}")
        for batch in (int(size) for size in options.batches.split(",")):
            inserts: dict[str, list[float]] = {name: [] for name in WAYS}
            replays: dict[str, list[float]] = {name: [] for name in WAYS}
            for _ in range(options.repeat):
                for name, way in WAYS.items():
                    truncate(database)
                    inserts[name].append(options.rows / write(dsn, way, rows, batch))
                    replays[name].append(options.rows / write(dsn, way, rows, batch))
            for name in WAYS:
                insert, replay = statistics.median(inserts[name]), statistics.median(replays[name])
                print(f"{batch:>6}  {name:<26} {insert:>10,.0f} {replay:>10,.0f}")
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def truncate(database: str) -> None:
    owner = settings.DATABASES["default"]
    connection = psycopg2.connect(
        host=owner["HOST"], port=owner["PORT"], user=owner["USER"], password=owner["PASSWORD"], dbname=database
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE TABLE events")
    connection.close()


if __name__ == "__main__":
    main()
