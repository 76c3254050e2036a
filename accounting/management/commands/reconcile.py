"""manage.py reconcile: prove where every event is, or say which ones are not where they should be."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounting.reconcile import package_window, reconcile


def instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Account for the events taken in during a window (--since/--until) or of one package (--package): "
        "each must be enriched (PostgreSQL and S3) or dead-lettered (topic and S3), exactly once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=instant, help="ISO-8601 instant")
        parser.add_argument("--until", type=instant, help="ISO-8601 instant; default now")
        parser.add_argument("--package", type=uuid.UUID, help="a packageId (or any correlationId of the package)")
        parser.add_argument("--show", type=int, default=20, help="correlationIds listed per kind of problem")
        parser.add_argument("--list", action="store_true", help="one line per event: its correlationId and place")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["package"] is not None:
            start, end = package_window(options["package"])
            report = reconcile(start=start, end=end, package=options["package"])
        elif options["since"] is not None:
            report = reconcile(start=options["since"], end=options["until"] or datetime.now(UTC))
        else:
            raise CommandError("give --since (and maybe --until) or --package")
        stages = ", ".join(f"{count} at the {stage} stage" for stage, count in sorted(report.dead_letters.items()))
        self.stdout.write(
            f"{report.events} events: {report.enriched} enriched (PostgreSQL and S3), "
            f"{sum(report.dead_letters.values())} dead letters ({stages or 'none'})"
        )
        if options["list"]:
            for correlation_id, place in sorted(report.places.items()):
                self.stdout.write(f"{correlation_id} {place}")
        for kind, ids in sorted(report.problems.items()):
            listed = ", ".join(ids[: options["show"]]) + (" ..." if len(ids) > options["show"] else "")
            self.stdout.write(f"{len(ids)} {kind}: {listed}")
        if not report.exact:
            raise CommandError("not every event is in exactly one place")
        self.stdout.write("every event is in exactly one place")
