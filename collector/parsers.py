"""The body of POST /collect: JSON, maybe gzip-compressed, within size limits."""

from __future__ import annotations

import json
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

        try:
            return json.loads(body, parse_constant=_reject_constant)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN
            raise ParseError(f"Malformed JSON: {error}") from None
