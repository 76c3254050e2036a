"""The body of POST /collect: JSON, maybe gzip-compressed, within size and depth limits.

Whatever the body, the answer is a 4xx with a JSON error or a parsed value:
JSON's own grammar (no NaN, no Infinity, no number that only parses as an
infinite float), at most COLLECT_MAX_JSON_DEPTH levels of arrays and objects.

Two parsers, one result. orjson parses most bodies several times faster than
the standard library, but differs from it on a few inputs: it reads an integer
beyond 64 bits as a float, and refuses a lone surrogate, a byte order mark and
1e400 where `json` reads them or names the problem. So a body orjson refuses,
or whose value holds a float of 2**63 or more (maybe an integer orjson could
not keep), is parsed again by `json`, whose answer (a value, or the error) is
the one given. tests/collector/test_parsers.py checks both give the same value
for whatever hypothesis generates.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest
from rest_framework.exceptions import ParseError, UnsupportedMediaType

from collector.errors import InvalidPackage, PayloadTooLarge, UnsupportedContentEncoding

# orjson keeps integers from -2**63 to 2**64 - 1; beyond, it makes floats. A
# float this large may have been such an integer: the standard library decides.
_INTEGER_LIMIT = float(2**63)


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON does not, nor does a sink.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e400 is valid JSON but no double holds it: Python would make it infinity.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large for a double")
    return number


@dataclass(frozen=True)
class Shape:
    depth: int  # levels of arrays and objects (a scalar is 0), counted up to one past the limit
    large_float: bool  # a float of magnitude 2**63 or more somewhere in the value


def shape_of(value: Any, *, beyond: int | None = None) -> Shape:
    """How deeply `value` nests, and whether it holds a float that large, in one walk without recursion.

    With `beyond`, it stops once the depth passes it.
    """
    depth = 0
    large = type(value) is float and abs(value) >= _INTEGER_LIMIT
    level = [value] if isinstance(value, (dict, list)) else []
    while level and (beyond is None or depth <= beyond):
        depth += 1
        below = []
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                kind = type(child)
                if kind is dict or kind is list:
                    below.append(child)
                elif kind is float and (child >= _INTEGER_LIMIT or child <= -_INTEGER_LIMIT):
                    large = True
        level = below
    return Shape(depth, large)


def depth_of(value: Any, *, beyond: int | None = None) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0); with `beyond`, counted up to one past it."""
    return shape_of(value, beyond=beyond).depth


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


def parse_json(body: bytes, depth_limit: int) -> Any:
    """The JSON value of `body`, or ParseError naming what is wrong with it."""
    too_deep = f"The JSON nests more than {depth_limit} levels of arrays and objects."
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = _standard_parse(body, too_deep)  # names the problem, or reads what orjson refuses
    else:
        shape = shape_of(value, beyond=depth_limit)
        if not shape.large_float:
            if shape.depth > depth_limit:
                raise ParseError(too_deep)
            return value
        value = _standard_parse(body, too_deep)
    if depth_of(value, beyond=depth_limit) > depth_limit:
        raise ParseError(too_deep)
    return value


def _standard_parse(body: bytes, too_deep: str) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN, an infinite number, 4300+ digits
        raise ParseError(f"Malformed JSON: {error}") from None
    except RecursionError:  # deeper than Python's parser goes, hence far deeper than the limit
        raise ParseError(too_deep) from None


def is_json(content_type: str) -> bool:
    """application/json, with or without parameters (charset), as DRF matched it (wildcards too)."""
    main, _, sub = content_type.partition(";")[0].strip().partition("/")
    return main in ("application", "*") and sub in ("json", "*")


def read_events(request: HttpRequest) -> Any:
    """The parsed body of a POST /collect: size, media type, encoding and JSON checked, in that order."""
    return parse_json(read_body(request), settings.COLLECT_MAX_JSON_DEPTH)


def read_body(request: HttpRequest) -> bytes:
    """The body of a POST /collect, decompressed: size, media type and encoding checked, in that order."""
    limit = settings.COLLECT_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if not body:
        raise InvalidPackage("The body is empty: send a JSON array of events, with its Content-Length.")
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    content_type = request.META.get("CONTENT_TYPE", "")
    if not is_json(content_type):
        raise UnsupportedMediaType(content_type)

    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding == "gzip":
        body = gunzip(body, limit)
    elif encoding not in ("", "identity"):
        raise UnsupportedContentEncoding(f"Content-Encoding {encoding!r} is not supported; use gzip or identity.")
    return body


# What a scan of a JSON text stops at: a whole string (escapes included), or a bracket or a comma.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def element_texts(body: bytes) -> list[bytes]:
    """The text of each element of the JSON array `body`, exactly as sent (in UTF-8).

    For a dead letter that must hold an event as received when the event,
    written again as JSON, would no longer fit a Kafka record (a number such
    as 1e15 is written 1000000000000000.0). Call it only on a body that
    parsed as a JSON array.
    """
    text = body.decode(json.detect_encoding(body))
    elements: list[bytes] = []
    depth, start = 0, -1
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth == 1:
                start = token.end()
        elif mark in "]}":
            depth -= 1
            if depth == 0 and text[start : token.start()].strip():
                elements.append(text[start : token.start()].strip().encode(errors="backslashreplace"))
        elif mark == "," and depth == 1:
            elements.append(text[start : token.start()].strip().encode(errors="backslashreplace"))
            start = token.end()
    return elements
