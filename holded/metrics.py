"""Prometheus metrics of the API and of the stream, in one place.

The API serves them at /metrics. gunicorn runs several worker processes, so
when PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py sets it) each worker
writes its samples there and /metrics adds them up. The stream serves its own
on STREAM_METRICS_PORT.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# --- The collector -----------------------------------------------------------

COLLECT_EVENTS = Counter(
    "holded_collect_events_total", "Events by outcome: accepted, rejected, unconfirmed.", ["status"]
)
COLLECT_REJECTIONS = Counter(
    "holded_collect_rejections_total", "Rejected events by the first field named in their error.", ["field"]
)
COLLECT_PACKAGES = Counter("holded_collect_packages_total", "Packages by HTTP status.", ["status"])
COLLECT_ACK_SECONDS = Histogram(
    "holded_collect_kafka_ack_seconds",
    "From the first record produced to the last acknowledgement of a package.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# --- The stream --------------------------------------------------------------

STREAM_RECORDS = Counter("holded_stream_records_read_total", "Records read from Kafka.", ["topic"])
STREAM_LAG = Gauge("holded_stream_consumer_lag", "Records behind the end of the partition.", ["topic", "partition"])
STREAM_WRITTEN = Counter("holded_stream_events_written_total", "Enriched events written, by sink.", ["sink"])
STREAM_SINK_SECONDS = Histogram(
    "holded_stream_sink_flush_seconds",
    "Time a sink took to flush a bundle, retries included.",
    ["sink"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
STREAM_RETRIES = Counter("holded_stream_retries_total", "Retries of a service that did not answer.", ["what"])
STREAM_DEAD_LETTERS = Counter("holded_stream_dead_letters_total", "Records dead-lettered by the stream.")


def exposition() -> tuple[bytes, str]:
    """The current samples, in Prometheus' text format, from every worker where there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
