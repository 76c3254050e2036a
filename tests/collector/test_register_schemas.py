"""manage.py register_schemas and scripts/register-schemas.sh against the real registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from django.core.management import CommandError, call_command

from contract.registry import remove_subject
from tests.support.lanes import RAW_SCHEMA, unique_name
from tests.support.scripts import run_script

pytestmark = pytest.mark.integration


@pytest.fixture
def schemas_dir(tmp_path: Path, registry: SchemaRegistryClient) -> Iterator[tuple[Path, str]]:
    subject = unique_name("contract") + "-value"
    (tmp_path / f"{subject}.avsc").write_text(RAW_SCHEMA)
    yield tmp_path, subject
    if subject in registry.get_subjects():
        remove_subject(registry, subject)


def incompatible(schema_text: str) -> str:
    # A new required field without a default: old records cannot be read with it.
    schema = json.loads(schema_text)
    schema["fields"][0]["type"]["fields"].append({"name": "currency", "type": "string"})
    return json.dumps(schema)


def compatible(schema_text: str) -> str:
    schema = json.loads(schema_text)
    schema["fields"][0]["type"]["fields"].append({"name": "currency", "type": ["null", "string"], "default": None})
    return json.dumps(schema)


def command(directory: Path) -> str:
    out = StringIO()
    call_command("register_schemas", "--dir", str(directory), stdout=out)
    return out.getvalue()


def test_the_command_registers_then_changes_nothing(
    schemas_dir: tuple[Path, str], registry: SchemaRegistryClient
) -> None:
    directory, subject = schemas_dir

    first = command(directory)
    second = command(directory)

    schema_id = registry.get_latest_version(subject).schema_id
    assert first == f"{subject}: registered version 1 (schema id {schema_id})\n"
    assert second == f"{subject}: unchanged, version 1 (schema id {schema_id})\n"
    assert registry.get_compatibility() == "BACKWARD"


def test_the_command_refuses_an_incompatible_change_with_the_registrys_message(
    schemas_dir: tuple[Path, str], registry: SchemaRegistryClient
) -> None:
    directory, subject = schemas_dir
    command(directory)
    (directory / f"{subject}.avsc").write_text(incompatible(RAW_SCHEMA))

    with pytest.raises(CommandError) as raised:
        command(directory)

    assert f"the registry refused a schema: {subject}:" in str(raised.value)
    assert "409" in str(raised.value)
    assert registry.get_latest_version(subject).version == 1


def test_the_command_registers_a_compatible_change_as_a_new_version(
    schemas_dir: tuple[Path, str], registry: SchemaRegistryClient
) -> None:
    directory, subject = schemas_dir
    command(directory)
    (directory / f"{subject}.avsc").write_text(compatible(RAW_SCHEMA))

    output = command(directory)

    assert f"{subject}: registered version 2" in output
    assert registry.get_latest_version(subject).version == 2


def test_the_script_registers_then_changes_nothing_then_refuses(
    schemas_dir: tuple[Path, str], registry: SchemaRegistryClient
) -> None:
    directory, subject = schemas_dir

    first = run_script("register-schemas.sh", str(directory))
    second = run_script("register-schemas.sh", str(directory))
    (directory / f"{subject}.avsc").write_text(incompatible(RAW_SCHEMA))
    third = run_script("register-schemas.sh", str(directory))

    assert first.returncode == 0, first.stderr
    schema_id = registry.get_latest_version(subject).schema_id
    assert first.stdout == f"{subject}: registered version 1 (schema id {schema_id})\n"
    assert second.stdout == f"{subject}: unchanged, version 1 (schema id {schema_id})\n"
    assert third.returncode == 1
    assert f"the registry refused {subject} (HTTP 409)" in third.stderr


def test_the_project_schemas_are_registered_under_their_subjects(registry: SchemaRegistryClient) -> None:
    # What scripts/test.sh and the platform script register before anything runs.
    output = command(Path(__file__).resolve().parents[2] / "schemas")

    assert "events.raw-value:" in output
    assert "events.enriched-value:" in output
    assert {"events.raw-value", "events.enriched-value"} <= set(registry.get_subjects())
