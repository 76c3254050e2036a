"""Prometheus metrics of the API, as /metrics serves them."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from collector.metrics import REJECTION_FIELDS, count_rejection
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


def test_a_rejection_s_label_is_a_field_of_the_contract_or_other() -> None:
    # A label is a series for the life of the process: none may come from what a client sends.
    count_rejection("data.amount")
    count_rejection("data.\x00" + "k" * 1000)
    count_rejection("attributes.amplitudeTrackStamp.id")

    labels = {labels["field"] for labels in rejection_labels()}
    assert "data.amount" in labels
    assert "other" in labels
    assert labels <= REJECTION_FIELDS | {"other"}


def test_ten_thousand_hostile_keys_do_not_grow_the_metrics(client: APIClient, lane: Lane) -> None:
    def hostile_package(start: int) -> list[object]:
        events: list[object] = []
        for index in range(start, start + 1000):
            event = brief_event(data={"id": "x", "amount": "bad"})
            event["data"][f"key-{index}-\x00"] = "\x00"  # a key and a NUL the schema does not carry
            event["attributes"][f"X-Message-Stamp-{index}\\Hostile"] = {f"k{index}": index}
            events.append(event)
        return events

    assert client.post("/collect", json.dumps(hostile_package(0)), content_type="application/json").status_code == 200
    size = len(client.get("/metrics").content)
    for start in range(1000, 10_000, 1000):
        response = client.post("/collect", json.dumps(hostile_package(start)), content_type="application/json")
        assert response.status_code == 200
    after = client.get("/metrics").content

    assert len(after) <= size + 64, "the metrics grew with what clients sent"  # a counter's digits, no series


def rejection_labels() -> list[dict[str, str]]:
    from prometheus_client import REGISTRY

    return [
        sample.labels
        for family in REGISTRY.collect()
        if family.name == "holded_collect_rejections"
        for sample in family.samples
        if sample.name == "holded_collect_rejections_total"
    ]
