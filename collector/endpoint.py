"""POST /collect, from a request to its answer, apart from any web framework.

Two doors lead here, and give the same answer to the same request:
- `collector.wsgi.collect_first`, in front of Django: a POST /collect that
  does not ask for HTML comes straight here. This is how every client of the
  API is served, with nothing of Django's request cycle on the way.
- `CollectView.post` (DRF): the browsable API (a browser asks for HTML) and
  Django's test client. DRF renders the answer as a page or as JSON.

Steps, each with a typed error (a 4xx or a 503, never a 5xx of ours): the
API key, the client's rate, the body (read_body, parse_json), the package's
shape (its DRF serializer, collector/serializers.py), then the package itself
(collect_package). Every answer is counted by its status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.exceptions import APIException

from collector.authentication import authenticate
from collector.errors import KafkaUnavailable, SchemaRegistryUnavailable, error_body, error_headers
from collector.metrics import count_package
from collector.parsers import parse_json, read_body
from collector.serializers import shaped_package
from collector.services import CollectResult, collect_package
from collector.throttling import check_rate
from contract.registry import SchemaUnavailable


@dataclass(frozen=True)
class Answer:
    """What POST /collect answers: a status, a JSON body, and headers beyond the content type."""

    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]] = field(default_factory=list)


def collect(request: HttpRequest) -> Answer:
    """The answer to one POST /collect; its body is read through `request.read`."""
    try:
        answer = Answer(200, result_body(take_package(request)))
    except APIException as error:
        answer = Answer(error.status_code, error_body(error), error_headers(error))
    count_package(answer.status)
    return answer


def take_package(request: HttpRequest) -> CollectResult:
    """Check the request, then collect its package; every refusal is an APIException."""
    client = authenticate(request.META)
    check_rate(request.META, client)
    body = read_body(request)
    package = shaped_package(parse_json(body, settings.COLLECT_MAX_JSON_DEPTH))  # the request's shape: its serializer
    try:
        result = collect_package(events=package, body=body)
    except SchemaUnavailable as error:
        raise SchemaRegistryUnavailable(str(error), wait=settings.COLLECT_RETRY_AFTER_SECONDS) from error
    if not result.confirmed:
        raise KafkaUnavailable(
            "Kafka did not acknowledge every event in time; send the unconfirmed ones again.",
            wait=settings.COLLECT_RETRY_AFTER_SECONDS,
            extra=result_body(result),
        )
    return result


def result_body(result: CollectResult) -> dict[str, Any]:
    events = []
    for outcome in result.events:
        item: dict[str, Any] = {
            "index": outcome.index,
            "correlationId": str(outcome.correlation_id),
            "status": outcome.status,
        }
        if outcome.error is not None:
            item["error"] = outcome.error
        if outcome.kafka_error is not None:
            item["kafkaError"] = outcome.kafka_error
        events.append(item)
    return {
        "packageId": str(result.package_id),
        "schemaId": result.schema_id,
        "accepted": result.count("accepted"),
        "rejected": result.count("rejected"),
        "unconfirmed": result.count("unconfirmed"),
        "events": events,
    }
