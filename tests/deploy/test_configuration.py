"""The settings the code reads, .env.example and docker-compose.yaml agree.

No Docker engine runs here, so the compose file is proven as far as it can be:
it parses (docker-compose config), and what it declares matches the settings.
"""

from __future__ import annotations

import json
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
    # The kit's host ports, published on loopback unless HOLDED_BIND_ADDRESS says otherwise.
    local = "${HOLDED_BIND_ADDRESS:-127.0.0.1}:"
    assert ports["kafka"] == [f"{local}9092:9092"]
    assert ports["schema-registry"] == [f"{local}8085:8081"]
    assert ports["minio"] == [f"{local}9000:9000", f"{local}9001:9001"]
    assert ports["postgres"] == [f"{local}5432:5432"]
    assert ports["kafka-ui"] == [f"{local}8080:8080"]
    assert ports["api"] == [f"{local}8000:8000"]
    assert all(port.startswith(local) for published in ports.values() for port in published)


def test_the_app_environment_matches_the_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app = services["init"]["environment"]  # the owner's settings: init migrates
    # The API and the stream each connect with a least-privilege role of their own.
    assert services["api"]["environment"] == {
        **app,
        "POSTGRES_USER": "holded_api",
        "POSTGRES_PASSWORD": "holded_api",
        "STREAM_METRICS_ADDRESS": "stream:9464",
    }
    assert services["stream"]["environment"] == {
        **app,
        "POSTGRES_USER": "holded_stream",
        "POSTGRES_PASSWORD": "holded_stream",
        "STREAM_METRICS_ADDRESS": "0.0.0.0:9464",
    }
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
    assert f"${{HOLDED_BIND_ADDRESS:-127.0.0.1}}:{s3.port}:{s3.port}" in services["minio"]["ports"]
    minio = services["minio"]["environment"]
    assert app["S3_ACCESS_KEY_ID"] != minio["MINIO_ROOT_USER"]  # the apps never hold the root account
    bucket_commands = services["minio-init"]["command"][0]
    assert f"mc alias set local http://minio:9000 {minio['MINIO_ROOT_USER']} {minio['MINIO_ROOT_PASSWORD']}" in (
        bucket_commands
    )
    assert f"mc mb --ignore-existing local/{app['S3_BUCKET']}" in bucket_commands
    assert f"mc anonymous set none local/{app['S3_BUCKET']}" in bucket_commands  # private
    assert f"mc admin user add local {app['S3_ACCESS_KEY_ID']} {app['S3_SECRET_ACCESS_KEY']}" in bucket_commands
    assert f"--user {app['S3_ACCESS_KEY_ID']}" in bucket_commands
    policy = json.loads((ROOT / "deploy" / "minio-app-policy.json").read_text())
    resources = {resource for statement in policy["Statement"] for resource in statement["Resource"]}
    assert resources == {f"arn:aws:s3:::{app['S3_BUCKET']}", f"arn:aws:s3:::{app['S3_BUCKET']}/*"}
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert actions == {"s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject", "s3:PutObject"}

    postgres = services["postgres"]["environment"]
    assert app["POSTGRES_HOST"] == "postgres"
    assert (postgres["POSTGRES_DB"], postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]) == (
        app["POSTGRES_DB"],
        app["POSTGRES_USER"],
        app["POSTGRES_PASSWORD"],
    )


def test_the_topics_are_created_by_the_project_script(compose: dict[str, Any]) -> None:
    topics_init = compose["services"]["topics-init"]
    # The kit's topics file unless HOLDED_TOPICS_FILE names another of ./topics.
    assert topics_init["entrypoint"] == [
        "bash",
        "/project/scripts/create-topics.sh",
        "/project/${HOLDED_TOPICS_FILE:-topics/main-topics}",
    ]
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
