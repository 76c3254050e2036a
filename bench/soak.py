"""Soak check of the stream's memory: resident memory over time, with and without the runner fix.

    uv run python bench/soak.py [--minutes 10] [--compare-minutes 2] [--rate 50]
    uv run python bench/soak.py --runner flink [--partitions 2] [--minutes 10] [--rate 1000]

Needs the services (scripts/services.sh up). Runs `manage.py run_stream` on a
topic of its own while a producer puts `--rate` events/s on it (a light,
steady load: the job is mostly idle, where the leak of Beam 2.77's
FnApiRunner is fastest), sampling the job's RSS every second. First for
`--compare-minutes` without the fix (HOLDED_STREAM_LAZY_METRICS=1), as the
baseline, then for `--minutes` with it. Prints the first and last samples
and the slope in MB/min of each.

With `--runner flink` it runs the job on Flink's embedded cluster instead
(no baseline: the fix is the local runner's), samples the memory of the
whole process tree (launcher, job server, SDK workers), and reads Flink's
checkpoint log: how many completed, and the size of the first and the last,
which shows whether the state of the source's deferrals grows.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stream import ROOT, Lane, MemorySampler, delete_objects, lake_keys, produce_backlog

CHECKPOINT = re.compile(r"Completed checkpoint (\d+) for job \w+ \((\d+) bytes, checkpointDuration=(\d+) ms")
# Flink's checkpoint coordinator at INFO (the job server logs warnings only otherwise).
CHECKPOINT_LOG = "-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.checkpoint.CheckpointCoordinator=info"


def checkpoints(log: str) -> str:
    found = [tuple(map(int, match)) for match in CHECKPOINT.findall(log)]
    if not found:
        return "no checkpoint completed"
    durations = sorted(duration for _, _, duration in found)
    (first, first_bytes, _), (last, last_bytes, _) = found[0], found[-1]
    return (
        f"{len(found)} checkpoints completed; #{first} {first_bytes / 1024:.0f} KB, "
        f"#{last} {last_bytes / 1024:.0f} KB; duration p50 {durations[len(durations) // 2]} ms, max {durations[-1]} ms"
    )


def soak(
    minutes: float, rate: int, lazy: bool, stream_args: tuple[str, ...] = (), partitions: int = 1
) -> tuple[MemorySampler, str]:
    lane = Lane("soak", partitions)
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            produce_backlog(lane, rate)
            time.sleep(1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    environment = {
        **lane.environment(),
        "HOLDED_STREAM_LAZY_METRICS": "1" if lazy else "0",
        **({"JAVA_TOOL_OPTIONS": CHECKPOINT_LOG} if "flink" in stream_args else {}),
    }
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115  # read after the job ends
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_stream", *stream_args],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = MemorySampler(process.pid)
    sampler.start()
    try:
        time.sleep(minutes * 60)
    finally:
        sampler.running = False
        stop.set()
        process.terminate()
        process.wait(120)
        feeder.join(30)
        delete_objects(lake_keys(lane.events_topic) + lake_keys(lane.dead_letter_topic))
        lane.drop()
    log.seek(0)
    return sampler, checkpoints(log.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--compare-minutes", type=float, default=2, help="0 to skip the run without the fix")
    parser.add_argument("--rate", type=int, default=50, help="events/s fed to the job")
    parser.add_argument("--runner", choices=("direct", "flink"), default="direct")
    parser.add_argument("--partitions", type=int, default=1, help="partitions of the soak's events topic")
    args = parser.parse_args()
    if args.runner == "flink":
        sampler, flink = soak(args.minutes, args.rate, False, ("--runner", "flink"), args.partitions)
        print(f"Flink [local], {args.partitions} partition(s), {args.minutes:g} min: {sampler.summary()}")
        print(f"  {flink}", flush=True)
        return
    if args.compare_minutes:
        baseline, _ = soak(args.compare_minutes, args.rate, lazy=True, partitions=args.partitions)
        print(f"without the fix ({args.compare_minutes:g} min): {baseline.summary()}", flush=True)
    fixed, _ = soak(args.minutes, args.rate, lazy=False, partitions=args.partitions)
    print(f"with the fix ({args.minutes:g} min):    {fixed.summary()}", flush=True)


if __name__ == "__main__":
    main()
