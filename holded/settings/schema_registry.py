"""Schema Registry (Confluent REST API; Apicurio's ccompat API natively)."""

from __future__ import annotations

from holded.settings import env

SCHEMA_REGISTRY_URL = env.string("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8085/apis/ccompat/v7")
# "user:password", for a registry that asks for basic authentication.
SCHEMA_REGISTRY_BASIC_AUTH = env.string("SCHEMA_REGISTRY_BASIC_AUTH", "")
# How long the latest registered version of a subject is trusted before it is
# looked up again: a newly registered version is used within this time.
SCHEMA_REGISTRY_CACHE_SECONDS = env.number("SCHEMA_REGISTRY_CACHE_SECONDS", 30.0)
