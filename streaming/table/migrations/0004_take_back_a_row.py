"""The one row the stream may take back: an event's own, when the lake refused its line.

The stream inserts into `events`, then writes the lake. An event the lake
refuses (alone, while the store takes other writes: streaming/pipeline/isolation.py)
must not stay a row without its line, so its row is removed before it is
dead-lettered. The stream's role may not DELETE from `events`; it may call
this function, which removes the row holding one correlationId and nothing
else, with its owner's rights (SECURITY DEFINER, a fixed search_path), as
`events_ensure_partition` creates partitions.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations
from psycopg2 import sql

CREATE = """
CREATE FUNCTION events_take_back(event uuid) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    WITH removed AS (DELETE FROM events WHERE correlation_id = event RETURNING 1) SELECT count(*)::integer FROM removed
$$;
REVOKE ALL ON FUNCTION events_take_back(uuid) FROM PUBLIC;
"""

DROP = "DROP FUNCTION IF EXISTS events_take_back(uuid);"


def grant(apps: Any, schema_editor: Any) -> None:
    role = settings.STREAM_POSTGRES_USER
    if role == settings.DATABASES["default"]["USER"]:
        return  # the stream shares the owner's role: it owns the function
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return  # a DBA creates the role, then grants (0002_stream_role.py)
        cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION events_take_back(uuid) TO {}").format(sql.Identifier(role)))


class Migration(migrations.Migration):
    dependencies = [("streaming", "0003_event_model_state")]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql=DROP),
        migrations.RunPython(grant, reverse_code=migrations.RunPython.noop),
    ]
