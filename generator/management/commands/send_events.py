"""manage.py send_events: post a JSON Lines file to /collect in random packages of 1 to 10 events."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from generator.sender import EventsFileError, Summary, packages, read_events, send

# The kit's file name, then the sample this project ships.
DEFAULT_FILES = (Path("events.json"), Path(settings.BASE_DIR) / "samples" / "events.json")


def default_file() -> Path:
    """events.json in the current folder if there is one, else the bundled sample."""
    return next((path for path in DEFAULT_FILES if path.is_file()), DEFAULT_FILES[-1])


class Command(BaseCommand):
    help = (
        "Post events (JSON Lines) to POST /collect as the customer's generator did: a progress bar with live "
        "outcomes, a summary table at the end, exit status 1 when any event failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file", type=Path, help="JSON Lines of events; default: ./events.json, else samples/events.json"
        )
        parser.add_argument("--host", default="localhost:8000", help="host:port of the API")
        parser.add_argument("--min-size", type=int, default=1)
        parser.add_argument("--max-size", type=int, default=10)
        parser.add_argument(
            "--count", type=int, help="events to send, cycling through the file with new message ids; default: the file"
        )
        parser.add_argument(
            "--resend-ids",
            action="store_true",
            help="when cycling, send the file's message ids again (to see PostgreSQL dedupe them)",
        )
        parser.add_argument("--rate", type=float, help="events per second; default: as fast as answered")
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--api-key", help="sent as 'Authorization: Api-Key <key>'")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--progress",
            action="store_true",
            default=None,
            help="a progress bar on stderr (the default when stderr is a terminal)",
        )
        parser.add_argument("--no-progress", dest="progress", action="store_false")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["min_size"] <= options["max_size"]:
            raise CommandError("need 1 <= --min-size <= --max-size")
        if options["count"] is not None and options["count"] < 1:
            raise CommandError("--count must be at least 1")
        path: Path = options["file"] or default_file()
        try:
            events = read_events(path)
        except (OSError, EventsFileError) as error:
            raise CommandError(str(error)) from error
        if not events:
            raise CommandError(f"{path} holds no event")
        total = options["count"] or len(events)
        url = f"http://{options['host']}/collect"
        self.stdout.write(f"sending {total} events from {path} to {url}")

        show = sys.stderr.isatty() if options["progress"] is None else options["progress"]
        batches = packages(
            events,
            min_size=options["min_size"],
            max_size=options["max_size"],
            total=total,
            seed=options["seed"],
            resend_ids=options["resend_ids"],
        )
        with ProgressBar(total, enabled=show) as update:
            summary = send(
                batches,
                url=url,
                rate=options["rate"],
                concurrency=options["concurrency"],
                api_key=options["api_key"],
                progress=update,
            )
        self.stdout.write(summary_table(summary))
        if summary.failed:
            raise CommandError(f"{summary.failed} events failed (see the table above)")


class ProgressBar:
    """A rich progress bar over the answered events, with live outcome counts and the rate."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = Progress(
            TextColumn("[bold]sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7.0f} events/s"),
            TextColumn(
                "[green]{task.fields[accepted]} accepted[/] [yellow]{task.fields[rejected]} rejected[/] "
                "[red]{task.fields[failed]} failed[/]"
            ),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not enabled,
        )
        self.task = self.bar.add_task("send", total=total, rate=0.0, accepted=0, rejected=0, failed=0)

    def __enter__(self) -> Any:
        self.bar.start()
        return self.update if self.enabled else None

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, summary: Summary) -> None:
        rate = summary.answered / summary.seconds if summary.seconds else 0.0
        self.bar.update(
            self.task,
            completed=summary.answered,
            rate=rate,
            accepted=summary.accepted,
            rejected=summary.rejected,
            failed=summary.failed,
        )


def summary_table(summary: Summary) -> str:
    """What became of every event, as a table (plain text, so it reads the same in a log)."""
    table = Table(title="send_events", title_justify="left")
    table.add_column("outcome")
    table.add_column("events", justify="right")
    table.add_column("share", justify="right")
    for name, count in (("accepted", summary.accepted), ("rejected", summary.rejected), ("failed", summary.failed)):
        table.add_row(name, str(count), f"{count / summary.sent:.1%}" if summary.sent else "-")
    table.add_section()
    table.add_row("sent", str(summary.sent), f"in {summary.packages} packages")
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    table.add_row("time", f"{summary.seconds:.1f}s", f"{rate:.0f} events/s")
    table.add_row("retries", str(summary.retries), "429 or 503, sent again")
    for error, count in sorted(summary.errors.items()):
        table.add_row(f"failed: {error}", str(count), "packages")
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(table)
    return out.getvalue().rstrip("\n")
