"""Where a request to POST /collect spends its time, sampled with py-spy under load.

    uv run python bench/profile_collect.py [--sizes 1,10,100] [--seconds 8] [--connections 8]

Needs the services (scripts/services.sh up), wrk, and root (or ptrace rights)
for py-spy. For each package size it serves the API as bench/collect.py does
(python -m holded.server), drives it with wrk, and samples every worker
twice: the thread holding the GIL only (`--gil`: the Python work a request
costs, the "GIL %" column), then every thread all the time (`--idle`: where a
request's wall time goes, waiting included). Each sample is put in the
category of its innermost frame that names one, and the shares are printed
per size, with the load's requests/s.

A thread waiting for the GIL is sampled wherever it stopped, so the wall
shares of the computing categories include GIL waits; the GIL shares do not.
Work in C without the GIL (librdkafka's threads, socket syscalls) is in
neither column.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.collect import (  # noqa: E402
    WRK_SCRIPT,
    collect_lane,
    lane_environment,
    run_wrk,
    sample_event,
    serve_api,
)

# (what the path of a frame holds, its category): the innermost frame that matches decides.
WAITING = "waiting for Kafka's acknowledgements"
CATEGORIES = (
    ("Deliveries.wait (integrations/producing.py", WAITING),
    ("_serve_callbacks (integrations/producing.py", "delivery callbacks (the producer's poll thread)"),
    ("integrations/producing.py", "producing (librdkafka calls)"),
    ("contract/validation.py", "validation"),
    ("contract/normalize.py", "normalization"),
    ("contract/ids.py", "ids"),
    ("contract/wire.py", "Avro encoding"),
    ("fastavro", "Avro encoding"),
    ("contract/dead_letter.py", "record size and headers"),
    ("collector/parsers.py", "JSON parsing and limits"),
    ("json/decoder.py", "JSON parsing and limits"),
    ("prometheus_client", "metrics"),
    ("logging/", "logging"),
    ("collector/wsgi.py", "the door (request, host, headers, JSON out)"),
    ("collector/", "collector (endpoint, services)"),
    ("whitenoise", "Django (request object, host check, settings)"),
    ("rest_framework/", "Django (request object, host check, settings)"),
    ("django/", "Django (request object, host check, settings)"),
    ("granian/", "granian (the WSGI call; HTTP is parsed in Rust)"),
)
# The frames that serve a request; with the GIL, also the thread that settles Kafka's
# acknowledgements (its wall time is mostly waiting in poll, and not a request's).
REQUEST = "granian/wsgi.py"
CALLBACKS = "_serve_callbacks"


def category(stack: list[str]) -> str:
    for frame in reversed(stack):
        for mark, name in CATEGORIES:
            if mark in frame:
                return name
    return "other"


def shares(raw: Path, idle: bool) -> tuple[Counter[str], int]:
    """Samples per category, of the stacks that serve a request (py-spy's raw format)."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if REQUEST in stack or (not idle and CALLBACKS in stack):
            counts[category(stack.split(";"))] += int(samples)
    return counts, sum(counts.values())


def record(pid: int, seconds: int, output: Path, idle: bool) -> subprocess.Popen[bytes]:
    command = ["py-spy", "record", "--pid", str(pid), "--subprocesses", "--duration", str(seconds)]
    command += ["--rate", "200", "--format", "raw", "--output", str(output)]
    # --gil: only the thread holding the GIL, i.e. Python at work; --idle: every thread, waiting included.
    return subprocess.Popen([*command, "--idle" if idle else "--gil"], stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--seconds", type=int, default=8, help="seconds sampled, in each mode, per size")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    for tool, fix in (("wrk", "apt-get install wrk"), ("py-spy", "uv sync (py-spy is a dev dependency)")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed. Fix: {fix}")

    results: list[tuple[int, float, Counter[str], int, Counter[str], int]] = []
    with collect_lane() as (events_topic, dead_letter_topic, _, _), tempfile.TemporaryDirectory() as folder:
        # granian alone: py-spy follows the server's Python processes, and nginx (not Python) is not one of them.
        server, port = serve_api({**lane_environment(events_topic, dead_letter_topic), "API_PROXY": "none"})
        try:
            url = f"http://127.0.0.1:{port}/collect"
            script = Path(folder) / "post.lua"
            script.write_text(WRK_SCRIPT)
            for size in (int(s) for s in args.sizes.split(",")):
                body = Path(folder) / f"package-{size}.json"
                body.write_text(json.dumps([sample_event(i) for i in range(size)]))
                run_wrk(url, body, script, args.connections, 2)  # warm-up
                sampled: dict[bool, tuple[Counter[str], int]] = {}
                load: dict[str, float] = {}
                for idle in (False, True):
                    raw = Path(folder) / f"{size}-{idle}.txt"
                    spy = record(server.pid, args.seconds, raw, idle)
                    driver = threading.Thread(
                        target=lambda b=body, into=load: into.update(
                            run_wrk(url, b, script, args.connections, args.seconds + 1)
                        )
                    )
                    driver.start()
                    spy.wait(args.seconds + 60)
                    driver.join()
                    sampled[idle] = shares(raw, idle)
                results.append((size, load["requests_per_second"], *sampled[False], *sampled[True]))
        finally:
            server.terminate()
            server.wait(30)

    print(f"\nPOST /collect under wrk ({args.connections} connections), py-spy at 200 Hz, {args.seconds}s per mode")
    for size, requests, cpu, cpu_total, wall, wall_total in results:
        print(f"\n{size} event(s) per package, {requests:.0f} requests/s while sampled")
        print(f"  {'category':<48} {'GIL %':>6} {'wall %':>7}")
        names = sorted(set(cpu) | set(wall), key=lambda name: -(wall[name] / max(wall_total, 1)))
        for name in names:
            gil, waiting = 100 * cpu[name] / max(cpu_total, 1), 100 * wall[name] / max(wall_total, 1)
            print(f"  {name:<48} {gil:>6.1f} {waiting:>7.1f}")


if __name__ == "__main__":
    main()
