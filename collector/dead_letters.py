"""The collector's copy of its dead letters in the S3 store, made after Kafka has them.

The dead-letter topic is the record of truth; a failed copy is logged with
its correlationId so it can be written again from the topic.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from functools import lru_cache

from django.conf import settings

from contract.dead_letter import DeadLetter
from integrations.clients import s3_client

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _uploads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="dead-letter-s3")


def _put(letter: DeadLetter) -> None:
    s3_client().put_object(
        Bucket=settings.S3_BUCKET,
        Key=letter.object_key(),
        Body=letter.object_body(),
        ContentType="application/json",
    )


def archive(letters: list[DeadLetter], timeout: float) -> set[uuid.UUID]:
    """Write the dead letters to the S3 store in parallel; the ids of those that failed."""
    if not letters:
        return set()
    futures = {_uploads().submit(_put, letter): letter for letter in letters}
    done, not_done = wait(futures, timeout=timeout)
    failed = set()
    for future in not_done:
        failed.add(futures[future].correlation_id)
        logger.error("dead letter %s not archived in time", futures[future].correlation_id)
    for future in done:
        error = future.exception()
        if error is not None:
            failed.add(futures[future].correlation_id)
            logger.error("dead letter %s not archived: %s", futures[future].correlation_id, error)
    return failed
