"""The stream's own database role, with only what it needs.

The stream writes with STREAM_POSTGRES_USER: it may read and insert into
`events` and call `events_ensure_partition`, and nothing else (no other
table, no DDL of its own). The function runs with its owner's rights
(SECURITY DEFINER, a fixed search_path), so the stream creates partitions
without being allowed to create tables. The role is created here when the
migrating user may create roles (as in development and the Docker stack);
elsewhere a DBA creates it, and this migration only grants.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations
from psycopg2 import sql

from integrations.postgres_roles import ensure_login_role


def grant(apps: Any, schema_editor: Any) -> None:
    role = settings.STREAM_POSTGRES_USER
    if role == settings.DATABASES["default"]["USER"]:
        return  # the stream shares the owner's role: nothing to restrict
    with schema_editor.connection.cursor() as cursor:
        if not ensure_login_role(cursor, role, settings.STREAM_POSTGRES_PASSWORD):
            return
        name = sql.Identifier(role)
        cursor.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(schema_editor.connection.settings_dict["NAME"]), name
            )
        )
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
        cursor.execute(sql.SQL("GRANT SELECT, INSERT ON events TO {}").format(name))
        cursor.execute("ALTER FUNCTION events_ensure_partition(date) SECURITY DEFINER SET search_path = public")
        cursor.execute("REVOKE ALL ON FUNCTION events_ensure_partition(date) FROM PUBLIC")
        cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION events_ensure_partition(date) TO {}").format(name))


def revoke(apps: Any, schema_editor: Any) -> None:
    role = settings.STREAM_POSTGRES_USER
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None or role == settings.DATABASES["default"]["USER"]:
            return
        name = sql.Identifier(role)
        cursor.execute(sql.SQL("REVOKE ALL ON events FROM {}").format(name))
        cursor.execute(sql.SQL("REVOKE ALL ON FUNCTION events_ensure_partition(date) FROM {}").format(name))
        cursor.execute("ALTER FUNCTION events_ensure_partition(date) SECURITY INVOKER")


class Migration(migrations.Migration):
    dependencies = [("streaming", "0001_events_table")]

    operations = [migrations.RunPython(grant, reverse_code=revoke)]
