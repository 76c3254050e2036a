"""The project's chaos run, short: every part of the platform killed or paused under load, then proof.

bench/chaos.py for two minutes at 200 events/s, a fault every 12 s or so, so
that each part is hit at least once (they are taken in a shuffled cycle): the
stream's job, its supervisor, the API's main process and one of its workers,
Kafka, the registry, the S3 store and PostgreSQL, each killed with SIGKILL or
paused. It proves from outside (Kafka, PostgreSQL, the lake) that every event
taken in is in exactly one place, every accepted one enriched, every rejected
one a dead letter once. The full run (30 minutes at 1,000 events/s) is in the
README's figures.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.scripts import run_script

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def platform(services_up: None) -> Iterator[None]:
    up = run_script("platform.sh", "up")
    assert up.returncode == 0, up.stderr
    try:
        yield
    finally:
        run_script("platform.sh", "stop")
        healed = run_script("services.sh", "up")  # every service back for the tests after this one
        assert healed.returncode == 0, healed.stderr


def test_every_part_killed_or_paused_under_load_and_every_event_in_exactly_one_place(platform: None) -> None:
    options = ["--minutes", "2", "--rate", "200", "--every", "12", "--seed", "22"]
    chaos = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    print(chaos.stdout)

    assert chaos.returncode == 0, chaos.stdout + chaos.stderr[-3000:]
    assert "every event is in exactly one place" in chaos.stdout
    for part in ("the stream's job", "the stream's supervisor", "the API's main process", "an API worker"):
        assert f" {part} [" in chaos.stdout, f"{part} was never hit"
    for service in ("kafka", "registry", "s3", "postgres"):
        assert f" {service} [" in chaos.stdout, f"{service} was never hit"
