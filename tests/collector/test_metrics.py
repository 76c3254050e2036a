"""Prometheus metrics of the API, as /metrics serves them."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.support.factories import brief_event
from tests.support.lanes import Lane

pytestmark = pytest.mark.integration


def samples(client: APIClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_collect_counts_events_by_outcome_and_rejections_by_field(client: APIClient, lane: Lane) -> None:
    before = samples(client)
    package = [brief_event(), brief_event(data={"id": "x", "amount": "bad"}), brief_event()]

    assert client.post("/collect", json.dumps(package), content_type="application/json").status_code == 200
    assert client.post("/collect", b"nope", content_type="application/json").status_code == 400
    after = samples(client)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("holded_collect_events_total", status="accepted") == 2
    assert grew("holded_collect_events_total", status="rejected") == 1
    assert grew("holded_collect_rejections_total", field="data.amount") == 1
    assert grew("holded_collect_packages_total", status="200") == 1
    assert grew("holded_collect_packages_total", status="400") == 1
    assert grew("holded_collect_kafka_ack_seconds_count") == 1
