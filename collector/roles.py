"""The API's own database role (API_POSTGRES_USER), granted after every `manage.py migrate`.

The API serves /collect without the database; it reads `events` for the
admin and /status, and keeps Django's sessions and admin users. So its role
may read `events` and Django's tables, and write only the sessions, the
admin log and the users: no DDL, no write to `events`. The role is created
when the migrating user may create roles (development, the Docker stack);
elsewhere a DBA creates it and this only grants. Like the stream's role
(streaming/table/migrations/0002_stream_role.py).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connections
from psycopg2 import sql

from integrations.postgres_roles import ensure_login_role

logger = logging.getLogger(__name__)

# LIKE patterns of Django's own tables (the API reads all of them).
DJANGO_TABLES = [r"auth\_%", r"django\_%"]
# Django's tables the API writes: sessions, the admin's log, its users.
WRITES = ("django_session", "django_admin_log", "auth_user", "auth_user_groups", "auth_user_user_permissions")


def grant_api_role(using: str = "default", **_: Any) -> None:
    """Create (if allowed and missing) and grant the API's role; idempotent, safe to run after every migrate."""
    role = settings.API_POSTGRES_USER
    connection = connections[using]
    if role == connection.settings_dict["USER"]:
        return  # the API shares the owner's role: nothing to restrict
    with connection.cursor() as cursor:
        if not ensure_login_role(cursor, role, settings.API_POSTGRES_PASSWORD):
            logger.warning("role %s does not exist and %s may not create it: nothing granted", role, current(cursor))
            return
        name = sql.Identifier(role)
        cursor.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(connection.settings_dict["NAME"]), name)
        )
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND (tablename LIKE %s OR tablename LIKE %s)",
            DJANGO_TABLES,
        )
        for (table,) in cursor.fetchall():
            privileges = "SELECT, INSERT, UPDATE, DELETE" if table in WRITES else "SELECT"
            cursor.execute(sql.SQL(f"GRANT {privileges} ON {{}} TO {{}}").format(sql.Identifier(table), name))
        cursor.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' "
            "AND (sequencename LIKE %s OR sequencename LIKE %s)",
            DJANGO_TABLES,
        )
        for (sequence,) in cursor.fetchall():
            cursor.execute(sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(sql.Identifier(sequence), name))
        cursor.execute("SELECT to_regclass('events') IS NOT NULL")
        (has_events,) = cursor.fetchone()
        if has_events:
            cursor.execute(sql.SQL("GRANT SELECT ON events TO {}").format(name))


def current(cursor: Any) -> str:
    cursor.execute("SELECT current_user")
    return str(cursor.fetchone()[0])
