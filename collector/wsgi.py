"""The door in front of Django: POST /collect served by collector.endpoint directly.

Django's request cycle (eight middlewares, URL resolution, DRF's request,
negotiation and rendering) cost more Python time than the event itself with
small packages (docs/decisions/19 and 22). A POST /collect that does not ask
for HTML therefore comes here: the Host is checked against ALLOWED_HOSTS as
Django checks it, the endpoint answers, and the answer goes out as JSON with
the headers Django's security middlewares would have added. Everything else,
including a browser's POST (it asks for HTML, and gets DRF's page), goes to
Django.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from http import HTTPStatus
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.core.wsgi import get_wsgi_application
from django.dispatch import receiver

from collector.endpoint import Answer, collect
from collector.metrics import count_package
from integrations.processes import stop_with

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def comes_here(environ: dict[str, Any]) -> bool:
    """A POST /collect from an API client: no query (DRF's ?format=) and no HTML asked for."""
    return (
        environ.get("PATH_INFO") == "/collect"
        and environ.get("REQUEST_METHOD") == "POST"
        and not environ.get("QUERY_STRING")
        and "text/html" not in environ.get("HTTP_ACCEPT", "")
    )


@lru_cache(maxsize=2)
def security_headers(secure: bool) -> list[tuple[str, str]]:
    """What SecurityMiddleware and XFrameOptionsMiddleware add to a response, from the same settings.

    Made once per process (and again when a test changes a setting): read for
    every request, the settings were a measurable part of a small one.
    """
    headers = [("Vary", "Accept"), ("X-Frame-Options", settings.X_FRAME_OPTIONS)]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if secure and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    return headers


@receiver(setting_changed)
def _forget_headers(**_: Any) -> None:
    security_headers.cache_clear()


def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    request = WSGIRequest(environ)
    try:
        request.get_host()
    except DisallowedHost as error:
        answer = Answer(400, {"error": "disallowed_host", "detail": str(error)})
        count_package(400)
    else:
        answer = collect(request)
    body = orjson.dumps(answer.body)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(
        f"{answer.status} {HTTPStatus(answer.status).phrase}",
        [*headers, *answer.headers, *security_headers(request.is_secure())],
    )
    return [body]


def collect_first(django_application: WSGIApp) -> WSGIApp:
    """A WSGI application: POST /collect to the endpoint, every other request to Django."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if comes_here(environ):
            return serve(environ, start_response)
        return django_application(environ, start_response)

    return application


# A worker of holded/server.py (granian) ends with the server: killed with SIGKILL, the server cannot stop it.
if os.environ.get("API_SERVER_PID"):
    stop_with(int(os.environ["API_SERVER_PID"]))

# What the server runs (holded/server.py, and runserver through WSGI_APPLICATION);
# DJANGO_SETTINGS_MODULE is set by then (by holded/server.py, or manage.py).
application = collect_first(get_wsgi_application())
