"""The stream's own small HTTP server: /metrics, /health/live, /health/ready.

Ready means the source has polled Kafka lately and no service is being
waited for (an outage the stream is riding out makes it not ready, with the
service and its last error). Served on STREAM_METRICS_ADDRESS from a daemon
thread, once per process. When the SDK workers are processes of their own,
the launcher serves what they report instead (streaming/runtime/workers.py).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from streaming.runtime.metrics import REGISTRY

logger = logging.getLogger(__name__)

_served = False


Readiness = Callable[[], tuple[bool, dict[str, str]]]


def _never_ready() -> tuple[bool, dict[str, str]]:
    return False, {"run": "no readiness was given to the server"}


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry = REGISTRY
    readiness: Readiness = staticmethod(_never_ready)

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._answer(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
        elif self.path == "/health/live":
            self._json(200, {"status": "ok"})
        elif self.path == "/health/ready":
            ready, checks = self.readiness()
            self._json(200 if ready else 503, {"status": "ok" if ready else "unavailable", "checks": checks})
        else:
            self._json(404, {"error": "not_found"})

    def _json(self, status: int, body: object) -> None:
        self._answer(status, json.dumps(body).encode(), "application/json")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass  # scrapes every few seconds would drown the job's own log


def serve(address: str, registry: CollectorRegistry, readiness: Readiness) -> None:
    """Serve on host:port the metrics of `registry` and what `readiness` says (a run's Lifecycle, or its
    workers' reports); an empty address serves nothing, a busy port is logged, not fatal."""
    global _served
    if not address or _served:
        return
    host, _, port = address.rpartition(":")
    handler = type("Handler", (_Handler,), {"registry": registry, "readiness": staticmethod(readiness)})
    try:
        server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), handler)
    except OSError as error:
        logger.warning("no metrics or health endpoints: cannot listen on %s: %s", address, error)
        return
    threading.Thread(target=server.serve_forever, name="stream-health", daemon=True).start()
    _served = True
    logger.info("metrics and health at http://%s/ (metrics, health/live, health/ready)", address)
