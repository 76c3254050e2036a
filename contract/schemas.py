"""The contracts in schemas/: one Avro schema a file, named after its subject.

`schemas/events.raw-value.avsc` is registered as subject `events.raw-value`
(TopicNameStrategy: the value of topic events.raw). Registration is
idempotent: a schema already registered under its subject is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
COMPATIBILITY = "BACKWARD"

# Confluent's error codes: subject not found, schema not found.
NOT_FOUND = (40401, 40403)


class RegistrationRefused(Exception):
    """The registry refused a schema (incompatible or invalid); the message is the registry's."""


@dataclass(frozen=True)
class Registration:
    subject: str
    schema_id: int
    version: int
    created: bool


def schema_path(subject: str) -> Path:
    """The file of a subject's contract: schemas/<subject>.avsc."""
    return SCHEMAS_DIR / f"{subject}.avsc"


def field_paths(schema: Any, path: str = "") -> list[str]:
    """The path of every field of a schema's records (`data`, `data.amount`, ...), as errors name them."""
    if isinstance(schema, list):
        return [found for branch in schema for found in field_paths(branch, path)]
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return []
    paths = []
    for field in schema["fields"]:
        where = f"{path}.{field['name']}" if path else field["name"]
        paths += [where, *field_paths(field["type"], where)]
    return paths


def schema_files(directory: Path = SCHEMAS_DIR) -> list[tuple[str, Path]]:
    return [(path.name.removesuffix(".avsc"), path) for path in sorted(directory.glob("*.avsc"))]


def register(client: SchemaRegistryClient, subject: str, schema_text: str) -> Registration:
    schema = Schema(schema_text, "AVRO")
    try:
        found = client.lookup_schema(subject, schema)
        if found.schema_id is not None and found.version is not None:
            return Registration(subject, found.schema_id, found.version, created=False)
    except SchemaRegistryError as error:
        if error.error_code not in NOT_FOUND and error.http_status_code != 404:
            raise RegistrationRefused(f"{subject}: {error.error_message}") from error
    try:
        schema_id = client.register_schema(subject, schema)
    except SchemaRegistryError as error:
        raise RegistrationRefused(f"{subject}: {error.error_message} (HTTP {error.http_status_code})") from error
    latest = client.get_version(subject, "latest")
    return Registration(subject, schema_id, latest.version or 0, created=True)


def register_all(client: SchemaRegistryClient, directory: Path = SCHEMAS_DIR) -> list[Registration]:
    """Set BACKWARD compatibility, then register every schema of `directory`."""
    client.set_compatibility(level=COMPATIBILITY)
    return [register(client, subject, path.read_text()) for subject, path in schema_files(directory)]
