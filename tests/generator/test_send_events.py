"""manage.py send_events against the API served over real HTTP, into the real Kafka."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from generator.events import generate
from tests.support.kafka import topic_size
from tests.support.lanes import Lane

ROOT = Path(__file__).resolve().parents[2]

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
    assert re.search(rf"accepted +│ +{accepted} │", summary), summary
    assert re.search(rf"rejected +│ +{rejected} │", summary)
    assert re.search(r"failed +│ +0 │", summary)
    assert re.search(r"sent +│ +300 │", summary)


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
    assert re.search(r"failed: ConnectionError +│", out.getvalue()), out.getvalue()


def test_without_a_file_it_sends_events_json_else_the_bundled_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = StringIO()
    with pytest.raises(CommandError, match="events failed"):
        call_command("send_events", "--host", "127.0.0.1:9", "--count", "3", stdout=out)
    assert f"from {ROOT / 'samples' / 'events.json'} " in out.getvalue()

    write(tmp_path / "events.json", list(generate(2, invalid_share=0, seed=1)))
    out = StringIO()
    with pytest.raises(CommandError, match="2 events failed"):
        call_command("send_events", "--host", "127.0.0.1:9", stdout=out)
    assert "sending 2 events from events.json " in out.getvalue()


def test_the_command_exits_non_zero_when_events_failed(tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", list(generate(3, invalid_share=0, seed=1)))

    finished = subprocess.run(
        [sys.executable, "manage.py", "send_events", "--file", str(path), "--host", "127.0.0.1:9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 1
    assert "3 events failed" in finished.stderr
