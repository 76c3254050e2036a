"""The Schema Registry: how to reach it, and the schemas it serves, cached.

The collector validates and serializes with the *latest* version registered
under a subject, looked up again after SCHEMA_REGISTRY_CACHE_SECONDS, so a
newly registered version is used without a restart. If the registry cannot be
reached when a lookup is due, the version already known is kept (and a
warning logged): an outage of the registry does not stop ingestion.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

logger = logging.getLogger(__name__)


class SchemaUnavailable(Exception):
    """No version of the subject could be had from the registry."""


@dataclass(frozen=True)
class RegisteredSchema:
    subject: str
    schema_id: int
    version: int
    definition: Any  # the Avro schema as parsed JSON
    parsed: Any  # fastavro's compiled form, for writing and reading


@dataclass(frozen=True)
class RegistryConfig:
    url: str  # Confluent's REST API (Apicurio's ccompat API answers it too)
    basic_auth: str = ""  # "user:password", for a registry that asks for it
    # How long the latest version of a subject is trusted before it is looked up again.
    cache_seconds: float = 30.0

    def client(self) -> SchemaRegistryClient:
        config: dict[str, Any] = {"url": self.url, "timeout": 5}
        if self.basic_auth:
            config["basic.auth.user.info"] = self.basic_auth
        return SchemaRegistryClient(config)


def compile_schema(subject: str, schema_id: int, version: int, schema_str: str) -> RegisteredSchema:
    definition = json.loads(schema_str)
    return RegisteredSchema(subject, schema_id, version, definition, fastavro.parse_schema(definition))


class SchemasById:
    """Writer schemas by their registry id, each fetched once (an id never changes its schema).

    `get` returns None for an id the registry does not have (or that is not
    Avro): the record's problem. Any other failure is raised: the registry's.
    """

    def __init__(self, client: SchemaRegistryClient) -> None:
        self._client = client
        self._known: dict[int, RegisteredSchema | None] = {}

    def get(self, schema_id: int) -> RegisteredSchema | None:
        if schema_id not in self._known:
            try:
                schema = self._client.get_schema(schema_id)
            except SchemaRegistryError as error:
                if error.http_status_code != 404:
                    raise
                self._known[schema_id] = None
            else:
                avro = schema.schema_type in (None, "AVRO") and schema.schema_str is not None
                self._known[schema_id] = compile_schema("", schema_id, 0, schema.schema_str or "") if avro else None
        return self._known[schema_id]


class LatestSchemas:
    """The latest registered version of each subject, refreshed after `ttl` seconds."""

    def __init__(self, client: SchemaRegistryClient, ttl: float) -> None:
        self._client = client
        self._ttl = ttl
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, RegisteredSchema]] = {}

    def get(self, subject: str) -> RegisteredSchema:
        now = time.monotonic()
        known = self._known.get(subject)
        if known is not None and now - known[0] < self._ttl:
            return known[1]
        with self._lock:
            known = self._known.get(subject)
            if known is not None and now - known[0] < self._ttl:
                return known[1]
            try:
                latest = self._client.get_version(subject, "latest")
            except Exception as error:  # HTTP errors and the client's transport errors alike
                if known is None:
                    raise SchemaUnavailable(f"no schema for subject {subject}: {error}") from error
                logger.warning(
                    "schema registry unreachable, keeping %s version %s: %s", subject, known[1].version, error
                )
                self._known[subject] = (now, known[1])
                return known[1]
            if latest.schema_id is None or latest.version is None or latest.schema.schema_str is None:
                raise SchemaUnavailable(f"the registry answered for {subject} without a schema")
            schema = known[1] if known and known[1].schema_id == latest.schema_id else None
            if schema is None:
                if latest.schema.schema_type not in (None, "AVRO"):
                    raise SchemaUnavailable(f"subject {subject} does not hold an Avro schema")
                schema = compile_schema(subject, latest.schema_id, latest.version, latest.schema.schema_str)
                logger.info("using %s version %s (schema id %s)", subject, schema.version, schema.schema_id)
            self._known[subject] = (now, schema)
            return schema
