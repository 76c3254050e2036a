"""API keys for POST /collect.

A client sends `Authorization: Api-Key <key>` (or `X-Api-Key: <key>`). Keys
come from the COLLECT_API_KEYS setting (several, so that one can be rotated
while the other still works) and are compared in constant time. Where
COLLECT_REQUIRE_API_KEY is on (always with the production settings), a
request without a valid key gets 401; in local development it is off by
default, so that the customer's generator, which sends no key, works as is.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated

SCHEME = "Api-Key"


class InvalidApiKey(AuthenticationFailed):
    auth_header = SCHEME  # a 401 names the scheme in WWW-Authenticate


class MissingApiKey(NotAuthenticated):
    auth_header = SCHEME


@dataclass(frozen=True)
class ApiClient:
    """Who posted: the index of the key used (keys themselves are never logged)."""

    key_index: int


def presented_key(meta: Mapping[str, Any]) -> str | None:
    """The key a request carries, from its WSGI environ (request.META)."""
    header = str(meta.get("HTTP_AUTHORIZATION", ""))
    scheme, _, key = header.partition(" ")
    if scheme == SCHEME and key.strip():
        return key.strip()
    other = str(meta.get("HTTP_X_API_KEY", ""))
    return other.strip() or None


def identify(meta: Mapping[str, Any]) -> ApiClient | None:
    """The client whose key the request carries; None for no key; InvalidApiKey for a wrong one."""
    key = presented_key(meta)
    if key is None:
        return None
    match = None
    # Compare with every key, matching or not, so the time taken says nothing.
    for index, known in enumerate(settings.COLLECT_API_KEYS):
        if hmac.compare_digest(key.encode(), known.encode()) and match is None:
            match = index
    if match is None:
        raise InvalidApiKey("Invalid API key.")
    return ApiClient(match)


def authenticate(meta: Mapping[str, Any]) -> ApiClient | None:
    """`identify`, and MissingApiKey where a key is required and none was sent."""
    client = identify(meta)
    if client is None and settings.COLLECT_REQUIRE_API_KEY:
        raise MissingApiKey("An API key is required: send 'Authorization: Api-Key <key>'.")
    return client
