"""The `events` table of PostgreSQL, as the stream writes it: its columns and the row of an event.

`INSERT ... ON CONFLICT DO NOTHING` against the unique index on
(message_id_stamp, timestamp_stamp): a replay inserts nothing twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from contract.enriched import timestamp_of
from contract.ids import message_id_uuid

COLUMNS = (
    "timestamp_stamp, message_id_stamp, correlation_id, type, target_subscription, "
    "new_context_account_id, new_context_user_id, data"
)
INSERT = f"INSERT INTO events ({COLUMNS}) VALUES %s ON CONFLICT DO NOTHING"


def row_of(enriched: dict[str, Any], body: str) -> tuple[Any, ...]:
    """The row of the `events` table, in its column order; `data` is the whole enriched event."""
    attributes = enriched["attributes"]
    context = attributes["newContextStamp"]
    return (
        timestamp_of(enriched),
        message_id_uuid(attributes["messageIdStamp"]),
        uuid.UUID(enriched["metadata"]["correlationId"]),
        attributes["type"],
        attributes["targetSubscription"],
        uuid.UUID(context["accountId"]),
        uuid.UUID(context["userId"]),
        body,
    )
