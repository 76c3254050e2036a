"""The real S3 store, through django-storages and the project's settings."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from tests.conftest import unique_name

pytestmark = pytest.mark.integration


@pytest.fixture
def storage(services_up: None) -> Storage:
    return storages["events"]


@pytest.fixture
def prefix(storage: Storage) -> Iterator[str]:
    name = unique_name("tests")
    yield name
    _, files = storage.listdir(name)
    for file in files:
        storage.delete(f"{name}/{file}")


def test_an_object_is_put_listed_and_got_back(storage: Storage, prefix: str) -> None:
    body = b'{"event": "stored"}'

    saved = storage.save(f"{prefix}/one.json", ContentFile(body))

    assert saved == f"{prefix}/one.json"
    _, files = storage.listdir(prefix)
    assert files == ["one.json"]
    with storage.open(saved) as handle:
        assert handle.read() == body


def test_saving_the_same_key_twice_overwrites(storage: Storage, prefix: str) -> None:
    # Idempotent sinks rely on it: a replay writes the same key again.
    storage.save(f"{prefix}/same.json", ContentFile(b"first"))
    storage.save(f"{prefix}/same.json", ContentFile(b"second"))

    _, files = storage.listdir(prefix)
    assert files == ["same.json"]
    with storage.open(f"{prefix}/same.json") as handle:
        assert handle.read() == b"second"


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
