"""Prometheus metrics of the API, served at /metrics.

The server runs several worker processes, so when PROMETHEUS_MULTIPROC_DIR is
set (holded/server.py and scripts/platform.sh set it) each worker writes its
samples there and /metrics adds them up. The stream declares its own, apart
(streaming/runtime/metrics.py), so API workers never create the stream's files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from contract.schemas import field_paths, schema_path

COLLECT_EVENTS = Counter(
    "holded_collect_events_total", "Events by outcome: accepted, rejected, unconfirmed.", ["status"]
)
COLLECT_REJECTIONS = Counter(
    "holded_collect_rejections_total",
    "Rejected events by the first field named in their error: a field of the contract, else other.",
    ["field"],
)
# The labels `field` may take: a label is a series for the life of the process, so none comes from a request.
# Each field of the events contract, the containers normalization names, and what is not a field.
REJECTION_FIELDS = frozenset(
    [*field_paths(json.loads(schema_path("events.raw-value").read_text())), "event", "headers", "encoding"]
)
OTHER_FIELD = "other"
COLLECT_PACKAGES = Counter("holded_collect_packages_total", "Packages by HTTP status.", ["status"])
COLLECT_QUEUE_FULL = Counter(
    "holded_collect_queue_full_total", "Records refused because the Kafka producer's bounded queue was full (a 503)."
)
COLLECT_ACK_SECONDS = Histogram(
    "holded_collect_kafka_ack_seconds",
    "From the first record produced to the last acknowledgement of a package.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


@lru_cache(maxsize=128)  # the statuses and REJECTION_FIELDS are few
def _child(metric: Counter, label: str) -> Any:
    """The child of `metric` for `label`, resolved once (labels() takes a lock and a lookup).

    In multiprocess mode a child still writes to the file of the process it
    runs in: it checks the pid at every change.
    """
    return metric.labels(label)


def count_events(counts: Mapping[Any, int]) -> None:
    """Events of one package by outcome (accepted, rejected, unconfirmed)."""
    for status, count in counts.items():
        if count:
            _child(COLLECT_EVENTS, status).inc(count)


def count_rejection(field: str) -> None:
    """One rejected event, by the first field its error names (one of REJECTION_FIELDS, else other)."""
    _child(COLLECT_REJECTIONS, field if field in REJECTION_FIELDS else OTHER_FIELD).inc()


def count_package(status: int) -> None:
    """One answer of POST /collect, by its HTTP status."""
    _child(COLLECT_PACKAGES, str(status)).inc()


def exposition() -> tuple[bytes, str]:
    """The current samples, in Prometheus' text format, from every worker where there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
