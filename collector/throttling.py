"""429 beyond COLLECT_THROTTLE_RATE requests per client, read at request time."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class CollectRateThrottle(SimpleRateThrottle):
    scope = "collect"

    def get_rate(self) -> str | None:
        return settings.COLLECT_THROTTLE_RATE or None

    def allow_request(self, request: Request, view: APIView) -> bool:
        # The rate is a setting that tests and operators change at run time.
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        # Per API key where there is one (a client behind a shared address), else per address.
        client = getattr(request.user, "key_index", None)
        ident = f"key-{client}" if client is not None else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
