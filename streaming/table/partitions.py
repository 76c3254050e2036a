"""Monthly partitions of the `events` table.

A partition per calendar month (UTC) of `timestamp_stamp`, named
`events_yYYYYmMM`, created by the SQL function `events_ensure_partition`
(from migration 0001): idempotent, safe under concurrency (an advisory lock),
and it moves into the new partition any row that had to wait in the DEFAULT
one. Migrations create a window around today, `manage.py ensure_partitions`
keeps it ahead, and the stream's sink creates the month of every row it meets
before inserting it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, sql: str, params: Any = ...) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


def month_start(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"events_y{month.year:04d}m{month.month:02d}"


def months_around(today: date, behind: int, ahead: int) -> list[date]:
    first = add_months(month_start(today), -behind)
    return [add_months(first, i) for i in range(behind + ahead + 1)]


def ensure_partitions(cursor: Cursor, months: list[date]) -> list[str]:
    """Create the partitions of `months` that are missing; the names of those created."""
    created = []
    for month in sorted(set(months)):
        cursor.execute("SELECT events_ensure_partition(%s)", [month])
        ((was_created,),) = cursor.fetchall()
        if was_created:
            created.append(partition_name(month))
    return created


def existing_partitions(cursor: Cursor) -> list[str]:
    cursor.execute(
        """
        SELECT child.relname FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE parent.relname = 'events' ORDER BY child.relname
        """
    )
    return [name for (name,) in cursor.fetchall()]
