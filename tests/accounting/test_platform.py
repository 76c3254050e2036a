"""The platform as its users meet it: the README's command, the generator, the accounting.

Brings the API and the stream up with `scripts/platform.sh up` (on the real
topics and database), posts a few thousand generated events, a fifth of them
invalid, with `manage.py send_events`, kills the stream's job with SIGKILL
half way and lets its supervisor start it again (`platform.sh status` then
says it is ready), then proves with `manage.py reconcile` that every event is
in exactly one place. Prints the figures.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.scripts import run_script
from tests.support.stream import children

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 3000


def manage(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for_restart(supervisor: int, killed: int, timeout: float = 60) -> None:
    """Until the supervisor runs a new job and it reports ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = children(supervisor)
        if jobs and jobs != [killed]:
            ready = subprocess.run(["curl", "-sf", "http://127.0.0.1:9464/health/ready"], capture_output=True)
            if ready.returncode == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"the supervisor did not restart the job within {timeout}s")


def test_thousands_of_events_through_the_platform_with_a_restart(services_up: None, tmp_path: Path) -> None:
    up = run_script("platform.sh", "up")
    assert up.returncode == 0, up.stderr
    try:
        since = datetime.now(UTC) - timedelta(seconds=1)
        events = tmp_path / "events.json"
        made = manage(
            "generate_events", "--count", str(EVENTS), "--invalid-share", "0.2", "--seed", "5", "--output", str(events)
        )
        assert made.returncode == 0, made.stderr
        lines = events.read_text().splitlines()
        first, second = tmp_path / "first.json", tmp_path / "second.json"
        first.write_text("\n".join(lines[: EVENTS // 2]) + "\n")
        second.write_text("\n".join(lines[EVENTS // 2 :]) + "\n")
        started = time.monotonic()

        sent = manage("send_events", "--file", str(first), "--host", "127.0.0.1:8000")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        supervisor = int((ROOT / ".run" / "stream" / "stream.pid").read_text())
        (job,) = children(supervisor)
        os.kill(job, signal.SIGKILL)  # mid-way, whatever it was doing: the supervisor starts it again
        wait_for_restart(supervisor, job)
        status = run_script("platform.sh", "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "stream    ready" in status.stdout
        sent_again = manage("send_events", "--file", str(second), "--host", "127.0.0.1:8000")
        assert sent_again.returncode == 0, sent_again.stdout + sent_again.stderr

        deadline = time.monotonic() + 180
        while True:
            report = manage("reconcile", "--since", since.isoformat())
            if report.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        elapsed = time.monotonic() - started
        print(f"\n{EVENTS} events in {elapsed:.1f}s ({EVENTS / elapsed:.0f} events/s), posted then accounted for:")
        print(sent.stdout + sent_again.stdout + report.stdout)

        assert report.returncode == 0, report.stdout + report.stderr
        assert re.search(rf"events taken in +│ +{EVENTS} │", report.stdout), report.stdout
        assert "every event is in exactly one place" in report.stdout
    finally:
        stopped = run_script("platform.sh", "stop")
        assert stopped.returncode == 0, stopped.stderr
