"""Readiness: can this API process reach Kafka and the Schema Registry, the only services it uses?"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from collector import kafka
from collector.schema import events_subject
from integrations.clients import registry_client

TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def _kafka() -> str:
    metadata = kafka.get_producer().list_topics(timeout=TIMEOUT_SECONDS)
    missing = [name for name in settings.KAFKA_TOPICS.values() if name not in metadata.topics]
    if missing:
        raise RuntimeError(f"missing topics: {', '.join(missing)} (run scripts/create-topics.sh)")
    return f"{len(metadata.brokers)} broker(s), topics present"


def _schema_registry() -> str:
    latest = registry_client().get_version(events_subject(), "latest")
    return f"{events_subject()} version {latest.version} (schema id {latest.schema_id})"


CHECKS: dict[str, Callable[[], str]] = {"kafka": _kafka, "schemaRegistry": _schema_registry}


def run_checks() -> list[Check]:
    results = []
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            detail, ok = check(), True
        except Exception as error:  # a health check reports every failure, whatever its kind
            detail, ok = f"{type(error).__name__}: {error}", False
        results.append(Check(name, ok, detail, round(time.monotonic() - started, 3)))
    return results
