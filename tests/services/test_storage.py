"""The real S3 store, through the project's one S3 client factory and its settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from integrations.clients import s3_client
from tests.support.lanes import unique_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


@pytest.fixture
def s3(services_up: None) -> S3Client:
    return s3_client()


@pytest.fixture
def prefix(s3: S3Client) -> Iterator[str]:
    name = unique_name("tests")
    yield name
    for item in s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=f"{name}/").get("Contents", []):
        s3.delete_object(Bucket=settings.S3_BUCKET, Key=item["Key"])


def keys(s3: S3Client, prefix: str) -> list[str]:
    return [
        item["Key"] for item in s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=f"{prefix}/").get("Contents", [])
    ]


def test_an_object_is_put_listed_and_got_back(s3: S3Client, prefix: str) -> None:
    body = b'{"event": "stored"}'

    s3.put_object(Bucket=settings.S3_BUCKET, Key=f"{prefix}/one.json", Body=body)

    assert keys(s3, prefix) == [f"{prefix}/one.json"]
    assert s3.get_object(Bucket=settings.S3_BUCKET, Key=f"{prefix}/one.json")["Body"].read() == body


def test_putting_the_same_key_twice_overwrites(s3: S3Client, prefix: str) -> None:
    # Idempotent sinks rely on it: a replay writes the same key again.
    s3.put_object(Bucket=settings.S3_BUCKET, Key=f"{prefix}/same.json", Body=b"first")
    s3.put_object(Bucket=settings.S3_BUCKET, Key=f"{prefix}/same.json", Body=b"second")

    assert keys(s3, prefix) == [f"{prefix}/same.json"]
    assert s3.get_object(Bucket=settings.S3_BUCKET, Key=f"{prefix}/same.json")["Body"].read() == b"second"


def test_a_wrong_secret_is_refused(services_up: None) -> None:
    # The store checks request signatures: it is a real S3 endpoint, not an emulator.
    client = boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key="not-the-secret",
        region_name=settings.S3_REGION,
    )
    with pytest.raises(ClientError) as raised:
        client.list_objects_v2(Bucket=settings.S3_BUCKET)
    assert raised.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied")


def test_the_bucket_is_private(services_up: None) -> None:
    # An anonymous (unsigned) request may neither list nor read.
    import urllib.error
    import urllib.request

    for path in (f"/{settings.S3_BUCKET}", f"/{settings.S3_BUCKET}/dead-letter/anything.json"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(settings.S3_ENDPOINT_URL + path, timeout=5)
        assert refused.value.code == 403


def root_client() -> S3Client:
    """The store's administrator, as scripts/services.sh holds it (the apps never do)."""
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        aws_access_key_id=os.environ.get("S3_ROOT_ACCESS_KEY_ID", "minioadmin"),
        aws_secret_access_key=os.environ.get("S3_ROOT_SECRET_ACCESS_KEY", "minioadmin"),
        region_name=settings.S3_REGION,
    )


def test_the_apps_user_is_not_the_stores_administrator(s3: S3Client) -> None:
    other = unique_name("other-bucket")
    root = root_client()
    root.create_bucket(Bucket=other)  # somebody else's bucket on the same store
    try:
        assert os.environ.get("S3_ROOT_ACCESS_KEY_ID", "minioadmin") != settings.S3_ACCESS_KEY_ID
        for attempt in (
            lambda: s3.put_object(Bucket=other, Key="x.json", Body=b"{}"),
            lambda: s3.list_objects_v2(Bucket=other),
            lambda: s3.create_bucket(Bucket=unique_name("new-bucket")),
        ):
            with pytest.raises(ClientError) as refused:
                attempt()
            assert refused.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        root.delete_bucket(Bucket=other)
