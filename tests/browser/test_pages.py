"""Every page a person opens, in a real browser (headless Chromium), against the API as served and the real services.

Swagger UI sends its example to /collect, the browsable API is styled and
its form posts a package, and /status shows what just happened: the counts,
the stream, and the newest dead letter with its error. Each test leaves a
screenshot (docs/screenshots when HOLDED_SCREENSHOTS says so).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from collector.api import EXAMPLE_EVENT
from tests.support.api import api_server
from tests.support.browser import chromium, screenshot
from tests.support.lanes import StreamLane, free_port
from tests.support.stream import committed_offset, ready, rows_for, start_stream, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MESSAGE_ID = "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\MessageIdStamp"
TIMESTAMP = "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\TimestampStamp"


def fresh_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(json.dumps(EXAMPLE_EVENT))
    event["attributes"][MESSAGE_ID] = str(uuid.uuid4())
    event["attributes"][TIMESTAMP] = datetime.now(UTC).isoformat(timespec="seconds")
    return event


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as session:
        yield session


@pytest.fixture
def api(stream_lane: StreamLane, tmp_path: Path) -> Iterator[str]:
    """The API (python -m holded.server) and the stream job on this test's lane, each a process; the API's URL."""
    stream_address = f"127.0.0.1:{free_port()}"
    env = {**stream_lane.environment(), "STREAM_METRICS_ADDRESS": stream_address}
    job = start_stream(stream_lane, "--idle-timeout", "600", env={"STREAM_METRICS_ADDRESS": stream_address})
    try:
        wait_for(lambda: ready(stream_address) or job.poll() is not None, 120, "the stream job is ready")
        assert job.poll() is None, job.communicate()[0]
        with api_server(free_port(), env, tmp_path) as served:
            yield served.url
    finally:
        job.terminate()
        job.communicate(timeout=60)


def wait(browser: webdriver.Chrome, seconds: float = 30) -> WebDriverWait[webdriver.Chrome]:
    return WebDriverWait(browser, seconds)


def resources_off_site(browser: webdriver.Chrome, base: str) -> list[str]:
    """Every script, style sheet or image the page fetched from anywhere but the app.

    A request the page's Content-Security-Policy blocked never left the
    browser: it does not count (Redoc's sidebar asks for its vendor's logo).
    """
    urls: list[str] = browser.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)")
    blocked = " ".join(
        entry["message"]
        for entry in browser.get_log("browser")  # type: ignore[no-untyped-call]
        if entry.get("source") == "security" and "has been blocked" in entry["message"]
    )
    return [url for url in urls if not url.startswith(base) and f"'{url}'" not in blocked]


def test_swagger_ui_sends_the_example_and_gets_200(api: str, browser: webdriver.Chrome, tmp_path: Path) -> None:
    browser.get(f"{api}/api/docs/")
    operation = wait(browser).until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, ".opblock-post .opblock-summary"))
    )
    assert "/collect" in operation.text
    operation.click()
    wait(browser).until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, ".try-out__btn"))).click()
    wait(browser).until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, ".execute"))).click()

    status = wait(browser).until(
        expected_conditions.visibility_of_element_located(
            (By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")
        )
    )
    assert status.text.strip() == "200"
    body = browser.find_element(By.CSS_SELECTOR, ".live-responses-table .response-col_description pre").text
    assert json.loads(body)["accepted"] == 1, body
    assert resources_off_site(browser, api) == []
    screenshot(browser, "api-docs", tmp_path)


def test_redoc_renders_the_collect_operation(api: str, browser: webdriver.Chrome) -> None:
    browser.get(f"{api}/api/redoc/")

    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), "/collect"))
    assert "Holded event collector" in browser.find_element(By.TAG_NAME, "body").text
    assert resources_off_site(browser, api) == []


def test_the_browsable_api_is_styled_and_its_form_posts_a_package(
    api: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(f"{api}/collect")
    navbar = wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".navbar")))
    # Bootstrap's style sheet loaded (a 404 would leave the bar transparent and the fonts default).
    assert navbar.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert browser.execute_script("return [...document.styleSheets].some(s => s.href && s.href.includes('bootstrap'))")

    content = browser.find_element(By.ID, "id__content")
    content.clear()
    content.send_keys(json.dumps([fresh_event()]))
    browser.find_element(By.CSS_SELECTOR, "#post-generic-content-form form button.btn-primary").click()

    # The page is replaced by the POST's answer (until then it shows the GET's 405).
    wait(browser).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".response-info"), "HTTP 200 OK")
    )
    assert '"accepted": 1' in browser.find_element(By.CSS_SELECTOR, ".response-info").text
    assert resources_off_site(browser, api) == []
    screenshot(browser, "browsable-api", tmp_path)


def test_the_status_page_shows_the_counts_the_stream_and_the_newest_dead_letter(
    api: str, browser: webdriver.Chrome, tmp_path: Path, stream_lane: StreamLane
) -> None:
    invalid = fresh_event()
    invalid["data"]["amount"] = "lots"
    answer = requests.post(f"{api}/collect", json=[fresh_event(), fresh_event(), invalid], timeout=30).json()
    accepted = [item["correlationId"] for item in answer["events"] if item["status"] == "accepted"]
    (rejected,) = [item for item in answer["events"] if item["status"] == "rejected"]
    wait_for(lambda: len(rows_for(accepted)) == 2, 60, "the stream wrote both rows")
    # The commit follows the rows: after the lake's object (the lag the page shows is the commit's).
    wait_for(lambda: committed_offset(stream_lane) == 2, 60, "the stream committed both records")

    browser.get(f"{api}/status")

    assert browser.find_element(By.ID, "overall").text == "Every part is up"
    health = browser.find_element(By.ID, "health").text
    for part in ("kafka", "schemaRegistry", "s3", "postgres", "stream job"):
        assert part in health
    assert "down" not in health
    assert "not ready" not in health
    lines = browser.find_elements(By.CSS_SELECTOR, "#counts svg polyline")
    assert [line.get_attribute("data-series") for line in lines] == ["accepted", "rejected", "enriched", "dead letters"]
    counts = {
        # Counts are written with thousands separators (6,488).
        row.find_elements(By.TAG_NAME, "td")[0].text: int(row.find_elements(By.TAG_NAME, "td")[1].text.replace(",", ""))
        for row in browser.find_elements(By.CSS_SELECTOR, "#counts .legend tbody tr")
    }
    assert (counts["accepted"], counts["rejected"], counts["dead letters"]) == (2, 1, 1)  # this test's topics
    assert counts["enriched"] >= 2  # the database is shared with the tests before
    assert "0 records behind" in browser.find_element(By.ID, "lag").text
    stream = browser.find_element(By.ID, "stream").text
    assert "freshness p99" in stream
    assert "no event written" not in stream  # two were, seconds ago
    letters = browser.find_element(By.ID, "dead-letters").text
    assert rejected["correlationId"] in letters
    assert "data.amount" in letters
    assert resources_off_site(browser, api) == []
    screenshot(browser, "status", tmp_path)
