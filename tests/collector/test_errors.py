"""The one exception handler: every API error as {"error", "detail"} JSON (pure; no service)."""

from __future__ import annotations

from rest_framework.exceptions import NotAuthenticated, ValidationError

from collector.errors import InvalidPackage, KafkaUnavailable, PayloadTooLarge, handle_exception


def test_a_typed_error_has_its_code_and_detail() -> None:
    response = handle_exception(PayloadTooLarge("The body is larger than 10 bytes."), {})

    assert response is not None
    assert response.status_code == 413
    assert response.data == {"error": "payload_too_large", "detail": "The body is larger than 10 bytes."}


def test_a_service_error_asks_to_retry_and_carries_its_extra() -> None:
    error = KafkaUnavailable("Kafka did not acknowledge.", wait=7, extra={"events": [{"index": 0}]})

    response = handle_exception(error, {})

    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response.data == {
        "error": "kafka_unavailable",
        "detail": "Kafka did not acknowledge.",
        "events": [{"index": 0}],
    }


def test_drf_s_own_errors_get_the_same_shape() -> None:
    response = handle_exception(NotAuthenticated(), {})
    assert response is not None
    assert set(response.data) == {"error", "detail"}
    assert response.data["error"] == "not_authenticated"

    response = handle_exception(ValidationError({"field": ["bad"]}), {})
    assert response is not None
    assert response.status_code == 400
    assert response.data["detail"] == {"field": ["bad"]}


def test_an_error_that_is_not_the_api_s_is_left_to_django() -> None:
    assert handle_exception(KeyError("bug"), {}) is None


def test_the_default_detail_is_used_when_none_is_given() -> None:
    response = handle_exception(InvalidPackage(), {})
    assert response is not None
    assert response.data["detail"] == "The body must be a non-empty JSON array of events."
