"""The registry caches (pure: a stand-in client that counts its calls and can fail)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError

from contract.registry import LatestSchemas, RegistryUnreachable, SchemasById, SchemaUnavailable

SCHEMA = json.dumps({"type": "record", "name": "E", "fields": [{"name": "a", "type": "string"}]})


@dataclass
class Stored:
    schema_str: str | None
    schema_type: str | None = "AVRO"


@dataclass
class Version:
    schema_id: int | None
    version: int | None
    schema: Stored


class StandInRegistry:
    """Answers like SchemaRegistryClient: get_schema by id, get_version(subject, "latest")."""

    def __init__(self) -> None:
        self.latest: dict[str, Version] = {"s": Version(1, 1, Stored(SCHEMA))}
        self.by_id: dict[int, Stored] = {1: Stored(SCHEMA), 2: Stored('{"type": "string"}', "PROTOBUF")}
        self.calls = 0
        self.down = False

    def get_schema(self, schema_id: int) -> Stored:
        self.calls += 1
        if self.down:
            raise SchemaRegistryError(503, 50301, "unavailable")
        if schema_id not in self.by_id:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return self.by_id[schema_id]

    def get_version(self, subject: str, version: str) -> Version:
        self.calls += 1
        if self.down:
            raise ConnectionError("registry down")
        if subject not in self.latest:
            raise SchemaRegistryError(404, 40401, "Subject not found")
        return self.latest[subject]


def client(registry: StandInRegistry) -> Any:
    return registry


def test_a_schema_id_is_fetched_once() -> None:
    registry = StandInRegistry()
    schemas = SchemasById(client(registry))

    first, second = schemas.get(1), schemas.get(1)

    assert first is second
    assert first is not None
    assert first.schema_id == 1
    assert registry.calls == 1


def test_an_unknown_or_foreign_schema_id_is_none_and_remembered() -> None:
    registry = StandInRegistry()
    schemas = SchemasById(client(registry))

    assert schemas.get(99) is None  # 404: the record's problem
    assert schemas.get(2) is None  # not Avro
    assert schemas.get(99) is None
    assert registry.calls == 2


def test_a_registry_outage_is_raised_not_taken_for_an_unknown_id() -> None:
    registry = StandInRegistry()
    registry.down = True

    with pytest.raises(RegistryUnreachable) as raised:
        SchemasById(client(registry)).get(1)
    assert isinstance(raised.value.__cause__, SchemaRegistryError)  # a 5xx: the registry's fault, waited out


def test_a_transport_error_is_the_registrys_too() -> None:
    class Unreachable:
        def get_schema(self, schema_id: int) -> None:
            raise ConnectionResetError("reset by peer")

    with pytest.raises(RegistryUnreachable, match="ConnectionResetError: reset by peer"):
        SchemasById(Unreachable()).get(1)  # type: ignore[arg-type]


def test_the_latest_version_is_cached_for_its_ttl() -> None:
    registry = StandInRegistry()
    latest = LatestSchemas(client(registry), ttl=60)

    assert latest.get("s").version == 1
    registry.latest["s"] = Version(3, 2, Stored(SCHEMA))
    assert latest.get("s").version == 1  # within the TTL
    assert registry.calls == 1


def test_a_new_version_is_used_once_the_ttl_has_passed() -> None:
    registry = StandInRegistry()
    latest = LatestSchemas(client(registry), ttl=0)

    latest.get("s")
    registry.latest["s"] = Version(3, 2, Stored(SCHEMA))

    assert latest.get("s").schema_id == 3


def test_the_known_version_is_kept_while_the_registry_is_down() -> None:
    registry = StandInRegistry()
    latest = LatestSchemas(client(registry), ttl=0)
    known = latest.get("s")
    registry.down = True

    assert latest.get("s") is known


def test_no_version_at_all_is_schema_unavailable() -> None:
    registry = StandInRegistry()
    registry.down = True

    with pytest.raises(SchemaUnavailable, match="no schema for subject s"):
        LatestSchemas(client(registry), ttl=0).get("s")


def test_a_subject_holding_another_format_is_refused() -> None:
    registry = StandInRegistry()
    registry.latest["p"] = Version(2, 1, Stored('{"type": "string"}', "PROTOBUF"))

    with pytest.raises(SchemaUnavailable, match="does not hold an Avro schema"):
        LatestSchemas(client(registry), ttl=0).get("p")


def test_a_schema_that_does_not_compile_is_the_record_s_problem() -> None:
    registry = StandInRegistry()
    registry.by_id[3] = Stored('{"type": "record", "name": "Broken", "fields": [{"name": "a", "type": "nothing"}]}')
    schemas = SchemasById(client(registry))

    assert schemas.get(3) is None
    assert schemas.why_not(3).startswith("schema id 3 does not compile")
    assert schemas.get(99) is None
    assert schemas.why_not(99) == "unknown schema id 99"


def test_a_fresh_lookup_ignores_the_ttl() -> None:
    registry = StandInRegistry()
    latest = LatestSchemas(client(registry), ttl=60)
    latest.FRESH_AFTER = 0.0
    latest.get("s")
    registry.latest["s"] = Version(3, 2, Stored(SCHEMA))

    assert latest.get("s").schema_id == 1
    assert latest.get("s", fresh=True).schema_id == 3


def test_fresh_lookups_are_spaced_out() -> None:
    registry = StandInRegistry()
    latest = LatestSchemas(client(registry), ttl=60)
    latest.get("s")

    for _ in range(100):
        latest.get("s", fresh=True)

    assert registry.calls == 1  # within FRESH_AFTER of the last lookup
