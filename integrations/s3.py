"""The S3 store: its configuration, and boto3 clients for it.

Every S3 client of the project comes from `S3Config.client()`: path-style
addressing and SigV4, which MinIO and versitygw both need. The stream's hot
path writes through `integrations.s3_writer.S3Writer` instead, made by
`S3Config.writer()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from integrations.s3_writer import S3Writer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str
    bucket: str

    def client(self, pool_size: int = 10) -> S3Client:
        """A boto3 client (thread-safe; `pool_size` connections at most)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=3,
                read_timeout=10,
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=pool_size,
            ),
        )

    def writer(self) -> S3Writer:
        """The lean PUT writer of the stream's sinks, on this bucket."""
        return S3Writer(**asdict(self))  # the same five settings, by the same names
