"""The S3 client of this process (thread-safe, unlike django-storages' objects)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from django.conf import settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def make_s3_client(
    *, endpoint_url: str, region: str, access_key_id: str, secret_access_key: str, pool_size: int
) -> S3Client:
    """An S3 client for any S3-compatible store (MinIO, versitygw): path-style, SigV4."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=pool_size,
        ),
    )


@lru_cache(maxsize=1)
def s3_client() -> S3Client:
    """This process's client, from the settings."""
    return make_s3_client(
        endpoint_url=settings.S3_ENDPOINT_URL,
        region=settings.S3_REGION,
        access_key_id=settings.S3_ACCESS_KEY_ID,
        secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        pool_size=16,
    )
