"""Prometheus metrics of the stream, served by streaming/runtime/health.py on STREAM_METRICS_ADDRESS.

Declared on a registry of the stream's own: the API's metrics
(collector/metrics.py) are another process's, and neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streaming.runtime.freshness import WINDOW_SECONDS, Freshness
from streaming.runtime.supervisor import RESTARTS_ENV

REGISTRY = CollectorRegistry()

STREAM_RECORDS = Counter("holded_stream_records_read_total", "Records read from Kafka.", ["topic"], registry=REGISTRY)
STREAM_LAG = Gauge(
    "holded_stream_consumer_lag",
    "Records behind the end of the partition.",
    ["topic", "partition"],
    registry=REGISTRY,
    # With workers in processes of their own (streaming/runtime/workers.py): the last worker to read the partition.
    multiprocess_mode="mostrecent",
)
STREAM_WRITTEN = Counter(
    "holded_stream_events_written_total", "Enriched events written, by sink.", ["sink"], registry=REGISTRY
)
STREAM_OBJECTS = Counter(
    "holded_stream_objects_written_total", "Lake objects written to S3, by prefix.", ["prefix"], registry=REGISTRY
)
STREAM_SINK_SECONDS = Histogram(
    "holded_stream_sink_flush_seconds",
    "Time a sink took to write one object's records (PostgreSQL: one batch of them), retries included.",
    ["sink"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
STREAM_RETRIES = Counter(
    "holded_stream_retries_total", "Retries of a service that did not answer.", ["what"], registry=REGISTRY
)
STREAM_DEAD_LETTERS = Counter(
    "holded_stream_dead_letters_total", "Records dead-lettered by the stream.", registry=REGISTRY
)
STREAM_RESTARTS = Counter(
    "holded_stream_restarts_total",
    "Times the supervisor (run_stream --supervise) restarted the job after it exited.",
    registry=REGISTRY,
)
# This process is the supervisor's nth start: the restarts before it, carried over.
STREAM_RESTARTS.inc(int(os.environ.get(RESTARTS_ENV) or 0))

FRESHNESS = Freshness()
FRESHNESS_QUANTILES = (0.5, 0.99)


def freshness_family(values: Iterable[tuple[str, float]]) -> GaugeMetricFamily:
    """holded_stream_freshness_seconds, one sample per (quantile, seconds)."""
    family = GaugeMetricFamily(
        "holded_stream_freshness_seconds",
        "Seconds from Kafka's append (publishTime) to the last sink's flush, over the events written in the"
        f" last {WINDOW_SECONDS:.0f} s (NaN when none were).",
        labels=["quantile"],
    )
    for quantile, value in values:
        family.add_metric([quantile], value)
    return family


class _FreshnessCollector(Collector):
    """holded_stream_freshness_seconds{quantile}: both quantiles from one sort of the window, per scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        quantiles = FRESHNESS.quantiles(FRESHNESS_QUANTILES)
        yield freshness_family(zip(map(str, FRESHNESS_QUANTILES), quantiles, strict=True))


REGISTRY.register(_FreshnessCollector())
