"""manage.py reconcile: prove where every event is, or say which ones are not where they should be."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from accounting.reconcile import Report, package_window, reconcile


def instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Account for the events taken in during a window (--since/--until) or of one package (--package): "
        "each must be enriched (PostgreSQL and the lake) or dead-lettered (topic and the lake), exactly once."
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
            scope = f"package {options['package']}"
        elif options["since"] is not None:
            start, end = options["since"], options["until"] or datetime.now(UTC)
            report = reconcile(start=start, end=end)
            scope = f"{start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S} UTC"
        else:
            raise CommandError("give --since (and maybe --until) or --package")
        self.stdout.write(summary_table(report, scope))
        if report.exact:
            self.stdout.write("every event is in exactly one place")
        else:
            self.stdout.write("problems:")
            for kind, ids in sorted(report.problems.items()):
                listed = ", ".join(ids[: options["show"]]) + (" ..." if len(ids) > options["show"] else "")
                self.stdout.write(f"  {len(ids)} {kind}: {listed}")
        if options["list"]:
            for correlation_id, place in sorted(report.places.items()):
                self.stdout.write(f"{correlation_id} {place}")
        if not report.exact:
            raise CommandError("not every event is in exactly one place")


def summary_table(report: Report, scope: str) -> str:
    """Where the events are, one row a place, and the total: what a person reads first."""
    table = Table(title=f"reconcile: {scope}", title_justify="left")
    table.add_column("where")
    table.add_column("events", justify="right")
    table.add_row("enriched (PostgreSQL and the lake)", str(report.enriched))
    table.add_row("resent by the source (stored once in PostgreSQL)", str(report.resent))
    for stage in sorted({"collect", "stream", *report.dead_letters}):
        table.add_row(f"dead letter, {stage} stage (topic and the lake)", str(report.dead_letters[stage]))
    problems = sum(len(ids) for ids in report.problems.values())
    table.add_row("problems" + (" (listed below)" if problems else ""), str(problems))
    table.add_section()
    table.add_row("events taken in", str(report.events))
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(table)
    return out.getvalue().rstrip("\n")
