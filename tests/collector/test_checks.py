"""The limits agree, or the project refuses to start, naming the setting (collector/checks.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pytest_django.fixtures import Settings as SettingsWrapper

from collector.checks import limits_agree

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_limits_agree() -> None:
    assert limits_agree() == []


def test_a_record_too_small_for_a_dead_letter_or_an_event_is_refused(settings: SettingsWrapper) -> None:
    settings.KAFKA_MESSAGE_MAX_BYTES = 100_000

    errors = limits_agree()

    assert [error.id for error in errors] == ["holded.E001", "holded.E002"]
    assert "COLLECT_MAX_BODY_BYTES (1048576)" in errors[0].msg
    assert "at least 1052672" in str(errors[0].hint)


def test_the_server_does_not_start_with_limits_that_disagree() -> None:
    env = {**os.environ, "KAFKA_MESSAGE_MAX_BYTES": "100000", "API_PORT": "1"}  # nothing is bound: it stops first

    started = subprocess.run(
        [sys.executable, "-m", "holded.server"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert started.returncode != 0
    assert "holded.E001" in started.stderr
    assert "KAFKA_MESSAGE_MAX_BYTES" in started.stderr
