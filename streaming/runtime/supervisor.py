"""Never silently dead: `run_stream --supervise` runs the job in a child process and restarts it.

The job exits when something it cannot ride out happens (an error escaping
the runner, the process killed, memory exhausted). The supervisor starts it
again, after 1 s, then twice as long after each exit up to a minute; a run
that lasted five minutes resets the wait. Each restart is logged and counted:
the child is told how many came before it and reports them as
`holded_stream_restarts_total`. SIGTERM and SIGINT are passed to the child,
which writes and commits what it read, and the supervisor exits with it. A
job that ends by itself (exit 0: a record limit or an idle timeout) is not
restarted. Should the supervisor itself be killed, the child gets SIGTERM
(Linux's parent-death signal), so no job is left running unsupervised.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from integrations.processes import stop_with_parent

logger = logging.getLogger(__name__)

# How many times the supervisor restarted the job before this run (read by streaming/runtime/metrics.py).
RESTARTS_ENV = "HOLDED_STREAM_RESTARTS"
# The launcher's logging config (JSON) for the processes it starts: Flink's SDK workers, the local runner's processes.
LOGGING_ENV = "HOLDED_WORKER_LOGGING"


@dataclass(frozen=True)
class Backoff:
    first_delay: float = 1.0
    max_delay: float = 60.0
    healthy_after: float = 300.0  # a run this long resets the wait


def describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"


def supervise(command: list[str], backoff: Backoff = Backoff()) -> int:
    """Run `command` until it ends by itself or is asked to stop; its last exit code."""
    # The signals that asked for a stop. A handler runs in the main thread between two bytecodes, maybe while
    # that thread holds a lock (a threading.Event's, during its wait), so it takes none: it notes the signal in
    # a list (append is atomic) and passes it on; the loop below reads the list.
    stops: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: Any) -> None:
        stops.append(signum)
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    restarts = 0
    delay = backoff.first_delay
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command, env={**os.environ, RESTARTS_ENV: str(restarts)}, preexec_fn=stop_with_parent)
        logger.info("supervisor: stream started (pid %s, restarts so far %s)", child.pid, restarts)
        code = child.wait()
        ran = time.monotonic() - started
        if stops or code == 0:
            logger.info("supervisor: stream ended with %s after %.0fs", describe(code), ran)
            return code
        if ran >= backoff.healthy_after:
            delay = backoff.first_delay
        restarts += 1
        logger.error(
            "supervisor: stream exited with %s after %.0fs; restarting in %.0fs (restart %s)",
            describe(code),
            ran,
            delay,
            restarts,
        )
        if _stopped_within(delay, stops):
            return code
        delay = min(delay * 2, backoff.max_delay)


def _stopped_within(seconds: float, stops: list[int]) -> bool:
    """Wait up to `seconds`, in short sleeps so that a stop is seen within 0.1 s; whether one came."""
    deadline = time.monotonic() + seconds
    while not stops:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.1))
    return True
