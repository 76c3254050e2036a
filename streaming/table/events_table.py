"""The `events` table of PostgreSQL, as the stream writes it: its columns, the row of an event, two inserts.

Both inserts end in `INSERT ... ON CONFLICT DO NOTHING` against the unique
index on (message_id_stamp, timestamp_stamp): a replay inserts nothing twice.
`insert_copy` streams the rows with COPY into a temporary table, then
inserts them from there in one statement; `insert_values` sends them as one
multi-row INSERT (psycopg2's execute_values). bench/postgres_write.py
measures both; the stream uses insert_copy (docs/decisions/20-lake-objects.md).

A row the insert skips holds the key of a row already there. `insert_copy`
says whose (`Skipped`): the same event (a replay), the same message sent again
by its source (a resend: same data and attributes, another correlationId), or
a different event under a message id and timestamp already taken, which the
stream refuses (docs/decisions/24-bounded-by-design.md).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2.extras

from contract.enriched import timestamp_of
from contract.ids import message_id_text, uuid_text

COLUMNS = (
    "timestamp_stamp, message_id_stamp, correlation_id, type, target_subscription, "
    "new_context_account_id, new_context_user_id, data"
)
INSERT = f"INSERT INTO events ({COLUMNS}) VALUES %s ON CONFLICT DO NOTHING"
LOAD_TABLE = "events_load"
# Per session; emptied at every commit, so a batch never sees another's rows.
CREATE_LOAD_TABLE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {LOAD_TABLE} ON COMMIT DELETE ROWS "
    f"AS SELECT {COLUMNS} FROM events WITH NO DATA"
)
INSERT_LOADED = (
    f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM {LOAD_TABLE} ON CONFLICT DO NOTHING "
    "RETURNING correlation_id::text"
)
# What an event is beyond its key: the key's own spelling (a ULID, an offset) does not make another event.
_CONTENT = "jsonb_build_array({0}.data -> 'data', ({0}.data -> 'attributes') - 'messageIdStamp' - 'timestampStamp')"
# For each loaded row the insert skipped: the correlationId of the row holding its key, and whether it holds
# the same content. Run after the insert, in its transaction, so that a key taken by an earlier row of the
# same load is found too.
SKIPPED = (
    f"SELECT loaded.correlation_id::text, kept.correlation_id::text, {_CONTENT.format('loaded')} = "
    f"{_CONTENT.format('kept')} FROM {LOAD_TABLE} loaded JOIN events kept "
    "ON kept.message_id_stamp = loaded.message_id_stamp AND kept.timestamp_stamp = loaded.timestamp_stamp "
    "WHERE loaded.correlation_id <> ALL(%s::uuid[])"
)


@dataclass(frozen=True)
class Skipped:
    """A row the insert skipped: the correlationId of the row that holds its key, and whether it is the same
    content (a replay of this very event, or a resend by its source) or another event."""

    kept: str
    same_content: bool


def row_of(enriched: dict[str, Any], body: str) -> tuple[Any, ...]:
    """The row of the `events` table, in its column order; `data` is the whole enriched event.

    UUIDs as their canonical text, which COPY and INSERT both read; one that is none raises ValueError.
    """
    attributes = enriched["attributes"]
    context = attributes["newContextStamp"]
    return (
        timestamp_of(enriched),
        message_id_text(attributes["messageIdStamp"]),
        uuid_text(enriched["metadata"]["correlationId"]),
        attributes["type"],
        attributes["targetSubscription"],
        uuid_text(context["accountId"]),
        uuid_text(context["userId"]),
        body,
    )


def take_back(cursor: Any, correlation_id: str) -> None:
    """Remove the row of one event (its own: found by its correlationId), if the table holds it.

    Through `events_take_back` (streaming/table/migrations/0004_take_back_a_row.py): the stream's role may not
    delete from the table, only take back one event's row this way.
    """
    cursor.execute("SELECT events_take_back(%s::uuid)", [correlation_id])


def insert_values(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
    psycopg2.extras.execute_values(cursor, INSERT, rows, page_size=len(rows))


def insert_copy(cursor: Any, rows: list[tuple[Any, ...]]) -> dict[str, Skipped]:
    """COPY the rows into the session's load table, then insert them all; commit to empty it.

    Returns the rows the insert skipped, by their correlationId (their key was taken), with whose it is.
    """
    lines = io.StringIO("".join(map(_copy_line, rows)))  # first: a row that cannot be written sends nothing
    cursor.execute(CREATE_LOAD_TABLE)
    cursor.copy_expert(f"COPY {LOAD_TABLE} ({COLUMNS}) FROM STDIN", lines)
    cursor.execute(INSERT_LOADED)
    inserted = [found for (found,) in cursor.fetchall()]
    if len(inserted) == len(rows):
        return {}
    cursor.execute(SKIPPED, [inserted])
    return {loaded: Skipped(kept, bool(same)) for loaded, kept, same in cursor.fetchall()}


# COPY's text format: a tab between fields, a newline after the row, and these escaped inside a field.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    text = value if isinstance(value, str) else str(value)
    if "\0" in text:
        # No text of PostgreSQL holds NUL: refused here, as psycopg2 refuses it, so the row is the one to blame.
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


def _copy_line(row: tuple[Any, ...]) -> str:
    if None not in row:
        # The common row: joined as it is, then looked at once, whole. Only a row holding a character COPY
        # reads specially (or a NUL, refused) goes field by field.
        line = "\t".join([value if isinstance(value, str) else _copy_field(value) for value in row])
        # Four scans in C: a tenth of one regular expression's search.
        special = "\\" in line or "\n" in line or "\r" in line or "\0" in line
        if not special and line.count("\t") == len(row) - 1:
            return line + "\n"
    return "\t".join(map(_copy_field, row)) + "\n"
