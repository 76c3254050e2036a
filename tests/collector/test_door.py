"""The door in front of Django (collector/wsgi.py): which requests it takes, and the headers it adds.

Pure: the requests here are refused before Kafka or the registry would be asked.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from collector.wsgi import application, comes_here
from tests.support.api import call_wsgi, post_environ


def environ(**overrides: Any) -> dict[str, Any]:
    # text/plain is refused with a 415: nothing reaches a service.
    return post_environ(b"[{}]", "text/plain", **overrides)


def call(env: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    return call_wsgi(application, env)


@pytest.mark.parametrize(
    ("overrides", "taken"),
    [
        ({}, True),
        ({"HTTP_ACCEPT": "application/json"}, True),
        ({"HTTP_ACCEPT": "*/*"}, True),
        ({"HTTP_ACCEPT": "text/html,application/xhtml+xml;q=0.9"}, False),  # a browser: DRF's page
        ({"QUERY_STRING": "format=api"}, False),
        ({"REQUEST_METHOD": "GET"}, False),
        ({"REQUEST_METHOD": "OPTIONS"}, False),
        ({"PATH_INFO": "/collect/"}, False),
        ({"PATH_INFO": "/status"}, False),
    ],
)
def test_the_door_takes_an_api_client_s_post_to_collect_only(overrides: dict[str, Any], taken: bool) -> None:
    assert comes_here(environ(**overrides)) is taken


def test_a_refusal_at_the_door_is_json_with_django_s_security_headers() -> None:
    status, headers, body = call(environ())

    assert status == "415 Unsupported Media Type"
    assert orjson.loads(body)["error"] == "unsupported_media_type"
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(body))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers


def test_hsts_is_sent_over_https_when_configured(settings: SettingsWrapper) -> None:
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    _, over_https, _ = call(environ(**{"wsgi.url_scheme": "https"}))
    _, over_http, _ = call(environ())

    assert over_https["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    assert "Strict-Transport-Security" not in over_http


def test_a_foreign_host_is_refused_at_the_door() -> None:
    status, _, body = call(environ(HTTP_HOST="evil.example"))

    assert status == "400 Bad Request"
    assert orjson.loads(body)["error"] == "disallowed_host"
