"""Benchmark of the lake's PUTs: the stream's writer (obstore) against the SigV4 writer it replaced and boto3.

    uv run python bench/s3_put.py [--sizes 65536,716800,7340032] [--puts 200] [--threads 1,2] [--repeat 3]

Needs the services (scripts/services.sh up). Each way PUTs `--puts` objects
of each size (JSON Lines of enriched-looking events, so compression and
hashing see real bytes) under a prefix of its own, which is deleted at the
end; the ways take turns, and each figure is the median of `--repeat` runs.
It prints PUTs/s, MB/s and the process's CPU milliseconds per PUT and per
MB: the stream's lake sink spends the CPU, and the CPU is what its drain
rate is bound by (two cores, shared with Kafka, PostgreSQL and the store).

The stream writes with LAKE_PUT_THREADS (2) threads; an object at 1,000
events/s holds about a second of events (700 KB), at a backlog's drain up to
STREAM_OBJECT_MAX_RECORDS (10,000: about 7 MB).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

import django  # noqa: E402

django.setup()

from bench.stream import delete_objects  # noqa: E402
from integrations.clients import s3_client, s3_config  # noqa: E402

Put = Callable[[str, bytes], None]
LINE = (
    b'{"data":{"id":"inv-1","amount":120.5,"lines":[{"sku":"A-1","qty":2}]},"attributes":{"type":"invoice.created",'
    b'"targetSubscription":"accounting","messageIdStamp":"8c5b7b0e-2f7e-4a57-9d1a-3e2b1c0d9f8e","timestampStamp":'
    b'"2024-03-05T10:12:35+00:00"},"metadata":{"correlationId":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",'
    b'"publishTime":"2024-03-05T10:12:35.123Z","schemaId":2}}\n'
)


def body(size: int, salt: int) -> bytes:
    lines = LINE.replace(b"inv-1", f"inv-{salt}".encode()) * (size // len(LINE) + 1)
    return lines[:size]


ALGORITHM = "AWS4-HMAC-SHA256"
SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


class SigV4Writer:
    """The stream's writer before obstore (until issue 23): SigV4 by hand on http.client, one kept-alive
    connection a thread. Kept here as the baseline the choice was measured against."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        bucket: str,
        timeout: float = 10.0,
    ) -> None:
        endpoint = urlsplit(endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self._https = endpoint.scheme == "https"
        self._host = endpoint.netloc
        self._region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._bucket = bucket
        self._timeout = timeout
        self._local = threading.local()
        self._signing_keys: dict[str, bytes] = {}

    def _signing_key(self, day: str) -> bytes:
        key = self._signing_keys.get(day)
        if key is None:
            key = _hmac(
                _hmac(_hmac(_hmac(f"AWS4{self._secret_access_key}".encode(), day), self._region), "s3"), "aws4_request"
            )
            self._signing_keys[day] = key
        return key

    def path(self, key: str) -> str:
        """The request path, URI-encoded as SigV4 wants it (everything but unreserved characters and /)."""
        return quote(f"/{self._bucket}/{key}", safe="/-_.~")

    def headers(self, key: str, body: bytes, now: datetime) -> dict[str, str]:
        """The signed headers of a PUT of `body` at `key`, at the instant `now`."""
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        payload_hash = hashlib.sha256(body).hexdigest()
        canonical_request = "\n".join(
            [
                "PUT",
                self.path(key),
                "",  # no query string
                f"host:{self._host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{stamp}\n",
                SIGNED_HEADERS,
                payload_hash,
            ]
        )
        scope = f"{day}/{self._region}/s3/aws4_request"
        string_to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
        signature = hmac.new(self._signing_key(day), string_to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "Host": self._host,
            "X-Amz-Date": stamp,
            "X-Amz-Content-SHA256": payload_hash,
            "Authorization": (
                f"{ALGORITHM} Credential={self._access_key_id}/{scope}, "
                f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
            ),
        }

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = factory(self._host, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def put(self, key: str, body: bytes, content_type: str = "application/json") -> None:
        """Write `body` at `key` (overwriting); raises S3WriteError if the store does not confirm it."""
        headers = self.headers(key, body, datetime.now(UTC))
        headers["Content-Type"] = content_type
        connection = self._connection()
        try:
            connection.request("PUT", self.path(key), body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()  # reconnect on the next PUT
            self._local.connection = None
            raise OSError(f"PUT {key}: {type(error).__name__}: {error}") from error
        if response.status != 200:
            message = f"PUT {key}: HTTP {response.status}: {answer[:300].decode(errors='replace')}"
            raise OSError(message)


def ours() -> Put:
    writer = s3_config().writer()
    return lambda key, data: writer.put(key, data, "application/x-ndjson")


def sigv4_by_hand() -> Put:
    config = s3_config()
    writer = SigV4Writer(
        endpoint_url=config.endpoint_url,
        region=config.region,
        access_key_id=config.access_key_id,
        secret_access_key=config.secret_access_key,
        bucket=config.bucket,
    )
    return lambda key, data: writer.put(key, data, "application/x-ndjson")


def obstore_put() -> Put:
    import obstore
    from obstore.store import S3Store

    config = s3_config()
    store = S3Store(
        config.bucket,
        endpoint=config.endpoint_url,
        region=config.region,
        access_key_id=config.access_key_id,
        secret_access_key=config.secret_access_key,
        virtual_hosted_style_request=False,
        client_options={"allow_http": config.endpoint_url.startswith("http://")},
    )

    def put(key: str, data: bytes) -> None:
        obstore.put(store, key, data, attributes={"Content-Type": "application/x-ndjson"})

    return put


def boto3_put() -> Put:
    client = s3_client()
    bucket = s3_config().bucket

    def put(key: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/x-ndjson")

    return put


WAYS: dict[str, Callable[[], Put]] = {
    "ours (integrations/s3_writer.py)": ours,
    "obstore, called directly": obstore_put,
    "SigV4 by hand (the writer before)": sigv4_by_hand,
    "boto3": boto3_put,
}


def run(put: Put, prefix: str, size: int, puts: int, threads: int) -> tuple[float, float]:
    """Seconds of wall time and of this process's CPU for `puts` PUTs of `size` bytes."""
    bodies = [body(size, index) for index in range(puts)]
    keys = [f"{prefix}/{size}/{index:06d}.jsonl" for index in range(puts)]
    wall, cpu = time.perf_counter(), time.process_time()
    if threads == 1:
        for key, data in zip(keys, bodies, strict=True):
            put(key, data)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, keys, bodies))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="65536,716800,7340032")
    parser.add_argument("--puts", type=int, default=200)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    thread_counts = [int(count) for count in args.threads.split(",")]
    prefix = f"bench-s3-put-{uuid.uuid4()}"
    ways: dict[str, Put] = {}
    for name, make in WAYS.items():
        try:
            ways[name] = make()
        except ImportError as error:
            print(f"{name}: not installed ({error}); left out")
    try:
        print(f"{'way':<34} {'size':>9} {'threads':>7} {'PUTs/s':>8} {'MB/s':>7} {'CPU ms/PUT':>10} {'CPU ms/MB':>9}")
        for size in sizes:
            puts = max(10, args.puts * 65536 // max(size, 65536))  # the large sizes, fewer: the same bytes
            for threads in thread_counts:
                results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
                for _ in range(args.repeat):
                    for name, put in ways.items():  # the ways take turns
                        results[name].append(run(put, f"{prefix}/{abs(hash(name))}", size, puts, threads))
                for name, runs in results.items():
                    wall = statistics.median(w for w, _ in runs)
                    cpu = statistics.median(c for _, c in runs)
                    megabytes = puts * size / 1e6
                    print(
                        f"{name:<34} {size:>9} {threads:>7} {puts / wall:>8.0f} {megabytes / wall:>7.1f}"
                        f" {1000 * cpu / puts:>10.2f} {1000 * cpu / megabytes:>9.2f}"
                    )
    finally:
        pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=s3_config().bucket, Prefix=prefix)
        delete_objects([item["Key"] for page in pages for item in page.get("Contents", [])])


if __name__ == "__main__":
    main()
