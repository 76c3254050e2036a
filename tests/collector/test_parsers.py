"""The body of POST /collect: gunzip within a limit, the media type, and the JSON parser (pure; no service)."""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import pytest
from django.test import RequestFactory
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.exceptions import ParseError, UnsupportedMediaType

from collector.errors import InvalidPackage, PayloadTooLarge, UnsupportedContentEncoding
from collector.parsers import _finite_float, _reject_constant, depth_of, gunzip, is_json, parse_json, read_events


def parse(body: bytes, content_type: str = "application/json", **meta: str) -> Any:
    request = RequestFactory().post("/collect", data=body, content_type=content_type)
    request.META.update(meta)
    return read_events(request)


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


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "*/*", "application/*"]
)
def test_json_media_types_are_read(content_type: str) -> None:
    assert is_json(content_type)
    assert parse(b"[1]", content_type=content_type) == [1]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "json"])
def test_other_media_types_are_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        parse(b"[1]", content_type=content_type)


def test_an_empty_body_is_a_clear_400() -> None:
    with pytest.raises(InvalidPackage, match="The body is empty"):
        parse(b"")


def test_the_depth_count_can_stop_early() -> None:
    value: Any = 1
    for _ in range(1000):
        value = [value, {"a": 1}]
    assert depth_of(value) == 1001  # each level: a list, and the dict beside the next level
    assert depth_of(value, beyond=64) == 65


# Any JSON text: values with integers of every size, floats, text beyond ASCII (lone surrogates too).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


def reference(body: bytes) -> Any:
    """What the standard library alone makes of a body: the value, or the type of the error."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError:
        return ParseError


def fast(body: bytes) -> Any:
    try:
        return parse_json(body, depth_limit=10_000)
    except ParseError:
        return ParseError


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0, and -0.0 is not 0.0)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    return bool(left == right)


@hypothesis_settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_the_fast_parser_reads_any_json_as_the_standard_library_does(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert same(fast(body), reference(body))


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.binary(max_size=60) | st.text(alphabet='[]{}",:0123456789.eE+-truefalsn \\u', max_size=40).map(str.encode))
def test_the_fast_parser_refuses_what_the_standard_library_refuses(body: bytes) -> None:
    assert same(fast(body), reference(body))
