"""manage.py send_events against the API served over real HTTP, into the real Kafka."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from generator.events import generate
from tests.support.kafka import topic_size
from tests.support.lanes import Lane

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def write(path: Path, events: list[Any]) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path


def test_every_event_is_accounted_for(tmp_path: Path, lane: Lane, live_server: Any) -> None:
    events = list(generate(300, invalid_share=0.2, seed=11))
    out = StringIO()

    call_command(
        "send_events",
        "--file",
        str(write(tmp_path / "events.json", events)),
        "--host",
        live_server.url.removeprefix("http://"),
        "--concurrency",
        "3",
        stdout=out,
    )

    summary = out.getvalue()
    accepted, rejected = topic_size(lane.events_topic), topic_size(lane.dead_letter_topic)
    assert accepted + rejected == 300
    assert 20 < rejected < 100
    assert f"events sent 300: accepted {accepted}, rejected {rejected}, failed 0" in summary


def test_a_file_that_is_not_json_lines_is_named(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('{"data": {}}\nnot json\n')

    with pytest.raises(CommandError, match=r"events.json:2: not JSON"):
        call_command("send_events", "--file", str(path))


def test_an_unreachable_api_counts_events_as_failed(tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", list(generate(5, invalid_share=0, seed=1)))
    out = StringIO()

    with pytest.raises(CommandError, match="5 events failed"):
        call_command("send_events", "--file", str(path), "--host", "127.0.0.1:9", stdout=out)
    assert "x ConnectionError" in out.getvalue()
