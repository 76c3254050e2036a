"""What the collector validates against: the latest schema registered for events.raw, and the window.

One cache per process, looked up again after SCHEMA_REGISTRY_CACHE_SECONDS,
so a newly registered version is used without a restart; while the registry
is down, the version already known is kept (contract.registry.LatestSchemas).
"""

from __future__ import annotations

from django.conf import settings

from contract.registry import LatestSchemas, RegisteredSchema
from contract.validation import TimestampWindow
from integrations.clients import per_process, registry_client, registry_config, topic


def events_subject() -> str:
    # TopicNameStrategy: the value schema of topic T is registered as "T-value".
    return f"{topic('events')}-value"


@per_process
def latest_schemas() -> LatestSchemas:
    return LatestSchemas(registry_client(), registry_config().cache_seconds)


def events_schema() -> RegisteredSchema:
    """The version to validate with now; raises SchemaUnavailable when none can be had."""
    return latest_schemas().get(events_subject())


def timestamp_window() -> TimestampWindow:
    return TimestampWindow.from_settings(settings)
