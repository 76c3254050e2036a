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
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

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
    """`document` as one line of JSON, UTF-8, without spaces.

    NaN and Infinity raise ValueError: they are not JSON, and no reader of the
    lake could read them back. So does a text that is not Unicode (a lone
    surrogate). orjson writes it, in a tenth of the standard library's time
    (decision 23); what orjson refuses to write (an integer beyond 64 bits, a
    key that is not a text, nesting beyond 254 levels) goes the standard
    library's way, which writes it or raises.
    """
    try:
        data = orjson.dumps(document)
    except orjson.JSONEncodeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    if b"null" in data and _holds_non_finite(document):  # orjson writes NaN and Infinity as null
        raise ValueError(f"NaN and Infinity are not JSON: {document!r:.200}")
    return data


def _holds_non_finite(document: Any) -> bool:
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return False


def body(lines: Iterable[bytes], *, compressed: bool) -> bytes:
    """The object's bytes: one line per record, each ended by a newline."""
    data = b"".join(item + b"\n" for item in lines)
    return gzip.compress(data, mtime=0) if compressed else data


def read_lines(key: str, data: bytes) -> list[bytes]:
    """The lines of an object, gunzipped if its key says so."""
    if key.endswith(".gz"):
        data = gzip.decompress(data)
    return data.splitlines()
