"""manage.py ensure_partitions: keep the monthly partitions of `events` ahead of time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from streaming.table.partitions import ensure_partitions, existing_partitions, months_around


class Command(BaseCommand):
    help = "Create the monthly partitions of the events table from --behind months ago to --ahead months ahead."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ahead", type=int, default=3, help="months after the current one")
        parser.add_argument("--behind", type=int, default=0, help="months before the current one")

    def handle(self, *args: Any, **options: Any) -> None:
        months = months_around(datetime.now(UTC).date(), options["behind"], options["ahead"])
        with transaction.atomic(), connection.cursor() as cursor:
            created = ensure_partitions(cursor, months)
            partitions = existing_partitions(cursor)
        for name in created:
            self.stdout.write(f"created {name}")
        self.stdout.write(f"{len(partitions)} partitions: {', '.join(partitions)}")
