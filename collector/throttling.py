"""429 beyond COLLECT_THROTTLE_RATE requests per client, read at request time.

A client is its API key where it sent one, else its address: the
connection's, or, behind the server's own nginx (holded/proxy.py), the
X-Real-IP header that nginx sets (COLLECT_CLIENT_ADDRESS_HEADER), which only
it can send: granian listens on a unix socket of its own. X-Forwarded-For
from elsewhere is not trusted: anyone can write it, so it would let a client
pick a fresh identity for every request. Behind another proxy, give each
client a key. Counts live in Django's cache, per API process (the default
cache is in memory, at most 300 entries), over a sliding window as DRF's
throttles count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import Throttled

from collector.authentication import ApiClient

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "100/second" or "6000/minute" (s, m, h, d by their first letter) -> (requests, seconds)."""
    count, _, period = rate.partition("/")
    if not count.strip().isdigit() or period[:1] not in PERIODS:
        raise ImproperlyConfigured(f"COLLECT_THROTTLE_RATE must be like 100/second or 6000/minute, not {rate!r}")
    return int(count), PERIODS[period[0]]


def client_ident(meta: Mapping[str, Any], client: ApiClient | None) -> str:
    if client is not None:
        return f"key-{client.key_index}"
    header = settings.COLLECT_CLIENT_ADDRESS_HEADER
    address = meta.get(f"HTTP_{header.upper().replace('-', '_')}") if header else None
    return f"address-{address or meta.get('REMOTE_ADDR', '')}"


def check_rate(meta: Mapping[str, Any], client: ApiClient | None) -> None:
    """Count this request, or raise Throttled with the seconds until the client may post again."""
    rate = settings.COLLECT_THROTTLE_RATE
    if not rate:
        return
    allowed, window = parse_rate(rate)
    key = f"throttle-collect-{client_ident(meta, client)}"
    now = time.time()
    history = [stamp for stamp in cache.get(key, []) if stamp > now - window]  # newest first
    if len(history) >= allowed:
        raise Throttled(wait=max(1, math.ceil(window - (now - history[-1]))))
    cache.set(key, [now, *history], window)
