"""manage.py send_events: post a JSON Lines file to /collect in random packages of 1 to 10 events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generator.sender import EventsFileError, packages, print_progress, read_events, send


class Command(BaseCommand):
    help = "Post events (JSON Lines) to POST /collect as the customer's generator did, with a summary at the end."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=Path("events.json"))
        parser.add_argument("--host", default="localhost:8000", help="host:port of the API")
        parser.add_argument("--min-size", type=int, default=1)
        parser.add_argument("--max-size", type=int, default=10)
        parser.add_argument("--count", type=int, help="events to send (cycling through the file); default: the file")
        parser.add_argument("--rate", type=float, help="events per second; default: as fast as answered")
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--api-key", help="sent as 'Authorization: Api-Key <key>'")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--progress", action="store_true", help="a progress line on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["min_size"] <= options["max_size"]:
            raise CommandError("need 1 <= --min-size <= --max-size")
        try:
            events = read_events(options["file"])
        except (OSError, EventsFileError) as error:
            raise CommandError(str(error)) from error
        if not events:
            raise CommandError(f"{options['file']} holds no event")
        summary = send(
            packages(
                events,
                min_size=options["min_size"],
                max_size=options["max_size"],
                total=options["count"],
                seed=options["seed"],
            ),
            url=f"http://{options['host']}/collect",
            rate=options["rate"],
            concurrency=options["concurrency"],
            api_key=options["api_key"],
            progress=print_progress if options["progress"] else None,
        )
        if options["progress"]:
            self.stderr.write("")
        for line in summary.lines():
            self.stdout.write(line)
        if summary.failed:
            raise CommandError(f"{summary.failed} events failed")
