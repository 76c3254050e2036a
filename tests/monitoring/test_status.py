"""GET /status through Django's test client: a part that is down is shown, never a 5xx; staff only when asked."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from monitoring.chart import Series, line_chart
from tests.support.lanes import Lane, free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_stream_that_does_not_answer_is_shown_not_ready(lane: Lane, settings: SettingsWrapper) -> None:
    settings.STREAM_METRICS_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there

    response = Client().get("/status")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Something needs attention" in page
    assert re.search(r"stream job</td><td class=\"down\">not ready</td><td>no answer on http://127\.0\.0\.1:\d+", page)
    assert "No dead letter in the last hour." in page


def test_kafka_down_leaves_the_rest_of_the_page(lane: Lane, settings: SettingsWrapper) -> None:
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{free_port()}"  # a broker that is not there
    from monitoring import kafka

    clients = (kafka._consumer, kafka._admin)
    for held in clients:
        held.discard()  # the page's clients are made from the settings on first use
    try:
        response = Client().get("/status")
    finally:
        for held in clients:
            held.discard()

    assert response.status_code == 200
    page = response.content.decode()
    assert "Could not read" in page
    assert "events.raw per minute" in page
    assert 'postgres</td><td class="ok">up' in page  # the database section still answered


def test_production_shows_the_page_to_staff_only(lane: Lane, settings: SettingsWrapper) -> None:
    settings.STATUS_REQUIRE_STAFF = True
    client = Client()

    anonymous = client.get("/status")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")

    client.force_login(User.objects.create_user("operator", is_staff=True))
    assert client.get("/status").status_code == 200


def test_the_chart_draws_one_line_per_series_scaled_to_a_round_top() -> None:
    svg = line_chart(
        [Series("accepted", "#00f", [0, 5, 12]), Series("rejected", "#f00", [1, 0, 0], dashed=True)],
        "12:00",
        "now",
        "t",
    )

    assert svg.count("<polyline") == 2
    assert ">20</text>" in svg  # 12 rounds up to 20
    assert 'data-series="accepted"' in svg
    assert "accepted: 17 in the hour" in svg
    assert svg.count("stroke-dasharray") == 1  # the dashed one stays visible over an equal line


def test_names_in_the_chart_are_escaped() -> None:
    svg = line_chart([Series("<script>", "#000", [1])], "<a>", "now", "<b>")

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_the_page_is_made_once_a_period_whatever_the_request_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cache alone (pure): the page's reading is replaced by a slow count of how often it happens.
    from monitoring import views

    made: list[float] = []

    def slow_reading() -> dict[str, object]:
        made.append(time.monotonic())
        time.sleep(0.3)
        return {"n": len(made)}

    monkeypatch.setattr(views, "status_context", slow_reading)
    monkeypatch.setattr(views, "_made", None)
    with ThreadPoolExecutor(16) as pool:
        contexts = list(pool.map(lambda _: views.cached_status_context(), range(200)))

    assert len(made) == 1  # 200 requests at once: one reading, the others waited for it or got it
    assert all(context == {"n": 1} for context in contexts)
