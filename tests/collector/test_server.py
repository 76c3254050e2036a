"""The API as production serves it: granian, and the door in front of Django (collector/wsgi.py).

Every request here crosses a real socket to `python -m holded.server`, which
produces to the real Kafka. A POST /collect goes through the door to
collector.endpoint; the same request through Django's test client goes
through DRF's view to the same endpoint, and both must answer alike.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from rest_framework.test import APIClient

from tests.support.api import api_server
from tests.support.factories import brief_event
from tests.support.kafka import header_map, read_topic, topic_size
from tests.support.lanes import Lane, free_port

pytestmark = pytest.mark.integration

KEYS = "door-key-one,door-key-two"


def lane_env(lane: Lane, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_TOPIC_EVENTS": lane.events_topic,
        "KAFKA_TOPIC_DEAD_LETTER": lane.dead_letter_topic,
        **extra,
    }


@pytest.fixture
def api(lane: Lane, tmp_path: Path) -> Iterator[str]:
    with api_server(free_port(), lane_env(lane), tmp_path) as served:
        yield served.url


def test_a_package_through_the_door_is_on_kafka_with_the_security_headers(api: str, lane: Lane) -> None:
    response = requests.post(f"{api}/collect", json=[brief_event(), {"data": 1}], timeout=30)

    assert response.status_code == 200
    body = response.json()
    assert [e["status"] for e in body["events"]] == ["accepted", "rejected"]
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    (record,) = read_topic(lane.events_topic, expected=1)
    assert (record.key() or b"").decode() == body["events"][0]["correlationId"]
    assert header_map(record)["packageId"] == body["packageId"]
    (letter,) = read_topic(lane.dead_letter_topic, expected=1)
    assert header_map(letter)["correlationId"] == body["events"][1]["correlationId"]


FAULTS = {
    "malformed": (b"[{not json", "application/json", {}),
    "an object": (b'{"data": {}}', "application/json", {}),
    "empty array": (b"[]", "application/json", {}),
    "NaN": (b'[{"data": {"id": "x", "amount": NaN}}]', "application/json", {}),
    "1e400": (b'[{"data": {"id": "x", "amount": 1e400}}]', "application/json", {}),
    "not UTF-8": (b"\xff\xfe[", "application/json", {}),
    "too deep": (b"[" * 100_000 + b"]" * 100_000, "application/json", {}),
    "text/plain": (b"[{}]", "text/plain", {}),
    "a form": (b"a=1", "application/x-www-form-urlencoded", {}),
    "brotli": (b"[{}]", "application/json", {"Content-Encoding": "br"}),
    "not gzip": (b"[{}]", "application/json", {"Content-Encoding": "gzip"}),
    "a gzip bomb": (gzip.compress(b"[" + b" " * 3_000_000 + b"]"), "application/json", {"Content-Encoding": "gzip"}),
    "over 1 MiB": (b"[" + b"1," * 600_000 + b"1]", "application/json", {}),
    "1001 events": (json.dumps([{}] * 1001).encode(), "application/json", {}),
}


def meta(headers: dict[str, str]) -> dict[str, Any]:
    """Request headers as Django's test client takes them (WSGI environ names)."""
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_both_doors_refuse_a_faulty_request_alike(api: str, client: APIClient, lane: Lane, fault: str) -> None:
    body, content_type, headers = FAULTS[fault]

    served = requests.post(f"{api}/collect", data=body, headers={"Content-Type": content_type, **headers}, timeout=30)
    direct = client.post("/collect", body, content_type=content_type, **meta(headers))

    assert 400 <= served.status_code < 500
    assert (served.status_code, served.json()) == (direct.status_code, direct.json())
    assert topic_size(lane.events_topic) == 0
    assert topic_size(lane.dead_letter_topic) == 0


def without_ids(body: dict[str, Any]) -> dict[str, Any]:
    events = [{k: v for k, v in e.items() if k != "correlationId"} for e in body["events"]]
    return {**{k: v for k, v in body.items() if k != "packageId"}, "events": events}


def test_both_doors_judge_each_event_alike(api: str, client: APIClient, lane: Lane) -> None:
    huge = brief_event()
    huge["data"]["amount"] = 10**400
    nul = brief_event(attributes={"type": "invoice\u0000created"})
    package = [brief_event(), huge, nul, "text", {"data": {"id": 1}}]

    served = requests.post(f"{api}/collect", json=package, timeout=30)
    direct = client.post("/collect", json.dumps(package), content_type="application/json")

    assert served.status_code == direct.status_code == 200
    assert without_ids(served.json()) == without_ids(direct.json())
    assert [e["status"] for e in served.json()["events"]] == ["accepted"] + ["rejected"] * 4


def test_a_host_outside_allowed_hosts_is_a_400(api: str, lane: Lane) -> None:
    response = requests.post(f"{api}/collect", json=[brief_event()], headers={"Host": "evil.example"}, timeout=30)

    assert response.status_code == 400
    assert response.json()["error"] == "disallowed_host"
    assert topic_size(lane.events_topic) == 0


def test_a_browser_gets_the_browsable_page_from_django(api: str, lane: Lane) -> None:
    response = requests.post(
        f"{api}/collect", json=[brief_event()], headers={"Accept": "text/html,application/xhtml+xml"}, timeout=30
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Take a package of events" in response.text
    assert len(read_topic(lane.events_topic, expected=1)) == 1


def test_keys_and_the_rate_are_enforced_at_the_door(lane: Lane, tmp_path: Path) -> None:
    env = lane_env(lane, COLLECT_REQUIRE_API_KEY="true", COLLECT_API_KEYS=KEYS, COLLECT_THROTTLE_RATE="2/minute")
    with api_server(free_port(), env, tmp_path) as served:
        base = served.url

        def post(**headers: str) -> requests.Response:
            return requests.post(f"{base}/collect", json=[brief_event()], headers=headers, timeout=30)

        missing, wrong = post(), post(Authorization="Api-Key nope")
        first = [post(Authorization="Api-Key door-key-one").status_code for _ in range(2)]
        throttled = post(Authorization="Api-Key door-key-one")
        other_key = post(**{"X-Api-Key": "door-key-two"})

    assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, "Api-Key")
    assert missing.json()["error"] == "not_authenticated"
    assert (wrong.status_code, wrong.json()["error"]) == (401, "authentication_failed")
    assert first == [200, 200]
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert other_key.status_code == 200  # each key has its own count
    assert topic_size(lane.events_topic) == 3


def kafka_pid() -> int:
    found = subprocess.run(["pgrep", "-f", "kafka.Kafka"], capture_output=True, text=True, check=False).stdout.split()
    assert found, "no Kafka broker process"
    return int(found[0])


def test_a_stop_lets_a_request_waiting_for_kafka_finish_with_its_answer(lane: Lane, tmp_path: Path) -> None:
    env = lane_env(lane, KAFKA_DELIVERY_TIMEOUT_SECONDS="3")
    answers: list[requests.Response | Exception] = []
    with api_server(free_port(), env, tmp_path) as served:
        base = served.url
        assert requests.post(f"{base}/collect", json=[brief_event()], timeout=30).status_code == 200  # connected
        broker = kafka_pid()
        os.kill(broker, signal.SIGSTOP)  # Kafka stops answering: the next request waits for its acknowledgement
        try:

            def post() -> None:
                try:
                    answers.append(requests.post(f"{base}/collect", json=[brief_event()], timeout=30))
                except requests.RequestException as error:
                    answers.append(error)

            waiting = threading.Thread(target=post)
            waiting.start()
            time.sleep(1)
            served.process.send_signal(signal.SIGTERM)  # the server stops while the request waits
            waiting.join(30)
            assert served.process.wait(30) == 0
        finally:
            os.kill(broker, signal.SIGCONT)

    (answer,) = answers
    assert isinstance(answer, requests.Response), answer
    assert answer.status_code == 503  # its answer, not a cut connection: send it again
    assert answer.json()["events"][0]["status"] == "unconfirmed"
