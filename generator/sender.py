"""Posting events to POST /collect in random packages, as the customer's kit did, and more.

Packages of `min_size` to `max_size` events (1 to 10, as the kit), at an
optional rate, from several threads. Sending more events than the file holds
cycles through it with a new message id for each resent event (the table
dedupes on message id and timestamp, so a resent id is stored once);
`resend_ids` keeps the file's ids on purpose, to watch that dedupe. A 429 is retried whole after its
Retry-After; a 503 says which events Kafka did not confirm, and only those
are sent again (the others are in Kafka already). Anything else but a 200
counts the package's events as failed. The summary says what became of
every event.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from generator.events import with_message_id

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


def packages(
    events: list[Any], *, min_size: int, max_size: int, total: int | None, seed: int, resend_ids: bool = False
) -> Iterator[list[Any]]:
    """Random-size packages over the events, cycling through them if `total` asks for more.

    From the second pass on, each event gets a new random message id (new
    at every run too), unless `resend_ids`. The seed fixes the package sizes.
    """
    rng = random.Random(seed)
    wanted = len(events) if total is None else total
    position = 0
    while position < wanted:
        size = min(rng.randint(min_size, max_size), wanted - position)
        package = []
        for index in range(position, position + size):
            event = events[index % len(events)]
            if index >= len(events) and not resend_ids:
                event = with_message_id(event, str(uuid.uuid4()))
            package.append(event)
        yield package
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

    @property
    def answered(self) -> int:
        """Events with an outcome: accepted, rejected or failed."""
        return self.accepted + self.rejected + self.failed


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
    progress_seconds: float = 0.25,
) -> Summary:
    """Post every package; `rate` in events/s (None: as fast as the server takes them).

    At most `concurrency` packages are in flight and as many more wait, so a
    large count neither builds a backlog in memory nor runs ahead of the
    answers; `progress` is called with the summary every `progress_seconds`
    while sending, and once at the end.
    """
    summary = Summary()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Api-Key {api_key}"
    local = threading.local()
    slots = threading.BoundedSemaphore(2 * concurrency)
    done = threading.Event()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session  # type: ignore[no-any-return]

    def post(batch: list[Any]) -> None:
        try:
            post_package(session(), url, batch, headers, summary)
        finally:
            slots.release()

    def report() -> None:
        assert progress is not None
        while not done.wait(progress_seconds):
            summary.seconds = time.monotonic() - started
            progress(summary)

    started = time.monotonic()
    reporter = threading.Thread(target=report, name="send-progress", daemon=True) if progress else None
    if reporter is not None:
        reporter.start()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            futures = []
            for batch in batches:
                if rate:
                    delay = started + summary.sent / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                slots.acquire()
                summary.packages += 1
                summary.sent += len(batch)
                futures.append(pool.submit(post, batch))
                # Drop the finished ones (their result() re-raises a bug, never hides it).
                futures = [future for future in futures if not (future.done() and future.result() is None)]
            for future in futures:
                future.result()
    finally:
        done.set()
        if reporter is not None:
            reporter.join()
    summary.seconds = time.monotonic() - started
    if progress is not None:
        progress(summary)
    return summary
