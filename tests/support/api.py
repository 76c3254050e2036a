"""The API as production serves it, in a process of its own: python -m holded.server (granian).

DEBUG off, static files collected and served by whitenoise, the API's own
least-privilege database role (API_POSTGRES_USER), metrics in a folder of
the test's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
