"""Benchmark of POST /collect, against the raw ceiling of producing without HTTP.

    uv run python bench/collect.py [--duration 10] [--connections 8,32,128] [--sizes 1,10,100,mix]

Needs the services (scripts/services.sh up) and wrk (apt-get install wrk).
It serves the API exactly as the README recommends (gunicorn with
gunicorn.conf.py) on a spare loopback port, on topics and a subject of its own
(deleted afterwards), and drives it with wrk for each number of connections
and each package size. `mix` is the kit's source: each request a package of
1 to 10 events, drawn at random (wrk picks one of 100 prepared bodies). In
the same run it measures the ceiling: confluent-kafka producing the same
Avro-encoded events, acks=all and idempotent, with no HTTP and no validation.
It prints requests/s, events/s, p50/p99 latency, and the ratio to the ceiling.
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
        registry.delete_subject(subject)
        registry.delete_subject(subject, permanent=True)


def lane_environment(events_topic: str, dead_letter_topic: str) -> dict[str, str]:
    """The API's environment on those topics."""
    return {
        **os.environ,
        "KAFKA_TOPIC_EVENTS": events_topic,
        "KAFKA_TOPIC_DEAD_LETTER": dead_letter_topic,
        "LOG_LEVEL": "WARNING",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per package size")
    # 8 is as many as the server handles at once (workers x threads); 32 and 128 show how the rest queue.
    parser.add_argument("--connections", default="8,32,128", help="comma-separated: a sweep")
    parser.add_argument("--sizes", default="1,10,100,mix", help="events per package; mix: 1 to 10 at random")
    parser.add_argument("--raw-events", type=int, default=300_000, help="events for the raw ceiling")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed. Fix: apt-get install wrk")

    connections = [int(c) for c in str(args.connections).split(",")]
    sizes = args.sizes.split(",")
    results: list[tuple[int, str, float, dict[str, float]]] = []
    with collect_lane() as (events_topic, dead_letter_topic, raw_topic, schema_id):
        server, port = serve_api(lane_environment(events_topic, dead_letter_topic))
        try:
            url = f"http://127.0.0.1:{port}/collect"
            with tempfile.TemporaryDirectory() as folder:
                for size in sizes:
                    body, script, mean = write_load(Path(folder), size)
                    for count in connections:
                        run_wrk(url, body, script, count, 2)  # warm-up: every worker's producer connected
                        results.append((count, size, mean, run_wrk(url, body, script, count, args.duration)))
            produced = topic_size(events_topic)
            rejected = topic_size(dead_letter_topic)
            ceiling = raw_ceiling(raw_topic, schema_id, args.raw_events)
        finally:
            server.terminate()
            server.wait(30)

    workers = os.environ.get("API_WORKERS", os.cpu_count())
    threads = os.environ.get("API_THREADS", "4")
    print(
        f"\nPOST /collect: gunicorn gthread, {workers} workers x {threads} threads, "
        f"{args.duration}s per point, on {os.cpu_count()} cores shared with Kafka and wrk"
    )
    header = ("connections", "events/package", "requests/s", "events/s", "p50 ms", "p99 ms", "ratio", "non-2xx")
    print("{:>11} {:>15} {:>11} {:>10} {:>8} {:>8} {:>7} {:>8}".format(*header))
    for count, size, mean, result in results:
        events_per_second = result["requests_per_second"] * mean
        label = "1-10 (kit)" if size == MIX else size
        print(
            f"{count:>11} {label:>15} {result['requests_per_second']:>11.0f} {events_per_second:>10.0f} "
            f"{result['p50'] * 1000:>8.1f} {result['p99'] * 1000:>8.1f} {events_per_second / ceiling:>7.2f} "
            f"{int(result['non_2xx']):>8}"
        )
    print(f"{'raw producer':>27} {'':>11} {ceiling:>10.0f}   (confluent-kafka, Avro-encoded, acks=all, no HTTP)")
    print(f"records on the events topic: {produced}; on the dead letter topic: {rejected}")


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
