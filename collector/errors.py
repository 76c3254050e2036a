"""Typed API errors, and the one handler that turns every error into JSON.

Every error body has the same shape: {"error": <code>, "detail": <message>},
plus what the error itself adds (a 503 of /collect lists its events).
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request is too large."


class UnsupportedContentEncoding(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_content_encoding"
    default_detail = "Content-Encoding must be gzip or identity."


class InvalidPackage(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_package"
    default_detail = "The body must be a non-empty JSON array of events."


class ServiceUnavailable(APIException):
    """A backing service is down: retry after `wait` seconds (the Retry-After header)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"

    def __init__(self, detail: str, *, wait: int, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.wait = wait  # DRF's exception handler turns it into Retry-After
        self.extra = extra or {}


class KafkaUnavailable(ServiceUnavailable):
    default_code = "kafka_unavailable"


class SchemaRegistryUnavailable(ServiceUnavailable):
    default_code = "schema_registry_unavailable"


def error_body(exc: APIException) -> dict[str, Any]:
    """{"error": <code>, "detail": <message>} plus what the error adds."""
    detail: Any = exc.detail if isinstance(exc.detail, (list, dict)) else str(exc.detail)
    body: dict[str, Any] = {"error": getattr(exc.detail, "code", None) or exc.default_code, "detail": detail}
    body.update(getattr(exc, "extra", {}))
    return body


def error_headers(exc: APIException) -> list[tuple[str, str]]:
    """The headers DRF gives an error: the scheme of a 401, the seconds of a Retry-After."""
    headers = []
    scheme, wait = getattr(exc, "auth_header", None), getattr(exc, "wait", None)
    if scheme:
        headers.append(("WWW-Authenticate", str(scheme)))
    if wait:
        headers.append(("Retry-After", str(int(wait))))
    return headers


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, APIException):
        return response  # not ours to answer: Django's 500
    response.data = error_body(exc)
    return response
