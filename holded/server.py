"""The API in production: nginx in front of granian serving collector.wsgi:application (the door).

    .venv/bin/python -m holded.server

`scripts/platform.sh up`, the Docker image, the benchmarks and the browser
tests all start the API this way. nginx (holded/proxy.py) listens where the
API is published, reads each request whole, and times out and bounds slow
and idle clients, which granian cannot (docs/decisions/24); it passes whole
requests to granian on a unix socket of this server's own. granian reads and
writes HTTP in Rust; each worker process calls the WSGI application on
threads of its own. A request's thread waits for Kafka's acknowledgements, so
a worker serves as many requests at once as it has threads (docs/decisions/22).

Settings, from the environment:
- API_BIND (host:port), else 127.0.0.1 and API_PORT (8000): where the API is published;
- API_PROXY: nginx (default), or none for granian alone on API_BIND; nginx's
  own settings are in holded/proxy.py;
- API_WORKERS: processes, one per core by default; each has its own Kafka
  producer, made after the worker starts, on its first request;
- API_THREADS: requests a worker serves at once (8); more wait in granian;
- API_ACCESS_LOG: anything but empty logs every request;
- API_PID_FILE: where the server writes its pid;
- PROMETHEUS_MULTIPROC_DIR: where each worker writes its metrics for
  /metrics to add up; a fresh folder when unset.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from pathlib import Path

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.server.mp import MPServer

from holded.proxy import Proxy, ProxySettings, run_directory

TARGET = "collector.wsgi:application"
# A request waits at most KAFKA_DELIVERY_TIMEOUT_SECONDS for Kafka; a stop waits that and more.
STOP_GRACE_SECONDS = int(float(os.environ.get("KAFKA_DELIVERY_TIMEOUT_SECONDS", "10"))) + 20


def address() -> tuple[str, int]:
    bind = os.environ.get("API_BIND") or f"127.0.0.1:{os.environ.get('API_PORT', '8000')}"
    host, _, port = bind.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def proxied() -> bool:
    proxy = os.environ.get("API_PROXY", "nginx")
    if proxy not in ("nginx", "none"):
        raise SystemExit(f"API_PROXY must be nginx or none, not {proxy!r}")
    return proxy == "nginx"


def environment_defaults() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")
    # Before anything imports prometheus_client, which reads it once, at import.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="holded-metrics-"))


def server(upstream: Path | None = None) -> MPServer:
    """granian, configured from the environment: on `upstream` (a unix socket, behind nginx), else on API_BIND."""
    environment_defaults()
    host, port = address()
    threads = int(os.environ.get("API_THREADS", "8"))
    pid_file = os.environ.get("API_PID_FILE")
    os.environ["API_SERVER_PID"] = str(os.getpid())  # each worker ends with this process (collector/wsgi.py)
    if upstream is not None:
        # Only nginx reaches this socket, and it sets X-Real-IP to the client's address: trusted for throttling.
        os.environ["API_CLIENT_ADDRESS_HEADER"] = "X-Real-IP"
    return MPServer(
        TARGET,
        address=host,
        port=port,
        uds=upstream,
        uds_permissions=0o600 if upstream is not None else None,
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("API_WORKERS") or os.cpu_count() or 1),
        blocking_threads=threads,
        # Requests beyond the threads wait in granian, not in Python. Behind nginx they arrive whole.
        backpressure=threads,
        http1_settings=HTTP1Settings(header_read_timeout=int(os.environ.get("API_HEADER_TIMEOUT", "10")) * 1000),
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


def check_settings() -> None:
    """Django's checks, as manage.py runs them before a command: the limits agree (collector/checks.py)."""
    environment_defaults()
    import django
    from django.core.management import call_command

    django.setup()
    # Quiet when all is well; a failed check raises, naming each error and its fix.
    call_command("check", fail_level="ERROR", stdout=io.StringIO())


def main() -> None:
    check_settings()
    run_dir = run_directory() if proxied() else None
    upstream = run_dir / "granian.sock" if run_dir is not None else None
    api = server(upstream)  # granian's logging is configured here
    granian_log = logging.getLogger("_granian")
    granian_log.addFilter(IntendedThreads())
    granian_log.info(
        "%s workers x %s request threads: a request's thread mostly waits for Kafka (docs/decisions/22)",
        api.workers,
        api.blocking_threads,
    )
    proxy = None
    if run_dir is not None and upstream is not None:
        host, port = address()
        proxy = Proxy(ProxySettings.from_environment(host, port, upstream), run_dir)
        granian_log.info("nginx (pid %s) in front, on %s:%s (holded/proxy.py)", proxy.process.pid, host, port)
    try:
        api.serve()
    finally:
        if proxy is not None:
            proxy.stop()


if __name__ == "__main__":
    main()
