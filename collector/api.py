"""HTTP: POST /collect and the health endpoints. Views stay thin; the work is in endpoint and services."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collector.endpoint import collect
from collector.health import run_checks
from collector.metrics import exposition
from collector.serializers import EventSerializer, ResultSerializer

EXAMPLE_EVENT = {
    "data": {"id": "inv-1001", "amount": 120.5},
    "attributes": {
        "type": "invoice.created",
        "targetSubscription": "accounting",
        "X-Message-Stamp-Holded\\Shared\\Infrastructure\\Messenger\\Stamp\\NewContextStamp": {
            "accountId": "5b0e6d3c-9f1a-4c55-8d5e-0a7f3f1b2c44",
            "userId": "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
            "requestPlatform": "web",
        },
        "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\TimestampStamp": "2024-03-05T10:12:35+00:00",
        "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\MessageIdStamp": (
            "8c5b7b0e-2f7e-4a57-9d1a-3e2b1c0d9f8e"
        ),
    },
}


class CollectView(APIView):
    """Take a package of events: each valid one to events.raw, each invalid one to the dead letter."""

    # The work, and every check (API key, rate, body, the package's shape by its
    # serializer), is collector.endpoint's, shared with the door in front of
    # Django (collector/wsgi.py). DRF renders: JSON, or the browsable page for a
    # browser. The parser only names the media type for that page's form and for
    # the schema; the request's shape is EventSerializer's, here as in the door.
    parser_classes = [JSONParser]
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="collect",
        request=EventSerializer(many=True),
        responses={
            200: OpenApiResponse(ResultSerializer, "Every event acknowledged by Kafka, accepted or rejected."),
            400: OpenApiResponse(description="Malformed JSON, not an array, or an empty array. Nothing produced."),
            401: OpenApiResponse(description="No valid API key where one is required (Authorization: Api-Key <key>)."),
            413: OpenApiResponse(description="Body or number of events over the limit. Nothing produced."),
            415: OpenApiResponse(description="Not application/json, or an unsupported Content-Encoding."),
            429: OpenApiResponse(description="Too many requests; see Retry-After."),
            503: OpenApiResponse(description="Kafka or the Schema Registry unavailable; see Retry-After and events."),
        },
        # drf-spectacular wraps the example of a many=True serializer in the array itself.
        examples=[OpenApiExample("A package of one event", value=EXAMPLE_EVENT, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        answer = collect(request._request)
        return Response(answer.body, status=answer.status, headers=dict(answer.headers))


class LiveView(APIView):
    """The process answers."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="health_live", responses={200: OpenApiResponse(description="Alive.")})
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyView(APIView):
    """Kafka (with its topics) and the Schema Registry (with the events schema) answer: all the collector uses.

    Not the S3 store: the collector never writes to it (the stream archives the dead letters), so a store
    that is down must not take the API out of a load balancer."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health_ready",
        responses={200: OpenApiResponse(description="Ready."), 503: OpenApiResponse(description="Not ready.")},
    )
    def get(self, request: Request) -> Response:
        checks = run_checks()
        ready = all(check.ok for check in checks)
        return Response(
            {
                "status": "ok" if ready else "unavailable",
                "checks": {c.name: {"ok": c.ok, "detail": c.detail, "seconds": c.seconds} for c in checks},
            },
            status=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics of the API (every worker process's, added up)."""
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
