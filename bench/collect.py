"""Benchmark of POST /collect, against the raw ceiling of producing without HTTP, and against the peer.

    uv run python bench/collect.py [--duration 10] [--connections 8,32,128] [--sizes 1,10,100,mix] [--no-peer]

Needs the services (scripts/services.sh up) and wrk (apt-get install wrk).
It serves the API exactly as the README recommends (python -m holded.server,
granian) on a spare loopback port, on topics and a subject of its own
(deleted afterwards), and drives it with wrk for each number of connections
and each package size. `mix` is the kit's source: each request a package of
1 to 10 events, drawn at random (wrk picks one of 100 prepared bodies). In
the same run it measures the ceiling: confluent-kafka producing the same
Avro-encoded events, acks=all and idempotent, with no HTTP and no validation.
When the Benthos peer is built ($PEER_HOME/bin/benthos, by ../shared/peer/build.sh)
its collector (../shared/peer/collector.yaml) takes the same loads on topics of
its own, each point right after ours. It prints requests/s, events/s, p50/p99
latency, the ratio to the ceiling, and the peer's figures beside ours.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

import django  # noqa: E402

django.setup()

import fastavro  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from confluent_kafka.schema_registry import Schema  # noqa: E402
from django.conf import settings  # noqa: E402

from contract import wire  # noqa: E402
from contract.normalize import normalize_event  # noqa: E402
from contract.registry import remove_subject  # noqa: E402
from integrations.clients import registry_client  # noqa: E402

RAW_SCHEMA = (ROOT / "schemas" / "events.raw-value.avsc").read_text()
# The kit's mix: one body per line of BENCH_BODY, a random one per request.
WRK_MIX_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
bodies = {}
for line in io.lines(os.getenv("BENCH_BODY")) do bodies[#bodies + 1] = line end
request = function()
  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])
end
"""
MIX = "mix"

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = file:read("*a")
file:close()
"""


def sample_event(index: int) -> dict[str, Any]:
    return {
        "data": {"id": f"inv-{index}", "amount": 100.25 + index},
        "attributes": {
            "type": "invoice.created",
            "targetSubscription": "accounting",
            "X-Message-Stamp-Holded\\Shared\\Infrastructure\\Messenger\\Stamp\\NewContextStamp": {
                "accountId": "5b0e6d3c-9f1a-4c55-8d5e-0a7f3f1b2c44",
                "userId": "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
                "requestPlatform": "web",
            },
            "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\TimestampStamp": "2024-03-05T10:12:35+00:00",
            "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\MessageIdStamp": str(uuid.uuid4()),
            "X-Message-Stamp-Holded\\Shared\\Infrastructure\\Messenger\\Stamp\\AmplitudeTrackStamp": {
                "id": 42,
                "trackedDevice": "ios",
            },
        },
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_api(environment: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """The API as the README recommends (python -m holded.server) on a spare port, once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "holded.server"],
        cwd=ROOT,
        env={**environment, "API_PORT": str(port), "API_ACCESS_LOG": "", "API_BIND": ""},
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    return server, port


def topic_size(topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "group.id": "bench-sizes"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(high - low)
    finally:
        consumer.close()


def seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(url: str, body_file: Path, script: Path, connections: int, duration: int) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        env={**os.environ, "BENCH_BODY": str(body_file)},
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    requests_per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = seconds(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = seconds(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "requests_per_second": requests_per_second,
        "p50": p50,
        "p99": p99,
        "non_2xx": float(failed.group(1)) if failed else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def raw_ceiling(topic: str, schema_id: int, count: int) -> float:
    """Events/s of encoding and producing the same events, acks=all, idempotent, no HTTP."""
    parsed = fastavro.parse_schema(json.loads(RAW_SCHEMA))
    events = [normalize_event(sample_event(i)) for i in range(100)]
    producer = Producer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": settings.KAFKA_LINGER_MS,
            "compression.type": settings.KAFKA_COMPRESSION_TYPE,
        }
    )
    started = time.perf_counter()
    for index in range(count):
        key = str(uuid.uuid4()).encode()
        value = wire.encode(schema_id, parsed, events[index % 100])
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=[("correlationId", key)])
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    left = producer.flush(60)
    elapsed = time.perf_counter() - started
    if left:
        raise RuntimeError(f"{left} records not delivered")
    return count / elapsed


@contextmanager
def collect_lane() -> Iterator[tuple[str, str, str, int]]:
    """Topics (events, dead letter, raw ceiling) and a subject of this run's own, deleted afterwards."""
    run_id = uuid.uuid4().hex[:8]
    events_topic, dead_letter_topic, raw_topic = (f"bench.{name}-{run_id}" for name in ("events", "dlq", "raw"))
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    for future in admin.create_topics(
        [NewTopic(t, 1, 1) for t in (events_topic, dead_letter_topic, raw_topic)]
    ).values():
        future.result(timeout=30)
    subject = f"{events_topic}-value"
    registry = registry_client()
    schema_id = registry.register_schema(subject, Schema(RAW_SCHEMA, "AVRO"))
    try:
        yield events_topic, dead_letter_topic, raw_topic, schema_id
    finally:
        for future in admin.delete_topics([events_topic, dead_letter_topic, raw_topic]).values():
            future.result(timeout=30)
        remove_subject(registry, subject)


def lane_environment(events_topic: str, dead_letter_topic: str) -> dict[str, str]:
    """The API's environment on those topics."""
    return {
        **os.environ,
        "KAFKA_TOPIC_EVENTS": events_topic,
        "KAFKA_TOPIC_DEAD_LETTER": dead_letter_topic,
        "LOG_LEVEL": "WARNING",
    }


PEER_DIR = ROOT.parent / "shared" / "peer"
PEER_HOME = Path(os.environ.get("PEER_HOME", str(Path.home() / ".cache" / "holded-peer")))
PEER_BENTHOS = Path(os.environ.get("PEER_BENTHOS", str(PEER_HOME / "bin" / "benthos")))


def peer_present(config: str = "collector.yaml") -> bool:
    """The Benthos peer's binary is built (../shared/peer/build.sh) and its `config` is beside us."""
    return PEER_BENTHOS.exists() and (PEER_DIR / config).exists()


def peer_environment(extra: dict[str, str]) -> dict[str, str]:
    """This project's settings under the names the peer's configs read, and `extra` (topics, ports)."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.KAFKA_BOOTSTRAP_SERVERS,
        "KAFKA_COMPRESSION_TYPE": settings.KAFKA_COMPRESSION_TYPE,
        "SCHEMA_REGISTRY_URL": settings.SCHEMA_REGISTRY_URL,
        "S3_ENDPOINT_URL": settings.S3_ENDPOINT_URL,
        "S3_BUCKET": settings.S3_BUCKET,
        "S3_REGION": settings.S3_REGION,
        "S3_ACCESS_KEY_ID": settings.S3_ACCESS_KEY_ID,
        "S3_SECRET_ACCESS_KEY": settings.S3_SECRET_ACCESS_KEY,
        "COLLECT_MAX_EVENTS": str(settings.COLLECT_MAX_EVENTS),
        "COLLECT_MAX_BODY_BYTES": str(settings.COLLECT_MAX_BODY_BYTES),
        "POSTGRES_HOST": str(settings.DATABASES["default"]["HOST"]),
        "POSTGRES_PORT": str(settings.DATABASES["default"]["PORT"]),
        "STREAM_POSTGRES_USER": settings.STREAM_POSTGRES_USER,
        "STREAM_POSTGRES_PASSWORD": settings.STREAM_POSTGRES_PASSWORD,
        "PEER_DELIVERY_TIMEOUT": f"{settings.KAFKA_DELIVERY_TIMEOUT_SECONDS}s",
        "PEER_LOG_LEVEL": "WARN",
        **extra,
    }


def start_peer(config: str, extra: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The peer with one of its configs (collector.yaml, stream-lake.yaml), once its /ready answers;
    (the process, the port of its /collect)."""
    port, http_port = free_port(), free_port()
    environment = peer_environment(
        {
            **extra,
            "PEER_COLLECTOR_ADDRESS": f"127.0.0.1:{port}",
            "PEER_COLLECTOR_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
            "PEER_STREAM_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
        }
    )
    with log.open("ab") as output:
        peer = subprocess.Popen(
            [str(PEER_BENTHOS), "-c", str(PEER_DIR / config)], env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    for _ in range(300):
        if peer.poll() is not None:
            raise RuntimeError(f"the peer exited with {peer.returncode} (log: {log})")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ready", timeout=1)
            return peer, port
        except OSError:
            time.sleep(0.2)
    peer.kill()
    raise RuntimeError(f"the peer was not ready after 60 s (log: {log})")


def serve_peer(events_topic: str, dead_letter_topic: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The peer's collector (collector.yaml) on topics of its own, with this project's settings, once ready."""
    return start_peer(
        "collector.yaml", {"KAFKA_TOPIC_EVENTS": events_topic, "KAFKA_TOPIC_DEAD_LETTER": dead_letter_topic}, log
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


Point = tuple[int, str, float, dict[str, dict[str, float]]]  # connections, size, mean events, side -> figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per point and side")
    # 8 is as many requests as the server takes at once on 2 cores; 32 and 128 show how the rest queue.
    parser.add_argument("--connections", default="8,32,128", help="comma-separated: a sweep")
    parser.add_argument("--sizes", default="1,10,100,mix", help="events per package; mix: 1 to 10 at random")
    parser.add_argument("--raw-events", type=int, default=300_000, help="events for the raw ceiling")
    parser.add_argument("--no-peer", action="store_true", help="leave the Benthos peer out even if it is built")
    parser.add_argument(
        "--without-proxy",
        action="store_true",
        help="also serve ours with API_PROXY=none (granian alone, no nginx in front): what the proxy costs",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed. Fix: apt-get install wrk")
    with_peer = peer_present() and not args.no_peer
    if not with_peer and not args.no_peer:
        print(f"no Benthos peer at {PEER_BENTHOS}: ours only (build it with ../shared/peer/build.sh)")

    connections = [int(c) for c in str(args.connections).split(",")]
    sizes = args.sizes.split(",")
    results: list[Point] = []
    with (
        collect_lane() as (events_topic, dead_letter_topic, raw_topic, schema_id),
        collect_lane() as (peer_events, peer_dead_letters, _, _),
        collect_lane() as (direct_events, direct_dead_letters, _, _),
        tempfile.TemporaryDirectory() as folder,
    ):
        server, port = serve_api(lane_environment(events_topic, dead_letter_topic))
        peer = serve_peer(peer_events, peer_dead_letters, Path(folder) / "peer.log") if with_peer else None
        direct = None
        if args.without_proxy:
            direct = serve_api({**lane_environment(direct_events, direct_dead_letters), "API_PROXY": "none"})
        try:
            urls = {"ours": f"http://127.0.0.1:{port}/collect"}
            if direct is not None:
                urls["direct"] = f"http://127.0.0.1:{direct[1]}/collect"
            if peer is not None:
                urls["peer"] = f"http://127.0.0.1:{peer[1]}/collect"
            for size in sizes:
                body, script, mean = write_load(Path(folder), size)
                for count in connections:
                    measured: dict[str, dict[str, float]] = {}
                    for side, url in urls.items():  # each point: each side in turn, one after the other
                        run_wrk(url, body, script, count, 2)  # warm-up: every worker's producer connected
                        measured[side] = run_wrk(url, body, script, count, args.duration)
                    results.append((count, size, mean, measured))
            produced = topic_size(events_topic)
            rejected = topic_size(dead_letter_topic)
            ceiling = raw_ceiling(raw_topic, schema_id, args.raw_events)
        finally:
            stop(server)
            if direct is not None:
                stop(direct[0])
            if peer is not None:
                stop(peer[0])

    print(
        f"\nPOST /collect: python -m holded.server (nginx in front of granian, "
        f"{os.environ.get('API_WORKERS') or os.cpu_count()} workers x {os.environ.get('API_THREADS', '8')} threads), "
        f"{args.duration}s per point and side, on {os.cpu_count()} cores shared with Kafka and wrk"
        + ("; direct: granian alone (API_PROXY=none)" if args.without_proxy else "")
        + ("; peer: Benthos v4.27.0, ../shared/peer/collector.yaml" if with_peer else "")
    )
    header = ["connections", "events/package", "requests/s", "events/s", "p50 ms", "p99 ms", "of raw", "non-2xx"]
    if args.without_proxy:
        header += ["direct ev/s", "direct p99", "ours/direct"]
    if with_peer:
        header += ["peer ev/s", "peer p50", "peer p99", "ours/peer"]
    print(" ".join(f"{name:>{max(len(name), 8)}}" for name in header))
    for count, size, mean, measured in results:
        ours, direct_side, theirs = measured["ours"], measured.get("direct"), measured.get("peer")
        rate = ours["requests_per_second"] * mean
        row = [
            count,
            "1-10 (kit)" if size == MIX else size,
            f"{ours['requests_per_second']:.0f}",
            f"{rate:.0f}",
            f"{ours['p50'] * 1000:.1f}",
            f"{ours['p99'] * 1000:.1f}",
            f"{rate / ceiling:.2f}",
            int(ours["non_2xx"]),
        ]
        if direct_side is not None:
            direct_rate = direct_side["requests_per_second"] * mean
            row += [f"{direct_rate:.0f}", f"{direct_side['p99'] * 1000:.1f}"]
            row += [f"{rate / direct_rate:.2f}" if direct_rate else "-"]
        if theirs is not None:
            peer_rate = theirs["requests_per_second"] * mean
            row += [f"{peer_rate:.0f}", f"{theirs['p50'] * 1000:.1f}", f"{theirs['p99'] * 1000:.1f}"]
            row += [f"{rate / peer_rate:.2f}" if peer_rate else "-"]
        print(" ".join(f"{value!s:>{max(len(name), 8)}}" for name, value in zip(header, row, strict=True)))
    print(f"raw producer: {ceiling:.0f} events/s (confluent-kafka, Avro-encoded, acks=all, no HTTP)")
    print(f"ours: records on the events topic: {produced}; on the dead letter topic: {rejected}")


def write_load(folder: Path, size: str) -> tuple[Path, Path, float]:
    """The body file and wrk script for one package size (or the kit's mix), and its mean events per request."""
    body, script = folder / f"package-{size}.json", folder / f"post-{size}.lua"
    if size == MIX:
        rng = random.Random(7)
        packages = [[sample_event(i) for i in range(rng.randint(1, 10))] for _ in range(100)]
        body.write_text("".join(json.dumps(package) + "\n" for package in packages))
        script.write_text(WRK_MIX_SCRIPT)
        # wrk draws the bodies uniformly: the mean of the prepared ones.
        return body, script, sum(len(package) for package in packages) / len(packages)
    body.write_text(json.dumps([sample_event(i) for i in range(int(size))]))
    script.write_text(WRK_SCRIPT)
    return body, script, float(size)


if __name__ == "__main__":
    main()
