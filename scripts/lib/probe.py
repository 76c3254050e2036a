"""Readiness probes for scripts/services.sh: exit 0 only when a service really answers.

A listening port is not enough: Kafka accepts connections before its
controller has elected itself, and an S3 gateway answers before it checks
signatures. Each probe makes the call the application will make.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def kafka(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    metadata = admin.list_topics(timeout=2)
    if not metadata.brokers:
        raise SystemExit("no broker in the cluster metadata yet")


def s3(endpoint: str, access_key: str, secret_key: str, bucket: str) -> None:
    """Answers with a signed request, and creates the bucket if it is missing."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
        client.create_bucket(Bucket=bucket)


def main(argv: list[str]) -> None:
    probes: dict[str, Callable[..., None]] = {"kafka": kafka, "s3": s3}
    if not argv or argv[0] not in probes:
        raise SystemExit(f"usage: probe.py {{{'|'.join(probes)}}} ARGS...")
    probes[argv[0]](*argv[1:])


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except Exception as error:  # a probe's only job is to say "not yet"
        print(f"not ready: {error}", file=sys.stderr)
        raise SystemExit(1) from None
