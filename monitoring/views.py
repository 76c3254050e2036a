"""GET /status: the platform at a glance, for people. Read-only; each section fails on its own.

What the page reads is bounded whatever the request rate: it is made at most
once every STATUS_CACHE_SECONDS (a request meanwhile gets the last one; while
it is being made again, the others keep getting the last one), and it reads a
bounded sample of the dead letters (monitoring/kafka.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from collector.health import run_checks
from integrations.clients import s3_client, topic
from monitoring import kafka
from monitoring.chart import Series, line_chart
from monitoring.database import enriched_per_minute
from monitoring.stream import stream_state

logger = logging.getLogger(__name__)
T = TypeVar("T")
F = TypeVar("F")
MINUTES = 60


@dataclass(frozen=True)
class Health:
    name: str
    ok: bool
    detail: str


def attempt(what: str, errors: list[str], read: Callable[[], T], fallback: F) -> T | F:
    """`read()`, or `fallback` with the error noted: one service down leaves the rest of the page."""
    try:
        return read()
    except Exception as error:  # a status page shows every failure, whatever its kind
        logger.warning("status: %s: %s", what, error)
        errors.append(f"{what}: {type(error).__name__}: {error}")
        return fallback


def _postgres() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = 'events'")
        (tables,) = cursor.fetchone() or (0,)
    if not tables:
        raise RuntimeError("no events table (run manage.py migrate)")
    return "events table present"


def _s3() -> str:
    s3_client().head_bucket(Bucket=settings.S3_BUCKET)
    return f"bucket {settings.S3_BUCKET} reachable"


def health() -> list[Health]:
    """The collector's own checks (Kafka, the registry), then the sinks the stream writes to."""
    rows = [Health(check.name, check.ok, check.detail) for check in run_checks()]
    for name, check in (("s3", _s3), ("postgres", _postgres)):
        try:
            rows.append(Health(name, True, check()))
        except Exception as error:  # reported, like the other checks
            rows.append(Health(name, False, f"{type(error).__name__}: {error}"))
    return rows


def status_context() -> dict[str, Any]:
    now_minute = int(time.time() // 60)
    minutes = list(range(now_minute - MINUTES + 1, now_minute + 1))
    errors: list[str] = []
    zeros = [0] * len(minutes)
    enriched = attempt("enriched per minute", errors, lambda: enriched_per_minute(minutes), zeros)
    accepted = attempt("events.raw per minute", errors, lambda: kafka.per_minute(topic("events"), minutes), None)
    no_letters = kafka.DeadLetters([], {}, 0, True)
    lag: list[kafka.Lag] = []
    if accepted is None:
        # Kafka did not answer: its other sections would each wait out the same timeout.
        accepted, dead, letters = zeros, zeros, no_letters
        errors.append("dead letters and stream lag: skipped, Kafka did not answer")
    else:
        dead = attempt(
            "dead letters per minute", errors, lambda: kafka.per_minute(topic("dead_letter"), minutes), zeros
        )
        letters = attempt("newest dead letters", errors, lambda: kafka.dead_letters(minutes), no_letters)
        lag = attempt("stream lag", errors, kafka.stream_lag, [])
    rejected = letters.by_stage_per_minute.get("collect", zeros)
    stream = stream_state()
    series = [
        Series("accepted", "#2563eb", accepted),
        Series("rejected", "#d97706", rejected),
        Series("enriched", "#059669", enriched, dashed=True),
        Series("dead letters", "#dc2626", dead, dashed=True),
    ]
    start = datetime.fromtimestamp(minutes[0] * 60, UTC)
    chart = line_chart(series, f"{start:%H:%M} UTC", "now", "Events per minute, the last hour")
    checks = health()
    return {
        "now": datetime.now(UTC),
        "health": checks,
        "healthy": all(check.ok for check in checks) and stream.ready,
        "stream": stream,
        "lag": lag,
        "lag_total": sum(row.behind for row in lag),
        "chart": mark_safe(chart),
        "totals": [(s.name, s.color, s.dashed, sum(s.values), s.values[-1]) for s in series],
        "letters": letters,
        "letter_times": [(datetime.fromtimestamp(letter.appended_ms / 1000, UTC), letter) for letter in letters.newest],
        "scan_limit": kafka.DEAD_LETTER_SCAN,
        "errors": errors,
        "stream_address": settings.STREAM_METRICS_ADDRESS,
    }


def _allowed(user: Any) -> bool:
    # In production the page shows dead-letter errors (which may quote event data): staff only.
    return not settings.STATUS_REQUIRE_STAFF or bool(user.is_staff)


@dataclass
class _Made:
    at: float
    key: tuple[Any, ...]
    context: dict[str, Any]


_made: _Made | None = None
_making = threading.Lock()


def _sources() -> tuple[Any, ...]:
    """What the page is read from: a page made from other settings (a test's) is not served."""
    return (
        settings.KAFKA_BOOTSTRAP_SERVERS,
        tuple(sorted(settings.KAFKA_TOPICS.items())),
        settings.STREAM_GROUP_ID,
        settings.STREAM_METRICS_ADDRESS,
        settings.S3_BUCKET,
        settings.DATABASES["default"]["NAME"],
    )


def cached_status_context() -> dict[str, Any]:
    """The page's context, made again at most every STATUS_CACHE_SECONDS by one request at a time."""
    global _made
    key, made = _sources(), _made
    fresh = made is not None and made.key == key and time.monotonic() - made.at < settings.STATUS_CACHE_SECONDS
    if made is not None and (fresh or (made.key == key and _making.locked())):
        return made.context  # fresh enough, or being made again by another request: the last one
    with _making:
        made = _made
        if made is not None and made.key == key and time.monotonic() - made.at < settings.STATUS_CACHE_SECONDS:
            return made.context  # made by the request this one waited for
        context = status_context()
        _made = _Made(time.monotonic(), key, context)
        return context


@user_passes_test(_allowed, login_url="admin:login")
def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/status.html", cached_status_context())
