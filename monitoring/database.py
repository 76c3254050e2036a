"""PostgreSQL: enriched events per minute of the last hour, by when the collector took them in.

The minute comes from the correlationId, a UUIDv7 whose first 48 bits are
the milliseconds at collection, so the range of the hour is a scan of the
index on correlation_id, with no column to add to the customer's table.
"""

from __future__ import annotations

import uuid

from django.db import connection

PER_MINUTE = """
SELECT (('x' || substr(replace(correlation_id::text, '-', ''), 1, 12))::bit(48)::bigint / 60000) AS minute,
       count(*)
FROM events
WHERE correlation_id >= %s::uuid AND correlation_id < %s::uuid
GROUP BY minute
"""


def _lowest_id(ms: int) -> str:
    """The smallest UUIDv7 of that millisecond."""
    return str(uuid.UUID(int=ms << 80))


def enriched_per_minute(minutes: list[int]) -> list[int]:
    """Rows of `events` collected in each minute of `minutes` (Unix minutes, ascending)."""
    with connection.cursor() as cursor:
        cursor.execute(PER_MINUTE, [_lowest_id(minutes[0] * 60_000), _lowest_id((minutes[-1] + 1) * 60_000)])
        found = dict(cursor.fetchall())
    return [int(found.get(minute, 0)) for minute in minutes]
