"""API keys on POST /collect: required where configured, constant-time, several at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from tests.support.factories import brief_event
from tests.support.lanes import Lane

pytestmark = pytest.mark.integration

KEYS = ["first-key-4f1c2b", "second-key-9a7e3d"]


@pytest.fixture
def keys_required(settings: SettingsWrapper) -> None:
    settings.COLLECT_API_KEYS = KEYS
    settings.COLLECT_REQUIRE_API_KEY = True


def post(client: APIClient, **headers: Any) -> int:
    body = json.dumps([brief_event()])
    response = client.post("/collect", body, content_type="application/json", **headers)
    return int(response.status_code)


def test_no_key_is_401_with_the_scheme(client: APIClient, lane: Lane, keys_required: None) -> None:
    response = client.post("/collect", json.dumps([brief_event()]), content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.parametrize("key", KEYS)
def test_each_configured_key_is_accepted(client: APIClient, lane: Lane, keys_required: None, key: str) -> None:
    assert post(client, HTTP_AUTHORIZATION=f"Api-Key {key}") == 200
    assert post(client, HTTP_X_API_KEY=key) == 200


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_AUTHORIZATION": "Api-Key first-key-4f1c2"},  # a prefix of a key
        {"HTTP_AUTHORIZATION": "Api-Key first-key-4f1c2b-and-more"},
        {"HTTP_X_API_KEY": "nope"},
    ],
)
def test_a_wrong_key_is_401(client: APIClient, lane: Lane, keys_required: None, header: dict[str, str]) -> None:
    assert post(client, **header) == 401


def test_local_development_takes_the_kits_generator_without_a_key(
    client: APIClient, lane: Lane, settings: SettingsWrapper
) -> None:
    settings.COLLECT_REQUIRE_API_KEY = False
    assert post(client) == 200


def test_production_settings_demand_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    environment = {"HOLDED_ENV": "production", "DJANGO_SECRET_KEY": "x", "POSTGRES_PASSWORD": "x"}
    environment |= {"S3_ACCESS_KEY_ID": "x", "S3_SECRET_ACCESS_KEY": "x", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**environment, "DJANGO_SETTINGS_MODULE": "holded.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "The environment variable COLLECT_API_KEYS must be set." in result.stderr
