"""The real PostgreSQL, through Django's connection and the project's settings."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_table_is_created_filled_and_queried(services_up: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE probe (id uuid PRIMARY KEY, payload jsonb NOT NULL)")
        cursor.execute(
            "INSERT INTO probe VALUES (%s, %s), (%s, %s)",
            [
                "0190f5e2-7c1a-7000-8000-000000000001",
                '{"amount": 1.5}',
                "0190f5e2-7c1a-7000-8000-000000000002",
                '{"amount": 2.5}',
            ],
        )
        cursor.execute("SELECT sum((payload->>'amount')::numeric) FROM probe")
        (total,) = cursor.fetchone()
    assert float(total) == 4.0


def test_the_server_is_postgresql_15_or_newer(services_up: None) -> None:
    assert connection.cursor().connection.server_version >= 150000
