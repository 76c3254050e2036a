"""How fresh the sinks are: seconds from Kafka's append (publishTime) to the last sink's flush.

Kept over a sliding window of recent events, so the quantiles describe the
stream now rather than since it started (a Prometheus histogram would mix a
morning's backlog into the afternoon). Observed when the lake, the last
sink, holds an object: by then PostgreSQL holds its rows too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Sequence

WINDOW_SECONDS = 300.0
# Memory stays bounded whatever the rate: past this many samples the oldest go first.
MAX_SAMPLES = 100_000


class Freshness:
    def __init__(self, window_seconds: float = WINDOW_SECONDS, max_samples: int = MAX_SAMPLES) -> None:
        self._window = window_seconds
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)  # (when observed, delay)
        self._lock = threading.Lock()

    def observe(self, publish_times_ms: Sequence[int], now: float | None = None) -> None:
        """Record the delay of each event written at `now` (Unix seconds)."""
        now = time.time() if now is None else now
        with self._lock:
            self._samples.extend((now, max(0.0, now - ms / 1000)) for ms in publish_times_ms)

    def quantiles(self, qs: tuple[float, ...], now: float | None = None) -> list[float]:
        """The q-quantiles of the window's delays, in seconds, from one sort; NaN when nothing was written in it."""
        now = time.time() if now is None else now
        with self._lock:
            while self._samples and self._samples[0][0] < now - self._window:
                self._samples.popleft()
            delays = sorted(delay for _, delay in self._samples)
        if not delays:
            return [float("nan")] * len(qs)
        # Nearest rank: the smallest delay at or above which a share q of the events lie.
        return [delays[max(0, math.ceil(q * len(delays)) - 1)] for q in qs]

    def quantile(self, q: float, now: float | None = None) -> float:
        return self.quantiles((q,), now)[0]
