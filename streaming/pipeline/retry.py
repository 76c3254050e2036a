"""Waiting out a service outage: one policy, built from the settings, passed to every transform.

A service that does not answer delays the stream; it never turns records
into dead letters and never skips them. While it is retried, the job reports
not ready (streaming/runtime/lifecycle.py) and counts each retry in its metrics; a
stop asked for meanwhile fails the bundle, so nothing is committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from streaming.runtime import lifecycle
from streaming.runtime.metrics import STREAM_RETRIES

logger = logging.getLogger(__name__)

T = TypeVar("T")


class StoppedDuringOutage(RuntimeError):
    """A stop was asked while a service was down: the bundle fails, nothing is committed."""


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 0.5  # seconds before the second attempt
    max_delay: float = 15.0  # the wait doubles after each failure, up to this

    def run(
        self,
        action: Callable[[], T],
        *,
        what: str,
        service: str,
        transient: tuple[type[BaseException], ...],
        on_retry: Callable[[], None] | None = None,
    ) -> T:
        """Run `action` until it succeeds, waiting longer after each `transient` failure of `service`."""
        delay = self.first_delay
        attempt = 1
        while True:
            try:
                result = action()
            except transient as error:
                lifecycle.note_failing(service, f"{type(error).__name__}: {error}")
                if lifecycle.stop_requested():
                    raise StoppedDuringOutage(f"{what}: stop requested while failing: {error}") from error
                logger.warning("%s failed (attempt %s), retrying in %.1fs: %s", what, attempt, delay, error)
                STREAM_RETRIES.labels(service).inc()
                time.sleep(delay)
                delay = min(delay * 2, self.max_delay)
                attempt += 1
                if on_retry is not None:
                    on_retry()
            else:
                lifecycle.note_recovered(service)
                return result
