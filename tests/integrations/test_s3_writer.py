"""integrations/s3_writer.py (obstore) against the real S3 store, which checks every signature."""

from __future__ import annotations

from collections.abc import Iterator

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
    with pytest.raises(S3WriteError, match=r"PermissionDeniedError|UnauthenticatedError"):
        writer(secret="not-the-secret").put(f"{prefix}/x.json", b"{}")


def test_a_store_that_does_not_answer_is_an_error() -> None:
    with pytest.raises(S3WriteError, match=r"PUT x\.json: \w+Error"):
        writer(endpoint="http://127.0.0.1:9").put("x.json", b"{}")
