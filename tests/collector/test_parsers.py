"""The body of POST /collect: gunzip within a limit, and the JSON parser (pure; no service)."""

from __future__ import annotations

import gzip
import io
from typing import Any

import pytest
from django.test import RequestFactory
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.exceptions import ParseError

from collector.errors import PayloadTooLarge, UnsupportedContentEncoding
from collector.parsers import EventsJSONParser, depth_of, gunzip


def parse(body: bytes, **meta: str) -> Any:
    request = RequestFactory().post("/collect", data=body, content_type="application/json")
    request.META.update(meta)
    return EventsJSONParser().parse(io.BytesIO(body), "application/json", {"request": request})


def test_gunzip_gives_back_the_body() -> None:
    assert gunzip(gzip.compress(b"[1, 2]"), limit=100) == b"[1, 2]"


def test_gunzip_refuses_a_bomb_without_inflating_it() -> None:
    bomb = gzip.compress(b"0" * 10_000_000)  # about 10 kB that inflates to 10 MB

    with pytest.raises(PayloadTooLarge, match="larger than 1000 bytes once decompressed"):
        gunzip(bomb, limit=1000)


def test_gunzip_refuses_what_is_not_gzip_and_a_truncated_body() -> None:
    with pytest.raises(ParseError, match="not"):
        gunzip(b"plain text", limit=100)
    with pytest.raises(ParseError, match="truncated"):
        gunzip(gzip.compress(b"[1, 2, 3, 4]")[:-8], limit=100)


def test_the_parser_reads_json_plain_and_gzipped() -> None:
    assert parse(b'[{"a": 1}]') == [{"a": 1}]
    assert parse(gzip.compress(b'[{"a": 1}]'), HTTP_CONTENT_ENCODING="gzip") == [{"a": 1}]


@pytest.mark.parametrize("body", [b"[NaN]", b"[Infinity]", b"[-Infinity]", b"[1,", b"\xff\xfe"])
def test_the_parser_refuses_what_json_does_not_allow(body: bytes) -> None:
    with pytest.raises(ParseError, match="Malformed JSON"):
        parse(body)


def test_the_parser_refuses_an_unknown_encoding() -> None:
    with pytest.raises(UnsupportedContentEncoding, match="br"):
        parse(b"[]", HTTP_CONTENT_ENCODING="br")


def test_the_parser_refuses_a_body_over_the_limit(settings: SettingsWrapper) -> None:
    settings.COLLECT_MAX_BODY_BYTES = 10

    with pytest.raises(PayloadTooLarge, match="larger than 10 bytes"):
        parse(b"[" + b"1," * 20 + b"1]")


def test_a_number_no_double_holds_is_refused() -> None:
    with pytest.raises(ParseError, match="too large for a double"):
        parse(b'[{"data": {"amount": 1e400}}]')


def test_a_huge_integer_is_parsed_for_validation_to_refuse() -> None:
    assert parse(b"[" + b"9" * 400 + b"]") == [int("9" * 400)]


@pytest.mark.parametrize("depth", [65, 5_000, 200_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    with pytest.raises(ParseError, match="nests more than 64 levels"):
        parse(b"[" * depth + b"]" * depth)


def test_nesting_within_the_limit_is_parsed() -> None:
    assert depth_of(parse(b"[" * 64 + b"]" * 64)) == 64
