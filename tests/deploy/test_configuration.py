"""The settings the code reads, .env.example and docker-compose.yaml agree.

No Docker engine runs here, so the compose file is proven as far as it can be:
it parses (docker-compose config), and what it declares matches the settings.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def settings_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "holded").rglob("*.py"):
        names.update(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text()))
    return names


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    return loaded


def test_env_example_lists_every_setting_the_code_reads() -> None:
    read = settings_read_by_the_code()
    assert len(read) > 20
    assert read - set(env_example()) == set()


def test_the_compose_file_declares_the_platform(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "kafka",
        "schema-registry",
        "minio",
        "minio-init",
        "postgres",
        "kafka-ui",
        "topics-init",
        "init",
        "api",
        "stream",
    }
    ports = {name: service.get("ports", []) for name, service in compose["services"].items()}
    # The kit's host ports.
    assert ports["kafka"] == ["9092:9092"]
    assert ports["schema-registry"] == ["8085:8081"]
    assert ports["minio"] == ["9000:9000", "9001:9001"]
    assert ports["postgres"] == ["5432:5432"]
    assert ports["kafka-ui"] == ["8080:8080"]
    assert ports["api"] == ["8000:8000"]


def test_the_app_environment_matches_the_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app = services["api"]["environment"]
    assert services["init"]["environment"] == app
    assert services["stream"]["environment"] == {**app, "STREAM_METRICS_ADDRESS": "0.0.0.0:9464"}
    assert services["stream"]["command"] == ["python", "manage.py", "run_stream"]
    # Only settings the code reads.
    assert set(app) <= settings_read_by_the_code()

    kafka = services["kafka"]["environment"]
    assert f"PLAINTEXT://{app['KAFKA_BOOTSTRAP_SERVERS']}" in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")

    registry = urlsplit(app["SCHEMA_REGISTRY_URL"])
    assert registry.hostname == "schema-registry"
    assert services["schema-registry"]["environment"]["SCHEMA_REGISTRY_LISTENERS"].endswith(f":{registry.port}")

    s3 = urlsplit(app["S3_ENDPOINT_URL"])
    assert s3.hostname == "minio"
    assert f"{s3.port}:{s3.port}" in services["minio"]["ports"]
    minio = services["minio"]["environment"]
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        app["S3_ACCESS_KEY_ID"],
        app["S3_SECRET_ACCESS_KEY"],
    )
    bucket_commands = services["minio-init"]["command"][0]
    assert f"mc mb --ignore-existing local/{app['S3_BUCKET']}" in bucket_commands
    assert f"mc anonymous set none local/{app['S3_BUCKET']}" in bucket_commands  # private

    postgres = services["postgres"]["environment"]
    assert app["POSTGRES_HOST"] == "postgres"
    assert (postgres["POSTGRES_DB"], postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]) == (
        app["POSTGRES_DB"],
        app["POSTGRES_USER"],
        app["POSTGRES_PASSWORD"],
    )


def test_the_topics_are_created_by_the_project_script(compose: dict[str, Any]) -> None:
    topics_init = compose["services"]["topics-init"]
    assert topics_init["entrypoint"] == ["bash", "/project/scripts/create-topics.sh"]
    assert "./topics:/project/topics:ro" in topics_init["volumes"]
    assert (
        topics_init["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
        == compose["services"]["api"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
    )


def test_the_native_defaults_match_env_example() -> None:
    from django.conf import settings

    example = env_example()
    assert example["KAFKA_BOOTSTRAP_SERVERS"] == settings.KAFKA_BOOTSTRAP_SERVERS
    assert example["KAFKA_BOOTSTRAP_SERVERS"].endswith(f":{example['KAFKA_PORT']}")
    assert example["SCHEMA_REGISTRY_URL"] == settings.SCHEMA_REGISTRY_URL
    assert urlsplit(example["SCHEMA_REGISTRY_URL"]).port == int(example["SCHEMA_REGISTRY_PORT"])
    assert example["S3_ENDPOINT_URL"] == settings.S3_ENDPOINT_URL
    assert urlsplit(example["S3_ENDPOINT_URL"]).port == int(example["S3_PORT"])
    assert settings.DATABASES["default"]["PORT"] == int(example["POSTGRES_PORT"])


def test_docker_compose_parses_the_file() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed; scripts/test.sh installs it (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
