"""A process's own PostgreSQL role: created where the migrating user may, found otherwise."""

from __future__ import annotations

from typing import Any

from psycopg2 import sql


def ensure_login_role(cursor: Any, role: str, password: str) -> bool:
    """True if `role` exists, creating it (LOGIN, with `password`) when the current user may create roles.

    Where it may not (a managed database), a DBA creates the role and the
    caller only grants; False then means there is nothing to grant to yet.
    """
    cursor.execute("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
    (may_create,) = cursor.fetchone()
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is not None:
        return True
    if not may_create:
        return False
    cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), [password])
    return True
