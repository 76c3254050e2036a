"""Waiting out a service outage: one policy, built from the settings, passed to every transform.

A service that does not answer delays the stream; it never turns records
into dead letters and never skips them. The policy itself holds no state and
reports nothing on its own: the caller hands in its hooks (the process's
Host, streaming/pipeline/host.py), which make the job not ready while a
service is failing, count the retries, and say when a stop was asked. A stop
asked meanwhile fails the bundle, so nothing is committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from streaming.pipeline.host import RetryHooks

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Which failures are a service's (wait them out), given as the exception types, or as a test of the error.
Transient = tuple[type[Exception], ...] | Callable[[Exception], bool]


class StoppedDuringOutage(RuntimeError):
    """A stop was asked while a service was down: the bundle fails, nothing is committed."""


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 0.5  # seconds before the second attempt
    max_delay: float = 15.0  # the wait doubles after each failure, up to this
    sleep: Callable[[float], None] = time.sleep  # the clock the waits are taken on

    def run(
        self,
        action: Callable[[], T],
        *,
        what: str,
        service: str,
        transient: Transient,
        hooks: RetryHooks,
        on_retry: Callable[[], None] | None = None,
    ) -> T:
        """Run `action` until it succeeds, waiting longer after each `transient` failure of `service`.

        Any other failure is raised at once: it is not the service's to wait out.
        """
        is_transient = transient if callable(transient) else (lambda error: isinstance(error, transient))
        delay = self.first_delay
        attempt = 1
        while True:
            try:
                result = action()
            except Exception as error:
                if not is_transient(error):
                    raise
                hooks.failing(service, f"{type(error).__name__}: {error}")
                if hooks.stop_requested():
                    raise StoppedDuringOutage(f"{what}: stop requested while failing: {error}") from error
                logger.warning("%s failed (attempt %s), retrying in %.1fs: %s", what, attempt, delay, error)
                hooks.retried(service)
                self.sleep(delay)
                delay = min(delay * 2, self.max_delay)
                attempt += 1
                if on_retry is not None:
                    on_retry()
            else:
                hooks.recovered(service)
                return result
