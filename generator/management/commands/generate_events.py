"""manage.py generate_events: write a realistic events.json (JSON Lines) of any size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from generator.events import generate


class Command(BaseCommand):
    help = (
        "Write events as the source sends them, one JSON object a line: every spelling of the contract, "
        "optional stamps present and absent, and a share of invalid events of many kinds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1000)
        parser.add_argument("--invalid-share", type=float, default=0.1, help="between 0 and 1")
        parser.add_argument("--seed", type=int, default=1, help="the same seed writes the same events")
        parser.add_argument("--output", type=Path, default=Path("events.json"))

    def handle(self, *args: Any, **options: Any) -> None:
        with options["output"].open("w", encoding="utf-8") as output:
            for event in generate(options["count"], invalid_share=options["invalid_share"], seed=options["seed"]):
                output.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.stdout.write(f"wrote {options['count']} events to {options['output']}")
