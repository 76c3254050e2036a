"""PUTs of the lake's objects to an S3-compatible store, for the stream's hot path, through obstore.

obstore is the Python binding of the Arrow project's `object_store` (Rust):
SigV4 signing, kept-alive connections, and the GIL released while a PUT is
on the wire, kept by people who keep it for many stores. It replaced a SigV4
writer of our own (chosen over boto3, which costs about three times the CPU a
PUT) at the same CPU a PUT within the noise, as bench/s3_put.py measures in
one run; the figures and the choice are in docs/decisions/25-stream-house.md.
Listing and reading (reconcile, the status page, the tests and benchmarks)
use boto3.

obstore's own retries are off: the stream waits out a store that does not
answer with its RetryPolicy, which reports the outage in readiness, and finds
an object the store refuses by behaviour (streaming/pipeline/isolation.py).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import obstore
from obstore.store import S3Store


class S3WriteError(Exception):
    """The store refused a PUT, or did not answer it: the PUT is not confirmed.

    Which of the two is not claimed: obstore gives a server error, a timeout
    and a refused connection one type (GenericError). The lake sink tells a
    store at fault from an object it refuses by behaviour instead: a probe
    write (streaming/pipeline/isolation.py), safe for any error.
    """


class S3Writer:
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
        self._store = S3Store(
            bucket,
            endpoint=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            virtual_hosted_style_request=False,  # path style, as every S3-compatible store takes
            client_options={
                "allow_http": endpoint.scheme == "http",
                "timeout": f"{timeout:g}s",
                "connect_timeout": f"{min(timeout, 5.0):g}s",
            },
            retry_config={
                "max_retries": 0,
                "retry_timeout": timedelta(seconds=timeout),
                "backoff": {"init_backoff": timedelta(seconds=0.1), "max_backoff": timedelta(seconds=1), "base": 2},
            },
        )

    def put(self, key: str, body: bytes, content_type: str = "application/json") -> None:
        """Write `body` at `key` (overwriting); raises S3WriteError if the store does not confirm it."""
        try:
            obstore.put(self._store, key, body, attributes={"Content-Type": content_type})
        except Exception as error:  # obstore's errors, typed or generic: the PUT is not confirmed either way
            message = str(error).split("\n", 1)[0][:300]
            raise S3WriteError(f"PUT {key}: {type(error).__name__}: {message}") from error
