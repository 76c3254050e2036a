"""Each service stopped and started again while the stream runs under load: it waits, and loses nothing.

`manage.py run_stream` runs as an operator runs it, a thread posts packages
to /collect the whole time, and in the middle of it one service is stopped
for a few seconds with scripts/services.sh, then started again. Afterwards
every event the collector accepted is in PostgreSQL and in the bucket, the
job is still running (it never exited), and a SIGTERM stops it cleanly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.support.factories import brief_event
from tests.support.lanes import StreamLane, free_port
from tests.support.scripts import run_script
from tests.support.stream import health, lake_lines, rows_for, start_stream, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class Load(threading.Thread):
    """Packages of 10 events posted to /collect every 50 ms until stopped; the ids Kafka accepted."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.accepted: list[str] = []
        self.answers: dict[int, int] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        client = APIClient()
        while not self._halt.is_set():
            response = client.post(
                "/collect", json.dumps([brief_event() for _ in range(10)]), content_type="application/json"
            )
            self.answers[response.status_code] = self.answers.get(response.status_code, 0) + 1
            if response.status_code in (200, 503):
                self.accepted += [e["correlationId"] for e in response.json()["events"] if e["status"] == "accepted"]
            time.sleep(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)


def not_ready(address: str) -> dict[str, Any] | None:
    status, body = health(address)
    return body if status == 503 else None


def landed(ids: list[str]) -> bool:
    return len(rows_for(ids)) == len(ids)


@pytest.mark.parametrize(("service", "down_for"), [("postgres", 6), ("s3", 6), ("registry", 4), ("kafka", 4)])
def test_a_service_restarted_mid_run_delays_but_loses_nothing(
    stream_lane: StreamLane, service: str, down_for: float
) -> None:
    address = f"127.0.0.1:{free_port()}"
    stream = start_stream(stream_lane, "--metrics-address", address)
    load = Load()
    try:
        wait_for(lambda: health(address)[0] == 200, 60, "the stream ready")
        load.start()
        wait_for(lambda: len(load.accepted) >= 200 and landed(load.accepted[:200]), 60, "the load flowing")

        assert run_script("services.sh", "stop", service).returncode == 0
        stopped_at = time.monotonic()
        if service in ("postgres", "s3"):
            # The stream meets the outage on its next write, and says so.
            body = wait_for(lambda: not_ready(address), 30, f"not ready for {service}")
            assert body is not None
            assert service in body["checks"], body
        time.sleep(max(0.0, down_for - (time.monotonic() - stopped_at)))
        assert stream.poll() is None, "the stream must wait for the service, not exit"
        assert run_script("services.sh", "up").returncode == 0

        time.sleep(3)  # load after the restart too
        load.stop()
        assert len(load.accepted) > 200
        wait_for(lambda: landed(load.accepted), 180, f"every accepted event in PostgreSQL after the {service} restart")
        wait_for(lambda: health(address)[0] == 200, 60, "the stream ready again")
    finally:
        load.stop()
        run_script("services.sh", "up")
        stream.send_signal(signal.SIGTERM)
        try:
            output, _ = stream.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            stream.kill()
            raise
        finally:
            print("the stream's output, last lines:\n" + stream.communicate()[0][-6000:])

    assert stream.returncode == 0, output[-3000:]
    assert "stream finished: DONE (signal SIGTERM)" in output
    landed_rows = len({row["correlation_id"] for row in rows_for(load.accepted)})
    assert landed_rows == len(load.accepted)
    # The lake holds each exactly once: an object the outage interrupted was written again, the same.
    in_lake = [line["metadata"]["correlationId"] for line in lake_lines("enriched", stream_lane.events_topic)]
    assert sorted(in_lake) == sorted(load.accepted)
    answers = ", ".join(f"{count} x {status}" for status, count in sorted(load.answers.items()))
    print(f"\n{service} down {down_for}s mid-run: {len(load.accepted)} accepted ({answers}), {landed_rows} landed")
