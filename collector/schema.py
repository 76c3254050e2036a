"""The schema the collector validates and encodes with: the latest version registered for events.raw.

One cache per process, looked up again after SCHEMA_REGISTRY_CACHE_SECONDS,
so a newly registered version is used without a restart; while the registry
is down, the version already known is kept (contract.registry.LatestSchemas).
"""

from __future__ import annotations

from functools import lru_cache

from contract.registry import LatestSchemas, RegisteredSchema
from integrations.clients import registry_client, registry_config, topic


def events_subject() -> str:
    # TopicNameStrategy: the value schema of topic T is registered as "T-value".
    return f"{topic('events')}-value"


@lru_cache(maxsize=1)
def latest_schemas() -> LatestSchemas:
    return LatestSchemas(registry_client(), registry_config().cache_seconds)


def events_schema() -> RegisteredSchema:
    """The version to validate with now; raises SchemaUnavailable when none can be had."""
    return latest_schemas().get(events_subject())
