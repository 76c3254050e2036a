"""gunicorn, as the README recommends for production: the API behind `scripts/platform.sh up` and Docker.

Workers are processes (the GIL makes threads share one core); each has its
own Kafka producer, made after the fork on its first request. A few threads
per worker keep it busy while a request waits for Kafka's acknowledgements.
"""

import multiprocessing
import os
import tempfile
from typing import Any

# Each worker writes its metrics here; /metrics adds them up. Set before
# anything imports prometheus_client, which reads it once, at import.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="holded-metrics-"))

bind = os.environ.get("API_BIND", f"127.0.0.1:{os.environ.get('API_PORT', '8000')}")
workers = int(os.environ.get("API_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("API_THREADS", "4"))
# A request waits at most KAFKA_DELIVERY_TIMEOUT_SECONDS for Kafka: leave room.
timeout = int(float(os.environ.get("KAFKA_DELIVERY_TIMEOUT_SECONDS", "10"))) + 20
graceful_timeout = timeout
keepalive = 30
accesslog = os.environ.get("API_ACCESS_LOG") or None
errorlog = "-"
wsgi_app = "holded.wsgi:application"


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
