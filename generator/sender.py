"""Posting events to POST /collect in random packages, as the customer's kit did, and more.

Packages of `min_size` to `max_size` events (1 to 10, as the kit), at an
optional rate, from several threads. A 429 is retried whole after its
Retry-After; a 503 says which events Kafka did not confirm, and only those
are sent again (the others are in Kafka already). Anything else but a 200
counts the package's events as failed. The summary says what became of
every event.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 30.0


class EventsFileError(ValueError):
    """A line of the events file that is not JSON."""


def read_events(path: Path) -> list[Any]:
    """The events of a JSON Lines file (blank lines skipped)."""
    events = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except ValueError as error:
                raise EventsFileError(f"{path}:{number}: not JSON: {error}") from None
    return events


def packages(events: list[Any], *, min_size: int, max_size: int, total: int | None, seed: int) -> Iterator[list[Any]]:
    """Random-size packages over the events (cycling through them if `total` asks for more)."""
    rng = random.Random(seed)
    wanted = len(events) if total is None else total
    position = 0
    while position < wanted:
        size = min(rng.randint(min_size, max_size), wanted - position)
        yield [events[(position + i) % len(events)] for i in range(size)]
        position += size


@dataclass
class Summary:
    packages: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    retries: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, accepted: int = 0, rejected: int = 0, failed: int = 0, error: str | None = None) -> None:
        with self._lock:
            self.accepted += accepted
            self.rejected += rejected
            self.failed += failed
            if error is not None:
                self.errors[error] = self.errors.get(error, 0) + 1

    def lines(self) -> list[str]:
        rate = self.sent / self.seconds if self.seconds else 0.0
        lines = [
            f"packages {self.packages}, events sent {self.sent}: accepted {self.accepted}, "
            f"rejected {self.rejected}, failed {self.failed} (retries {self.retries})",
            f"{self.seconds:.1f}s, {rate:.0f} events/s",
        ]
        lines += [f"  {count} x {error}" for error, count in sorted(self.errors.items())]
        return lines


def _wait(response: requests.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", "1")), MAX_WAIT_SECONDS)
    except ValueError:
        return 1.0


def post_package(
    session: requests.Session, url: str, package: list[Any], headers: dict[str, str], summary: Summary
) -> None:
    pending = package
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = session.post(url, data=json.dumps(pending), headers=headers, timeout=60)
        except requests.RequestException as error:
            summary.add(failed=len(pending), error=f"{type(error).__name__}")
            return
        if response.status_code == 200:
            statuses = [item["status"] for item in response.json()["events"]]
            summary.add(accepted=statuses.count("accepted"), rejected=statuses.count("rejected"))
            return
        if response.status_code in (429, 503) and attempt < MAX_ATTEMPTS:
            if response.status_code == 503:
                outcome = response.json().get("events", [])
                statuses = [item["status"] for item in outcome]
                summary.add(accepted=statuses.count("accepted"), rejected=statuses.count("rejected"))
                pending = [pending[item["index"]] for item in outcome if item["status"] == "unconfirmed"] or pending
            with summary._lock:
                summary.retries += 1
            time.sleep(_wait(response))
            continue
        summary.add(failed=len(pending), error=f"HTTP {response.status_code}")
        return


def send(
    batches: Iterable[list[Any]],
    *,
    url: str,
    rate: float | None = None,
    concurrency: int = 4,
    api_key: str | None = None,
    progress: Callable[[Summary], None] | None = None,
) -> Summary:
    """Post every package; `rate` in events/s (None: as fast as the server takes them)."""
    summary = Summary()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Api-Key {api_key}"
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session  # type: ignore[no-any-return]

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        futures = []
        for batch in batches:
            if rate:
                delay = started + summary.sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            summary.packages += 1
            summary.sent += len(batch)
            futures.append(pool.submit(lambda b: post_package(session(), url, b, headers, summary), batch))
            if progress is not None and summary.packages % 50 == 0:
                progress(summary)
        for future in futures:
            future.result()
    summary.seconds = time.monotonic() - started
    return summary


def print_progress(summary: Summary) -> None:
    done = summary.accepted + summary.rejected + summary.failed
    sys.stderr.write(
        f"\r{summary.packages} packages, {summary.sent} sent, {done} answered "
        f"({summary.accepted} accepted, {summary.rejected} rejected, {summary.failed} failed)"
    )
    sys.stderr.flush()
