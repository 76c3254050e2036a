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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

logger = logging.getLogger(__name__)


class SchemaUnavailable(Exception):
    """No version of the subject could be had from the registry."""


class RegistryUnreachable(Exception):
    """The registry did not answer a lookup by id, or answered with a fault of its own: to be waited out."""


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


def remove_subject(client: SchemaRegistryClient, subject: str) -> None:
    """Delete a subject for good (soft, then permanent), for tools that make subjects of their own.

    A subject already gone counts as removed: the client retries a request that
    timed out, so a delete the registry did carry out (slowly, say just after a
    restart) is answered 404 the second time.
    """
    for permanent in (False, True):
        try:
            client.delete_subject(subject, permanent=permanent)
        except SchemaRegistryError as error:
            if error.http_status_code != 404:
                raise


def compile_schema(subject: str, schema_id: int, version: int, schema_str: str) -> RegisteredSchema:
    definition = json.loads(schema_str)
    return RegisteredSchema(subject, schema_id, version, definition, fastavro.parse_schema(definition))


class SchemasById:
    """Writer schemas by their registry id, each fetched once (an id never changes its schema).

    `get` returns None for an id that names no usable schema: the registry
    does not have it, it is not Avro, or it does not compile. That is the
    record's problem, and `why_not` says which. Any other failure is raised:
    the registry's, raised as RegistryUnreachable, to be waited out.

    At most `max_entries` ids are kept, the least recently used going first:
    records naming ever new ids (any producer may write any header) cost a
    lookup each, never memory without end.
    """

    def __init__(self, client: SchemaRegistryClient, max_entries: int = 1024) -> None:
        self._client = client
        self._max_entries = max_entries
        self._known: OrderedDict[int, tuple[RegisteredSchema | None, str]] = OrderedDict()

    def get(self, schema_id: int) -> RegisteredSchema | None:
        known = self._known.get(schema_id)
        if known is None:
            known = self._known[schema_id] = self._fetch(schema_id)
            while len(self._known) > self._max_entries:
                self._known.popitem(last=False)
        else:
            self._known.move_to_end(schema_id)
        return known[0]

    def why_not(self, schema_id: int) -> str:
        known = self._known.get(schema_id)
        return known[1] if known is not None and known[1] else f"schema id {schema_id} is usable"

    def _fetch(self, schema_id: int) -> tuple[RegisteredSchema | None, str]:
        """The schema, or None and why it is not usable."""
        try:
            schema = self._client.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code != 404:
                raise RegistryUnreachable(f"schema id {schema_id}: {error}") from error
            return None, f"unknown schema id {schema_id}"
        except Exception as error:  # the client's transport errors (httpx's), timeouts: the registry's, not the id's
            raise RegistryUnreachable(f"schema id {schema_id}: {type(error).__name__}: {error}") from error
        if schema.schema_type not in (None, "AVRO") or schema.schema_str is None:
            return None, f"schema id {schema_id} is {schema.schema_type}, not Avro"
        try:
            return compile_schema("", schema_id, 0, schema.schema_str), ""
        except Exception as error:  # fastavro and json raise many kinds on a schema they cannot read
            return None, f"schema id {schema_id} does not compile: {type(error).__name__}: {error}"[:500]


class LatestSchemas:
    """The latest registered version of each subject, refreshed after `ttl` seconds."""

    # A fresh lookup still trusts a version this recent: a run of records no
    # version can read must not become a run of registry requests.
    FRESH_AFTER = 1.0

    def __init__(self, client: SchemaRegistryClient, ttl: float) -> None:
        self._client = client
        self._ttl = ttl
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, RegisteredSchema]] = {}

    def get(self, subject: str, *, fresh: bool = False) -> RegisteredSchema:
        """The latest version; `fresh` looks it up now, whatever the TTL (a reader met a newer writer)."""
        now = time.monotonic()
        ttl = min(self._ttl, self.FRESH_AFTER) if fresh else self._ttl
        known = self._known.get(subject)
        if known is not None and now - known[0] < ttl:
            return known[1]
        with self._lock:
            known = self._known.get(subject)
            if known is not None and now - known[0] < ttl:
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
