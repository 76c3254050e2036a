"""The lake's objects (contract section 7): their keys and bodies. Pure functions.

Named like Kafka Connect's S3 sink, so that any tool that reads its layout
reads ours: `<prefix>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<start offset>.jsonl`,
the date and hour of the object's first record's publishTime (UTC), the
offset zero-padded to 20 digits (every 64-bit offset) so that keys sort in
offset order. A body is JSON Lines, one record per line, and gzip when asked:
written with a fixed mtime, so a replay writes the very same bytes.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

ENRICHED_PREFIX = "enriched"
DEAD_LETTER_PREFIX = "dead-letter"
OFFSET_DIGITS = 20
CONTENT_TYPE = "application/x-ndjson"

_KEY = re.compile(
    r"^(?P<prefix>[^/]+)/dt=(?P<date>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})/"
    r"(?P<topic>.+)\+(?P<partition>\d+)\+(?P<start>\d{20})\.jsonl(?:\.gz)?$"  # OFFSET_DIGITS
)


def object_key(
    prefix: str, topic: str, partition: int, start: int, first_timestamp_ms: int, *, compressed: bool
) -> str:
    moment = datetime.fromtimestamp(first_timestamp_ms / 1000, UTC)
    name = f"{topic}+{partition}+{start:0{OFFSET_DIGITS}d}.jsonl" + (".gz" if compressed else "")
    return f"{prefix}/dt={moment:%Y-%m-%d}/hour={moment:%H}/{name}"


def parse_key(key: str) -> tuple[str, int, int] | None:
    """(topic, partition, start offset) of a lake object's key; None for any other key."""
    match = _KEY.match(key)
    if match is None:
        return None
    return match["topic"], int(match["partition"]), int(match["start"])


def line(document: Any) -> bytes:
    # allow_nan=False: NaN and Infinity are not JSON, and no reader of the lake could read them back.
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def body(lines: Iterable[bytes], *, compressed: bool) -> bytes:
    """The object's bytes: one line per record, each ended by a newline."""
    data = b"".join(item + b"\n" for item in lines)
    return gzip.compress(data, mtime=0) if compressed else data


def read_lines(key: str, data: bytes) -> list[bytes]:
    """The lines of an object, gunzipped if its key says so."""
    if key.endswith(".gz"):
        data = gzip.decompress(data)
    return data.splitlines()
