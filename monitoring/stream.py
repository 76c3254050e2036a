"""The stream job as its own HTTP server reports it (STREAM_METRICS_ADDRESS): readiness and freshness.

Read over HTTP, as Prometheus would: the job is another process, and the API
imports nothing of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import requests
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class StreamState:
    ready: bool
    detail: str  # "ready", or why not
    freshness_p50: float | None  # seconds; None when nothing was written lately
    freshness_p99: float | None


def _base() -> str:
    return f"http://{settings.STREAM_METRICS_ADDRESS}"


def stream_state() -> StreamState:
    """Readiness and freshness; an unreachable job is reported as not ready, with the reason."""
    if not settings.STREAM_METRICS_ADDRESS:
        return StreamState(False, "STREAM_METRICS_ADDRESS is empty: the job serves no health endpoint", None, None)
    try:
        ready = requests.get(f"{_base()}/health/ready", timeout=TIMEOUT_SECONDS)
        metrics = requests.get(f"{_base()}/metrics", timeout=TIMEOUT_SECONDS)
        metrics.raise_for_status()
    except requests.RequestException as error:
        return StreamState(False, f"no answer on {_base()}: {type(error).__name__}", None, None)
    if ready.status_code == 200:
        detail = "ready"
    else:
        checks = ready.json().get("checks", {}) if ready.headers.get("Content-Type") == "application/json" else {}
        detail = "; ".join(f"{name}: {check}" for name, check in checks.items()) or f"HTTP {ready.status_code}"
    quantiles: dict[str, float | None] = {}
    for family in text_string_to_metric_families(metrics.text):
        if family.name == "holded_stream_freshness_seconds":
            for sample in family.samples:
                value = float(sample.value)
                quantiles[sample.labels.get("quantile", "")] = None if math.isnan(value) else value
    return StreamState(ready.status_code == 200, detail, quantiles.get("0.5"), quantiles.get("0.99"))
