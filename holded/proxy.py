"""nginx in front of granian: what the API's own server cannot bound, slow and idle clients.

Measured here with granian 2.8 (docs/decisions/24-bounded-by-design.md):
its HTTP/1 times out a slow header but not a slow body, has no idle timeout,
and its backpressure counts connections. 32 sockets sending a header a byte
every 5 s, or 16 sending a body that way, held every request thread: a
normal request and /health/live timed out. nginx, as production deployments
put one in front, reads each request whole before passing it on (its body
in memory up to BODY_BUFFER, then in a file), times out a slow header, a
slow body and an idle keep-alive connection, and bounds connections, so the
request threads only ever serve whole requests.

`python -m holded.server` starts it (API_PROXY=nginx, the default): nginx
listens where the API is published and passes requests to granian on a unix
socket only the two of them share. Everything it answers itself is JSON in
the API's shape ({"error", "detail"}): 413 for a body over
COLLECT_MAX_BODY_BYTES, 408 for a client too slow, 429 with Retry-After past
API_MAX_CONNECTIONS_PER_CLIENT, 503 with Retry-After while granian does not
answer. Settings (environment; seconds and counts):

- API_PROXY: nginx, or none to serve granian directly (a deployment that
  already has such a proxy in front);
- API_HEADER_TIMEOUT (10): to read a request's line and headers;
- API_BODY_TIMEOUT (10): between two reads of a body;
- API_IDLE_TIMEOUT (30): a kept-alive connection without a request;
- API_MAX_CONNECTIONS (4096): connections at once, all clients;
- API_MAX_CONNECTIONS_PER_CLIENT (256): requests at once from one address.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from integrations.processes import stop_with_parent

# A request's body in memory up to this; a larger one goes to a file of nginx's (bounded memory per connection).
BODY_BUFFER = "128k"
# A request line and each header at most this (a longer one: 414 or 431, in JSON).
HEADER_BUFFER = "16k"
# nginx's own worker: one, on a machine whose cores serve Python (measured: decision 24).
WORKERS = 1


@dataclass(frozen=True)
class ProxySettings:
    listen_host: str
    listen_port: int
    upstream: Path  # granian's unix socket
    max_body_bytes: int
    reply_timeout_seconds: int  # how long granian may take to answer (a request waits for Kafka)
    header_timeout: int = 10
    body_timeout: int = 10
    idle_timeout: int = 30
    max_connections: int = 4096
    max_connections_per_client: int = 256
    retry_after_seconds: int = 5
    access_log: bool = False

    @classmethod
    def from_environment(cls, host: str, port: int, upstream: Path) -> ProxySettings:
        environ = os.environ
        delivery = float(environ.get("KAFKA_DELIVERY_TIMEOUT_SECONDS", "10"))
        return cls(
            listen_host=host,
            listen_port=port,
            upstream=upstream,
            max_body_bytes=int(environ.get("COLLECT_MAX_BODY_BYTES", str(1024 * 1024))),
            reply_timeout_seconds=int(delivery) + 20,
            header_timeout=int(environ.get("API_HEADER_TIMEOUT", "10")),
            body_timeout=int(environ.get("API_BODY_TIMEOUT", "10")),
            idle_timeout=int(environ.get("API_IDLE_TIMEOUT", "30")),
            max_connections=int(environ.get("API_MAX_CONNECTIONS", "4096")),
            max_connections_per_client=int(environ.get("API_MAX_CONNECTIONS_PER_CLIENT", "256")),
            retry_after_seconds=int(environ.get("COLLECT_RETRY_AFTER_SECONDS", "5")),
            access_log=bool(environ.get("API_ACCESS_LOG")),
        )


@dataclass(frozen=True)
class Answer:
    """What nginx answers itself: for which of its statuses, with which status and JSON body."""

    status: int
    statuses: tuple[int, ...]  # nginx's own statuses it answers for
    error: str
    detail: str
    retry: bool = False  # with Retry-After


def answers(proxy: ProxySettings) -> list[Answer]:
    return [
        Answer(400, (400,), "bad_request", "The request is not valid HTTP."),
        Answer(408, (408,), "request_timeout", "The request was not received in time."),
        Answer(413, (413,), "payload_too_large", f"The body is larger than {proxy.max_body_bytes} bytes."),
        Answer(414, (414,), "uri_too_long", f"The request line is longer than {HEADER_BUFFER}."),
        Answer(431, (494,), "header_too_large", f"A header is longer than {HEADER_BUFFER}."),
        Answer(429, (429,), "too_many_connections", "Too many requests at once from this address.", retry=True),
        Answer(503, (502, 503, 504), "api_unavailable", "The API is not answering; try again.", retry=True),
    ]


def _error_pages(proxy: ProxySettings) -> str:
    lines = []
    for answer in answers(proxy):
        statuses = " ".join(map(str, answer.statuses))
        renamed = "" if answer.statuses == (answer.status,) else f"={answer.status} "
        lines.append(f"        error_page {statuses} {renamed}/_proxy/{answer.status};")
    return "\n".join(lines)


def _answer_locations(proxy: ProxySettings) -> str:
    blocks = []
    for answer in answers(proxy):
        body = json.dumps({"error": answer.error, "detail": answer.detail}, separators=(",", ":"))
        retry = f"\n            add_header Retry-After {proxy.retry_after_seconds} always;" if answer.retry else ""
        blocks.append(
            f"        location = /_proxy/{answer.status} {{\n            internal;\n"
            f"            default_type application/json;{retry}\n"
            f"            return {answer.status} '{body}';\n        }}"
        )
    return "\n".join(blocks)


def nginx_config(proxy: ProxySettings, run_dir: Path) -> str:
    """nginx.conf for `proxy`, its temporary files under `run_dir`."""
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""  # as root, workers run as the same user
    host = f"[{proxy.listen_host}]" if ":" in proxy.listen_host else proxy.listen_host
    return f"""
{user}
worker_processes {WORKERS};
worker_rlimit_nofile {proxy.max_connections * 2 + 64};
pid {run_dir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections {proxy.max_connections}; }}
http {{
    access_log {"/dev/stdout" if proxy.access_log else "off"};
    server_tokens off;
    client_body_temp_path {run_dir}/body;
    proxy_temp_path {run_dir}/proxy;
    fastcgi_temp_path {run_dir}/fastcgi;
    uwsgi_temp_path {run_dir}/uwsgi;
    scgi_temp_path {run_dir}/scgi;

    client_header_timeout {proxy.header_timeout}s;
    client_body_timeout {proxy.body_timeout}s;
    keepalive_timeout {proxy.idle_timeout}s;
    send_timeout {proxy.header_timeout}s;
    client_max_body_size {proxy.max_body_bytes};
    client_body_buffer_size {BODY_BUFFER};
    client_header_buffer_size 1k;
    large_client_header_buffers 4 {HEADER_BUFFER};
    reset_timedout_connection on;

    limit_conn_zone $binary_remote_addr zone=clients:1m;
    limit_conn clients {proxy.max_connections_per_client};
    limit_conn_status 429;
    limit_conn_log_level warn;

    upstream granian {{
        server unix:{proxy.upstream};
        keepalive 32;
    }}

    server {{
        listen {host}:{proxy.listen_port} reuseport backlog=4096;

        # Each of nginx's own answers as JSON in the API's shape; "=" sets the status the client gets. Internal
        # URIs, not named locations: a request line too long or broken has no URI of its own to keep.
{_error_pages(proxy)}

        location / {{
            proxy_pass http://granian;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            # Set, never appended to: a client cannot name an address of its choosing.
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_read_timeout {proxy.reply_timeout_seconds}s;
            proxy_send_timeout {proxy.reply_timeout_seconds}s;
            proxy_connect_timeout 5s;
            proxy_intercept_errors off;
        }}

{_answer_locations(proxy)}
    }}
}}
"""


def nginx_binary() -> str:
    """nginx's path; RuntimeError saying how to install it when there is none."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        raise RuntimeError(
            "nginx is not installed: it stands in front of the API against slow and idle clients "
            "(holded/proxy.py). Fix: apt-get install nginx-light, or API_PROXY=none to serve without it."
        )
    return found


def run_directory() -> Path:
    """A folder of this server's own for nginx's files and granian's socket: short, since a unix socket's
    path holds at most 107 bytes, and readable by this user only."""
    return Path(tempfile.mkdtemp(prefix="holded-api-"))


class Proxy:
    """nginx, running in front of granian, stopped with the server."""

    def __init__(self, proxy: ProxySettings, run_dir: Path) -> None:
        self.settings = proxy
        self.run_dir = run_dir
        config = self.run_dir / "nginx.conf"
        config.write_text(nginx_config(proxy, self.run_dir))
        binary = nginx_binary()
        command = [binary, "-p", str(self.run_dir), "-e", "stderr", "-c", str(config), "-g", "daemon off;"]
        checked = subprocess.run([*command[:-2], "-t", "-q"], capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration ({config}): {checked.stderr.strip()}")
        self.process = subprocess.Popen(command, preexec_fn=stop_with_parent)

    def stop(self) -> None:
        """Let nginx finish the requests it holds (SIGQUIT), then remove its files."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(self.settings.reply_timeout_seconds + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.run_dir, ignore_errors=True)
