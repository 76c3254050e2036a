"""The API's database role: it reads what it shows and writes only Django's sessions and users (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import errors

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def as_api() -> Iterator[Any]:
    """A connection to the test database as API_POSTGRES_USER (migrate granted it)."""
    database = settings.DATABASES["default"]
    connection = psycopg2.connect(
        host=database["HOST"],
        port=database["PORT"],
        dbname=database["NAME"],
        user=settings.API_POSTGRES_USER,
        password=settings.API_POSTGRES_PASSWORD,
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def test_the_api_role_is_not_the_owner(as_api: Any) -> None:
    as_api.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user")
    assert as_api.fetchone() == (False, False, False)
    assert settings.DATABASES["default"]["USER"] != settings.API_POSTGRES_USER


def test_it_reads_events_and_keeps_sessions(as_api: Any) -> None:
    as_api.execute("SELECT count(*) FROM events")
    as_api.execute("INSERT INTO django_session (session_key, session_data, expire_date) VALUES ('probe', '', now())")
    as_api.execute("DELETE FROM django_session WHERE session_key = 'probe'")


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO events SELECT * FROM events LIMIT 0",
        "DELETE FROM events",
        "CREATE TABLE probe (id int)",
        "DROP TABLE django_session",
        "DELETE FROM django_migrations",
    ],
)
def test_it_may_not_write_events_or_change_the_schema(as_api: Any, statement: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        as_api.execute(statement)
