"""The API as production serves it: in a process of its own (python -m holded.server, granian), or
its WSGI application called in this process with the environ a WSGI server builds.

The process runs with DEBUG off, static files collected and served by
whitenoise, the API's own least-privilege database role (API_POSTGRES_USER),
and metrics in a folder of the test's.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServedApi:
    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]  # the server's main process


@contextmanager
def api_server(port: int, env: dict[str, str], workdir: Path) -> Iterator[ServedApi]:
    """The API on 127.0.0.1:`port`, with `env` on top of the production-like settings, once it answers."""
    static, metrics = workdir / "static", workdir / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    environment = {
        "API_WORKERS": "1",
        **env,
        "API_PORT": str(port),
        "API_BIND": "",
        "DJANGO_DEBUG": "false",
        "DJANGO_STATIC_ROOT": str(static),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        # As in production: the API's own least-privilege role, not the owner.
        "POSTGRES_USER": str(settings.API_POSTGRES_USER),
        "POSTGRES_PASSWORD": str(settings.API_POSTGRES_PASSWORD),
    }
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if collected.returncode != 0:
        raise RuntimeError(f"collectstatic failed: {collected.stderr}")
    log_path = workdir / "api.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "holded.server"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield ServedApi(base, server)
    finally:
        server.terminate()
        try:
            server.wait(40)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def post_environ(body: bytes, content_type: str = "application/json", **overrides: Any) -> dict[str, Any]:
    """The WSGI environ of a POST /collect from 127.0.0.1, as a server builds it; `overrides` on top."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/collect",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    return environ | overrides


def call_wsgi(
    application: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]], environ: dict[str, Any]
) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers, body) of one call of a WSGI application."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(application(environ, lambda status, headers: started.append((status, headers))))
    status, headers = started[0]
    return status, dict(headers), body
