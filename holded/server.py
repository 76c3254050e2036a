"""The API in production: granian serving collector.wsgi:application (the door in front of Django).

    .venv/bin/python -m holded.server

`scripts/platform.sh up`, the Docker image, the benchmarks and the browser
tests all start the API this way. granian reads and writes HTTP in Rust;
each worker process calls the WSGI application on threads of its own. A
request's thread waits for Kafka's acknowledgements, so a worker serves as
many requests at once as it has threads (docs/decisions/22).

Settings, from the environment:
- API_BIND (host:port), else 127.0.0.1 and API_PORT (8000);
- API_WORKERS: processes, one per core by default; each has its own Kafka
  producer, made after the worker starts, on its first request;
- API_THREADS: requests a worker serves at once (8); more wait in granian;
- API_ACCESS_LOG: anything but empty logs every request;
- API_PID_FILE: where the server writes its pid;
- PROMETHEUS_MULTIPROC_DIR: where each worker writes its metrics for
  /metrics to add up; a fresh folder when unset.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from granian.constants import Interfaces
from granian.server.mp import MPServer

TARGET = "collector.wsgi:application"
# A request waits at most KAFKA_DELIVERY_TIMEOUT_SECONDS for Kafka; a stop waits that and more.
STOP_GRACE_SECONDS = int(float(os.environ.get("KAFKA_DELIVERY_TIMEOUT_SECONDS", "10"))) + 20


def address() -> tuple[str, int]:
    bind = os.environ.get("API_BIND") or f"127.0.0.1:{os.environ.get('API_PORT', '8000')}"
    host, _, port = bind.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def server() -> MPServer:
    """granian, configured from the environment."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")
    # Before any worker imports prometheus_client, which reads it once, at import.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="holded-metrics-"))
    host, port = address()
    threads = int(os.environ.get("API_THREADS", "8"))
    pid_file = os.environ.get("API_PID_FILE")
    return MPServer(
        TARGET,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("API_WORKERS") or os.cpu_count() or 1),
        blocking_threads=threads,
        # Requests beyond the threads wait in granian, not in Python.
        backpressure=threads,
        websockets=False,
        log_access=bool(os.environ.get("API_ACCESS_LOG")),
        respawn_failed_workers=True,
        workers_kill_timeout=STOP_GRACE_SECONDS,
        pid_file=Path(pid_file) if pid_file else None,
    )


class IntendedThreads(logging.Filter):
    """Drops granian's warning that a worker has more threads than the cores: here that is the design.

    A request's thread spends most of its time waiting for Kafka's
    acknowledgements, not computing (docs/decisions/22).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Configuration allows spawning up to")


def main() -> None:
    api = server()  # granian's logging is configured here
    granian_log = logging.getLogger("_granian")
    granian_log.addFilter(IntendedThreads())
    granian_log.info(
        "%s workers x %s request threads: a request's thread mostly waits for Kafka (docs/decisions/22)",
        api.workers,
        api.blocking_threads,
    )
    api.serve()


if __name__ == "__main__":
    main()
