"""Chaos: the running platform loaded from outside while its parts are killed or paused at random; then proof.

    scripts/platform.sh up
    uv run python bench/chaos.py [--minutes 30] [--rate 1000] [--seed 7] [--every 30]

Needs the platform up (scripts/platform.sh up: the services, the API on
API_PORT, the stream under its supervisor). For `--minutes` it posts
generated events (the kit's packages of 1 to 10, a tenth invalid) to
POST /collect at `--rate` events/s, as a source would: an event Kafka did not
confirm (a 503), or whose answer never came (the API killed), is sent again,
with the same message id. Meanwhile, about every `--every` seconds, one part
of the platform is killed with SIGKILL or paused (SIGSTOP, then SIGCONT a few
seconds later), each part in turn in a shuffled order: the stream's job, its
supervisor, the API's main process, one of its workers, Kafka, the Schema
Registry, the S3 store and PostgreSQL. What was killed is started again the
way an operator would (the stream's job by its supervisor, an API worker by
granian, the rest by scripts/services.sh up and scripts/platform.sh up).

Then the load stops, everything is healed, and once the stream has caught
up it proves, reading Kafka, PostgreSQL and the lake only
(accounting/reconcile.py): every event taken in is in exactly one place;
every event answered `accepted` is enriched (a row and one line of the lake)
or, sent again after a lost answer, a resend of one that is; every event
answered `rejected` is a dead letter of the collector, in the topic and the
lake, once. It prints every fault, what the load saw, and the figures, and
exits 1 if any check fails. tests/accounting/test_chaos.py runs it for two
minutes in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402

from accounting.reconcile import reconcile  # noqa: E402
from generator.events import generate  # noqa: E402

RUN = Path(os.environ.get("HOLDED_STATE_DIR", str(ROOT / ".run")))
API = f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"
STREAM = f"http://{os.environ.get('STREAM_METRICS_ADDRESS', '127.0.0.1:9464')}"
PAUSE_SECONDS = (3.0, 10.0)
HEAL_AFTER_SECONDS = (2.0, 8.0)
CATCH_UP_SECONDS = 600.0
JSON = {"Content-Type": "application/json"}


# --- The parts, and how an operator brings each back --------------------------------------------------------


def pid_in(path: Path) -> list[int]:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [pid] if Path(f"/proc/{pid}").exists() else []


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def script(*args: str) -> Callable[[], None]:
    """Run scripts/<args>, again after a moment if it fails (a killed PostgreSQL holds its memory briefly)."""

    def run() -> None:
        for _ in range(5):
            done = subprocess.run(["bash", str(ROOT / "scripts" / args[0]), *args[1:]], cwd=ROOT, capture_output=True)
            if done.returncode == 0:
                return
            time.sleep(3)
        raise RuntimeError(f"scripts/{' '.join(args)} failed five times: {done.stderr.decode()[-500:]}")

    return run


def nothing() -> None:
    """Healed by the platform itself (the supervisor restarts the job, granian a worker)."""


@dataclass(frozen=True)
class Part:
    name: str
    pids: Callable[[], list[int]]
    heal: Callable[[], None]


def stream_job() -> list[int]:
    return [pid for supervisor in pid_in(RUN / "stream" / "stream.pid") for pid in children(supervisor)][:1]


def api_worker() -> list[int]:
    workers = [pid for main in pid_in(RUN / "api" / "api.pid") for pid in children(main)]
    return [pid for pid in workers if "holded.server" in command_of(pid)][:1]  # not nginx


def service(name: str) -> Part:
    return Part(name, lambda: pid_in(RUN / name / f"{name}.pid"), script("services.sh", "up"))


PARTS = [
    Part("the stream's job", stream_job, nothing),
    Part("the stream's supervisor", lambda: pid_in(RUN / "stream" / "stream.pid"), script("platform.sh", "up")),
    Part("the API's main process", lambda: pid_in(RUN / "api" / "api.pid"), script("platform.sh", "up")),
    Part("an API worker", api_worker, nothing),
    *(service(name) for name in ("kafka", "registry", "s3", "postgres")),
]


@dataclass
class Fault:
    at: float
    part: str
    action: str
    pids: list[int]
    back_after: float | None = None  # seconds until the platform answered again
    note: str = ""


def inject(part: Part, action: str, rng: random.Random, started: float) -> Fault:
    pids = part.pids()
    fault = Fault(time.monotonic() - started, part.name, action, pids)
    if not pids:
        fault.note = "not running: nothing done"
        return fault
    if action == "kill":
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        time.sleep(rng.uniform(*HEAL_AFTER_SECONDS))
        part.heal()
    else:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(rng.uniform(*PAUSE_SECONDS))
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    fault.back_after = wait_until_ready(started + fault.at)
    return fault


def ready() -> bool:
    try:
        return (
            requests.get(f"{API}/health/ready", timeout=2).status_code == 200
            and requests.get(f"{STREAM}/health/ready", timeout=2).status_code == 200
        )
    except requests.RequestException:
        return False


def wait_until_ready(since: float, timeout: float = 180.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return time.monotonic() - since
        time.sleep(0.5)
    return None


# --- The load: a source that sends again what was not confirmed ---------------------------------------------


@dataclass
class Outcomes:
    accepted: set[str] = field(default_factory=set)  # correlationIds answered accepted
    rejected: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)  # HTTP status (or the error) of each post
    sent_again: int = 0
    events: int = 0  # distinct events of the source
    lock: threading.Lock = field(default_factory=threading.Lock)


def post_until_answered(
    session: requests.Session, package: list[Any], outcomes: Outcomes, too_late: Callable[[], bool]
) -> None:
    """Post the package; what comes back unconfirmed, or without an answer, again (the same events)."""
    pending, wait = package, 0.5
    while True:
        try:
            response = session.post(f"{API}/collect", data=json.dumps(pending), headers=JSON, timeout=30)
            status, body = str(response.status_code), response.json()
        except (requests.RequestException, ValueError) as error:
            status, body = type(error).__name__, {}
        with outcomes.lock:
            outcomes.answers[status] += 1
            if "events" in body:  # 200, or the collector's 503: each event's outcome
                outcomes.accepted.update(e["correlationId"] for e in body["events"] if e["status"] == "accepted")
                outcomes.rejected.update(e["correlationId"] for e in body["events"] if e["status"] == "rejected")
                pending = [pending[e["index"]] for e in body["events"] if e["status"] == "unconfirmed"]
            if not pending:
                return
            outcomes.sent_again += len(pending)  # no answer (the API down), or unconfirmed: the same events again
        if too_late():
            raise RuntimeError(f"{len(pending)} events could not be sent in time")
        time.sleep(wait)
        wait = min(wait * 2, 5.0)


def load(rate: float, seed: int, outcomes: Outcomes, stop: threading.Event) -> None:
    """Post packages at `rate` events/s until `stop`, then wait for every package to be answered."""
    rng = random.Random(seed)
    events = generate(10**9, invalid_share=0.1, seed=seed)
    local = threading.local()
    started = time.monotonic()
    stopped: list[float] = []
    slots = threading.BoundedSemaphore(64)

    def too_late() -> bool:
        return bool(stopped) and time.monotonic() > stopped[0] + CATCH_UP_SECONDS

    def post(package: list[Any]) -> None:
        try:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            post_until_answered(local.session, package, outcomes, too_late)
        finally:
            slots.release()

    with ThreadPoolExecutor(32) as pool:
        while not stop.is_set():
            package = [next(events) for _ in range(rng.randint(1, 10))]
            outcomes.events += len(package)
            delay = started + outcomes.events / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            slots.acquire()
            pool.submit(post, package)
        stopped.append(time.monotonic())


# --- The proof -----------------------------------------------------------------------------------------------


def prove(outcomes: Outcomes, since: datetime) -> tuple[bool, list[str], Any]:
    """Reconcile until the stream has caught up (or the time is out); the checks and the report."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        report = reconcile(start=since, end=datetime.now(UTC))
        places = report.places
        missing = [cid for cid in outcomes.accepted | outcomes.rejected if cid not in places]
        if (report.exact and not missing) or time.monotonic() > deadline:
            break
        time.sleep(5)
    problems = []
    if not report.exact:
        problems += [f"reconcile: {kind}: {len(ids)} events (first {ids[0]})" for kind, ids in report.problems.items()]
    for cid in outcomes.accepted:
        place = places.get(cid, "nowhere")
        if not place.startswith(("enriched", "resent by the source")):
            problems.append(f"accepted {cid} is {place}")
    for cid in outcomes.rejected:
        place = places.get(cid, "nowhere")
        if not place.startswith("dead letter (collect"):
            problems.append(f"rejected {cid} is {place}")
    return not problems, problems, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s posted to /collect")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--every", type=float, default=30.0, help="mean seconds between two faults")
    args = parser.parse_args()
    if not ready():
        raise SystemExit(f"the platform is not ready ({API}, {STREAM}). Fix: scripts/platform.sh up")

    rng = random.Random(args.seed)
    seconds = args.minutes * 60
    since = datetime.now(UTC) - timedelta(seconds=1)
    print(f"chaos: {args.minutes:g} min at {args.rate:g} events/s, a fault every ~{args.every:g}s, seed {args.seed}")
    outcomes, stop = Outcomes(), threading.Event()
    loader = threading.Thread(target=load, args=(args.rate, args.seed, outcomes, stop), daemon=True)
    started = time.monotonic()
    loader.start()
    faults: list[Fault] = []
    order: list[Part] = []
    time.sleep(min(10.0, seconds / 6))
    # For `--minutes`, and at least until every part was hit once.
    while (time.monotonic() - started < seconds - 10 or order) and loader.is_alive():
        if not order:
            order = rng.sample(PARTS, len(PARTS))
        part, action = order.pop(), rng.choice(["kill", "kill", "pause"])
        fault = inject(part, action, rng, started)
        faults.append(fault)
        back = "not ready within 180 s" if fault.back_after is None else f"ready again after {fault.back_after:.1f}s"
        print(f"  {fault.at:7.1f}s  {action:5} {part.name} {fault.pids}: {fault.note or back}", flush=True)
        time.sleep(max(0.0, rng.uniform(0.5, 1.5) * args.every - (time.monotonic() - started - fault.at)))
    stop.set()
    loader.join()
    sent_for = time.monotonic() - started
    for part in PARTS:  # everything back, as an operator would after an incident
        if not part.pids() and part.heal is not nothing:
            part.heal()
    caught_up_from = time.monotonic()
    exact, problems, report = prove(outcomes, since)
    print(
        f"\n{outcomes.events} events sent in {sent_for:.0f}s ({outcomes.events / sent_for:.0f} events/s): "
        f"{len(outcomes.accepted)} answered accepted, {len(outcomes.rejected)} rejected; "
        f"{outcomes.sent_again} sent again after a 503 or a lost answer"
    )
    print(f"answers: {dict(sorted(outcomes.answers.items()))}")
    print(f"faults: {len(faults)} ({dict(Counter(f'{f.action} {f.part}' for f in faults))})")
    print(
        f"reconcile ({time.monotonic() - caught_up_from:.0f}s after the load): {report.events} events taken in, "
        f"{report.enriched} enriched, {report.resent} resent, dead letters {dict(report.dead_letters)}, "
        f"{sum(len(ids) for ids in report.problems.values())} problems"
    )
    for problem in problems[:20]:
        print(f"  PROBLEM: {problem}")
    print("every event is in exactly one place" if exact else f"FAILED: {len(problems)} problems")
    sys.exit(0 if exact else 1)


if __name__ == "__main__":
    main()
