"""integrations/s3_writer.py against the real S3 store, which checks every signature."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.conf import settings

from integrations.clients import s3_client
from integrations.s3_writer import S3WriteError, S3Writer
from tests.support.lanes import unique_name


def writer(secret: str | None = None, endpoint: str | None = None) -> S3Writer:
    return S3Writer(
        endpoint_url=endpoint or settings.S3_ENDPOINT_URL,
        region=settings.S3_REGION,
        access_key_id=settings.S3_ACCESS_KEY_ID,
        secret_access_key=secret or settings.S3_SECRET_ACCESS_KEY,
        bucket=settings.S3_BUCKET,
    )


@pytest.fixture
def prefix(services_up: None) -> Iterator[str]:
    name = unique_name("tests/s3-writer")
    yield name
    listing = s3_client().list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=name)
    for item in listing.get("Contents", []):
        s3_client().delete_object(Bucket=settings.S3_BUCKET, Key=item["Key"])


@pytest.mark.integration
@pytest.mark.parametrize(
    "name",
    ["plain.json", "dt=2024-03-05/event.json", "with space+plus&amp.json", "ünïcode/€.json", "a~b_c-d.e.json"],
)
def test_a_put_is_accepted_and_reads_back(prefix: str, name: str) -> None:
    key = f"{prefix}/{name}"

    writer().put(key, b'{"written": true}')

    stored = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)
    assert stored["Body"].read() == b'{"written": true}'
    assert stored["ContentType"] == "application/json"


@pytest.mark.integration
def test_a_second_put_overwrites(prefix: str) -> None:
    key = f"{prefix}/same.json"
    writer().put(key, b"first")
    writer().put(key, b"second")

    assert s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read() == b"second"


@pytest.mark.integration
def test_a_wrong_secret_is_refused(prefix: str) -> None:
    with pytest.raises(S3WriteError, match="HTTP 403"):
        writer(secret="not-the-secret").put(f"{prefix}/x.json", b"{}")


def test_a_store_that_does_not_answer_is_an_error() -> None:
    with pytest.raises(S3WriteError, match="ConnectionRefusedError"):
        writer(endpoint="http://127.0.0.1:9").put("x.json", b"{}")


@pytest.mark.parametrize("key", ["enriched/dt=2024-03-05/0190.json", "with space+plus&amp.json", "ünïcode/€.json"])
def test_the_signature_is_the_one_botocore_computes(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    instant = datetime(2024, 3, 5, 10, 12, 35, tzinfo=UTC)
    body = b'{"event": 1}'
    ours = writer().headers(key, body, instant)

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: instant.replace(tzinfo=None))
    request = AWSRequest(
        method="PUT",
        url=settings.S3_ENDPOINT_URL + writer().path(key),
        data=body,
        headers={"X-Amz-Content-SHA256": ours["X-Amz-Content-SHA256"]},
    )
    credentials = Credentials(settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY)
    botocore.auth.S3SigV4Auth(credentials, "s3", settings.S3_REGION).add_auth(request)

    assert request.headers["X-Amz-Date"] == ours["X-Amz-Date"]
    assert request.headers["Authorization"] == ours["Authorization"]
