"""The body of POST /collect: JSON, maybe gzip-compressed, within size and depth limits.

Whatever the body, the answer is a 4xx with a JSON error or a parsed value:
JSON's own grammar (no NaN, no Infinity, no number that only parses as an
infinite float), at most COLLECT_MAX_JSON_DEPTH levels of arrays and objects.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from collector.errors import PayloadTooLarge, UnsupportedContentEncoding


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON does not, nor does a sink.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e400 is valid JSON but no double holds it: Python would make it infinity.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large for a double")
    return number


def depth_of(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress, refusing output beyond `limit` (a small body can inflate enormously)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        output = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise ParseError(f"Content-Encoding is gzip but the body is not: {error}") from None
    if len(output) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes once decompressed.")
    if not inflater.eof:
        raise ParseError("The gzip body is truncated.")
    return output


class EventsJSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        request = (parser_context or {})["request"]
        limit = settings.COLLECT_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")

        encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding == "gzip":
            body = gunzip(body, limit)
        elif encoding not in ("", "identity"):
            raise UnsupportedContentEncoding(f"Content-Encoding {encoding!r} is not supported; use gzip or identity.")

        depth_limit = settings.COLLECT_MAX_JSON_DEPTH
        too_deep = f"The JSON nests more than {depth_limit} levels of arrays and objects."
        try:
            value = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN, an infinite number, 4300+ digits
            raise ParseError(f"Malformed JSON: {error}") from None
        except RecursionError:  # deeper than Python's parser goes, hence far deeper than the limit
            raise ParseError(too_deep) from None
        if depth_of(value) > depth_limit:
            raise ParseError(too_deep)
        return value
