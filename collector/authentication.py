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
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

SCHEME = "Api-Key"


@dataclass(frozen=True)
class ApiClient:
    """Who posted: the index of the key used (keys themselves are never logged)."""

    key_index: int
    is_authenticated: bool = True


def presented_key(request: Request) -> str | None:
    header = str(request.META.get("HTTP_AUTHORIZATION", ""))
    scheme, _, key = header.partition(" ")
    if scheme == SCHEME and key.strip():
        return key.strip()
    other = str(request.META.get("HTTP_X_API_KEY", ""))
    return other.strip() or None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiClient, str] | None:
        key = presented_key(request)
        if key is None:
            return None
        match = None
        # Compare with every key, matching or not, so the time taken says nothing.
        for index, known in enumerate(settings.COLLECT_API_KEYS):
            if hmac.compare_digest(key.encode(), known.encode()) and match is None:
                match = index
        if match is None:
            raise AuthenticationFailed("Invalid API key.")
        return ApiClient(match), key

    def authenticate_header(self, request: Request) -> str:
        return SCHEME  # makes DRF answer 401 (with WWW-Authenticate), not 403


class HasApiKey(BasePermission):
    message = "An API key is required: send 'Authorization: Api-Key <key>'."

    def has_permission(self, request: Request, view: APIView) -> Any:
        return not settings.COLLECT_REQUIRE_API_KEY or isinstance(request.user, ApiClient)
