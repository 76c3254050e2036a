"""Soak check of the stream's memory: resident memory over time, with and without the runner fix.

    uv run python bench/soak.py [--minutes 10] [--compare-minutes 2] [--rate 50]

Needs the services (scripts/services.sh up). Runs `manage.py run_stream` on a
topic of its own while a producer puts `--rate` events/s on it (a light,
steady load: the job is mostly idle, where the leak of Beam 2.77's
FnApiRunner is fastest), sampling the job's RSS every second. First for
`--compare-minutes` without the fix (HOLDED_STREAM_LAZY_METRICS=1), as the
baseline, then for `--minutes` with it. Prints the first and last samples
and the slope in MB/min of each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stream import ROOT, Lane, MemorySampler, delete_objects, lake_keys, produce_backlog


def soak(minutes: float, rate: int, lazy: bool) -> MemorySampler:
    lane = Lane("soak")
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            produce_backlog(lane, rate)
            time.sleep(1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    environment = {**lane.environment(), "HOLDED_STREAM_LAZY_METRICS": "1" if lazy else "0"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_stream"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
    return sampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--compare-minutes", type=float, default=2, help="0 to skip the run without the fix")
    parser.add_argument("--rate", type=int, default=50, help="events/s fed to the job")
    args = parser.parse_args()
    if args.compare_minutes:
        baseline = soak(args.compare_minutes, args.rate, lazy=True)
        print(f"without the fix ({args.compare_minutes:g} min): {baseline.summary()}", flush=True)
    fixed = soak(args.minutes, args.rate, lazy=False)
    print(f"with the fix ({args.minutes:g} min):    {fixed.summary()}", flush=True)


if __name__ == "__main__":
    main()
