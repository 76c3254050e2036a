"""HOLDED_ENV=production refuses to start with a missing secret or a development default (settings only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A production environment with a secret of its own everywhere.
GOOD = {
    "HOLDED_ENV": "production",
    "DJANGO_SECRET_KEY": "a-real-secret-key-of-production",
    "COLLECT_API_KEYS": "a-real-api-key",
    "POSTGRES_PASSWORD": "owner-password-of-production",
    "API_POSTGRES_PASSWORD": "api-password-of-production",
    "STREAM_POSTGRES_PASSWORD": "stream-password-of-production",
    "S3_ACCESS_KEY_ID": "holded-app",
    "S3_SECRET_ACCESS_KEY": "s3-secret-of-production",
}


def start(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Load the settings as a process of the platform does, in a clean environment."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "holded.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_starts_with_secrets_of_its_own() -> None:
    started = start(GOOD)
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("DJANGO_SECRET_KEY", "development-only-not-a-secret"),
        ("POSTGRES_PASSWORD", "postgres"),
        ("API_POSTGRES_PASSWORD", "holded_api"),
        ("STREAM_POSTGRES_PASSWORD", "holded_stream"),
        ("S3_SECRET_ACCESS_KEY", "holded-app-secret"),
        ("S3_SECRET_ACCESS_KEY", "minioadmin"),
    ],
)
def test_a_development_default_is_refused_naming_the_variable(name: str, default: str) -> None:
    started = start({**GOOD, name: default})

    assert started.returncode != 0
    assert f"The environment variable {name} holds a development default" in started.stderr


@pytest.mark.parametrize("name", sorted(set(GOOD) - {"HOLDED_ENV"}))
def test_a_missing_secret_is_refused_naming_the_variable(name: str) -> None:
    environment = {key: value for key, value in GOOD.items() if key != name}

    started = start(environment)

    assert started.returncode != 0
    assert f"The environment variable {name} must be set." in started.stderr
