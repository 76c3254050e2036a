"""The event contract's own limits, the same for the collector and the stream."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured

from holded.settings import env

# timestampStamp must lie in [EVENTS_EARLIEST_TIMESTAMP, now + EVENTS_MAX_SECONDS_AHEAD]:
# "now" is the clock at the door and the record's publishTime in the stream.
_earliest = env.string("EVENTS_EARLIEST_TIMESTAMP", "2000-01-01T00:00:00+00:00")
try:
    EVENTS_EARLIEST_TIMESTAMP = datetime.fromisoformat(_earliest)
except ValueError:
    raise ImproperlyConfigured(f"EVENTS_EARLIEST_TIMESTAMP must be an ISO-8601 instant, got {_earliest!r}.") from None
if EVENTS_EARLIEST_TIMESTAMP.tzinfo is None:
    EVENTS_EARLIEST_TIMESTAMP = EVENTS_EARLIEST_TIMESTAMP.replace(tzinfo=UTC)
EVENTS_MAX_SECONDS_AHEAD = env.number("EVENTS_MAX_SECONDS_AHEAD", 86400.0)
