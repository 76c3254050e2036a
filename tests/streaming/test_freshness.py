"""The freshness window: quantiles of recent delays only (pure)."""

from __future__ import annotations

import math

from streaming.runtime.freshness import Freshness


def test_quantiles_are_the_nearest_rank_of_the_delays() -> None:
    freshness = Freshness(window_seconds=60)
    now = 1_000_000.0
    # 100 events written now, published 0.01 s to 1.00 s before.
    freshness.observe([int((now - i / 100) * 1000) for i in range(1, 101)], now=now)

    assert math.isclose(freshness.quantile(0.5, now=now), 0.50, abs_tol=0.002)
    assert math.isclose(freshness.quantile(0.99, now=now), 0.99, abs_tol=0.002)


def test_delays_older_than_the_window_are_forgotten() -> None:
    freshness = Freshness(window_seconds=60)
    freshness.observe([0], now=100.0)  # 100 s late, a backlog long ago
    freshness.observe([199_500], now=200.0)  # 0.5 s late, just now

    assert freshness.quantile(0.99, now=150.0) == 100.0  # both in the window
    assert freshness.quantile(0.99, now=200.0) == 0.5  # the old one has left it


def test_nothing_written_in_the_window_is_nan() -> None:
    assert math.isnan(Freshness().quantile(0.5))


def test_memory_is_bounded_whatever_the_rate() -> None:
    freshness = Freshness(max_samples=10)
    freshness.observe([0] * 1000, now=1.0)

    assert len(freshness._samples) == 10
