"""Running the same pipeline on Apache Flink, through Beam's portable runner.

`manage.py run_stream --runner flink` starts Beam's Flink job server (a jar
assembled from Maven Central by scripts/flink-job-server.sh) as a child of
its own, submits the pipeline to it, and waits, as on the local runner. The
job server runs the job on Flink's embedded cluster (`[local]`, the
default) or submits it to a Flink cluster (`--flink-master host:port`).

What Flink is told, and why (docs/flink.md has the measurements):

- **Checkpoints every STREAM_FLINK_CHECKPOINT_MS, and bundles finished
  before each one** (`--finish_bundle_before_checkpointing`). Offsets are
  committed in bundle finalizers, which Flink calls only after a completed
  checkpoint; with checkpoints alone, a splittable source like ours stalled
  on this kind of machine (its process() was never called).
- **Idle sources are not shut down.** Beam's Impulse source then never
  ends, so a job whose readers have all stopped does not reach DONE by
  itself: the launcher ends it (streaming/runtime/launcher.py). Shutting the
  Impulse down instead (`--shutdown_sources_after_idle_ms`) stopped the
  checkpoints from completing (measured: none in 43 s), and with them the
  commits.
- **Parallelism**: one task slot a partition of the events topic, unless set.
- **Workers**: Python runs in SDK workers. `process` (the default) starts
  them as processes of their own (scripts/sdk-worker), one a slot, as a
  task manager does on a cluster: they use as many cores as there are
  partitions. `loopback` runs them in this process, the single-core way to
  try things out.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.processes import stop_with_parent
from streaming.runtime.supervisor import LOGGING_ENV
from streaming.runtime.workers import RunDirectory

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
JOB_SERVER_SCRIPT = ROOT / "scripts" / "flink-job-server.sh"
SDK_WORKER = ROOT / "scripts" / "sdk-worker"
WORKER_MODES = ("process", "loopback")
JOB_SERVER_START_SECONDS = 120.0


class FlinkError(RuntimeError):
    """The Flink job server could not be found, built or started."""


@dataclass(frozen=True)
class FlinkSetup:
    master: str = "[local]"
    parallelism: int = 1
    checkpoint_ms: int = 1000
    workers: str = "process"
    job_server_jar: str = ""  # empty: built (once) by scripts/flink-job-server.sh
    job_server_heap: str = "1g"  # the job server's JVM heap: with [local], Flink's whole cluster and its state
    log_level: str = "INFO"
    logging: dict[str, Any] = field(default_factory=dict)  # a logging.config dict for the workers


def job_server_jar(configured: str) -> str:
    """The job server's jar: the one configured, or the project's own, built on first use."""
    if configured:
        if not os.path.isfile(configured):
            raise FlinkError(f"STREAM_FLINK_JOB_SERVER_JAR: no such file {configured}")
        return configured
    logger.info("looking for the Flink job server (scripts/flink-job-server.sh builds it once, in about 3 minutes)")
    built = subprocess.run(
        ["bash", str(JOB_SERVER_SCRIPT), "jar"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if built.returncode != 0:
        raise FlinkError(f"scripts/flink-job-server.sh failed: {built.stderr.strip()[-2000:]}")
    return built.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class JobServer:
    """Beam's Flink job server in a child process, which dies with this one (even on SIGKILL)."""

    def __init__(self, jar: str, master: str, heap: str = "1g") -> None:
        self.port = _free_port()
        command = [
            "java",
            # Bounded: otherwise the JVM takes a quarter of the machine's memory before it collects (measured:
            # 427 MB to 739 MB in two minutes, then flat at 768 MB).
            f"-Xmx{heap}",
            "-jar",
            jar,
            "--flink-master",
            master,
            "--job-host",
            "127.0.0.1",
            "--job-port",
            str(self.port),
            "--artifact-port",
            "0",
            "--expansion-port",
            "0",
        ]
        logger.info("starting the Flink job server for %s", master)
        self._ending = False
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=stop_with_parent,
        )
        self._log = threading.Thread(target=self._relay, name="flink-job-server-log", daemon=True)
        self._log.start()
        self._wait_until_listening()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _relay(self) -> None:
        # The job server logs Flink's warnings and errors only (its simplelogger.properties).
        assert self._process.stdout is not None
        for line in self._process.stdout:
            logger.log(logging.DEBUG if self._ending else logging.WARNING, "flink: %s", line.rstrip())

    def ending(self) -> None:
        """The job is being cancelled on purpose: the errors Flink then logs (workers cut off) are expected."""
        self._ending = True

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + JOB_SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise FlinkError(f"the Flink job server exited with code {self._process.returncode} (log above)")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise FlinkError(
            f"the Flink job server did not listen on {self.endpoint} within {JOB_SERVER_START_SECONDS:.0f}s"
        )

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


JAVA_LOG_LEVELS = {"WARNING": "WARN", "CRITICAL": "ERROR"}
# Flink's options, which the job server describes to Beam's runner: unknown before it is asked.
FLINK_OPTIONS = ("checkpointing_interval", "finish_bundle_before_checkpointing")


class QuietFlinkOptions(logging.Filter):
    """Beam's options parser warns of Flink's options as "unparseable" before the job server describes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(f"Unparseable argument: --{name}") for name in FLINK_OPTIONS)


def pipeline_args(setup: FlinkSetup, job_endpoint: str, run: RunDirectory) -> list[str]:
    """Beam's options for the job server at `job_endpoint` (Flink's own options are described by it)."""
    args = [
        "--runner=PortableRunner",
        f"--job_endpoint={job_endpoint}",
        "--streaming",
        f"--parallelism={setup.parallelism}",
        f"--checkpointing_interval={setup.checkpoint_ms}",
        "--finish_bundle_before_checkpointing",
        # Beam's harness sets the workers' root level from this, after their own logging set-up. Java reads
        # the option too, and knows WARN and ERROR, not WARNING and CRITICAL; Python's logging knows both.
        f"--default_sdk_harness_log_level={JAVA_LOG_LEVELS.get(setup.log_level.upper(), setup.log_level.upper())}",
        # The workers run the installed project: nothing of this environment is staged, nor listed with pip.
        "--experiments=disable_logging_submission_environment",
    ]
    if setup.workers == "loopback":
        return [*args, "--environment_type=LOOPBACK"]
    environment = {
        "command": str(SDK_WORKER),
        "env": {
            "HOLDED_PYTHON": sys.executable,
            # Set before the worker imports prometheus_client: its values go to files the launcher adds up.
            "PROMETHEUS_MULTIPROC_DIR": str(run.metrics_dir),
            # The supervisor's restarts are counted by the launcher alone.
            "HOLDED_STREAM_RESTARTS": "0",
            # The workers' own output (a failed start, say) joins the launcher's.
            "HOLDED_WORKER_LOG": f"/proc/{os.getpid()}/fd/2",
            LOGGING_ENV: json.dumps(setup.logging),
        },
    }
    return [
        *args,
        "--environment_type=PROCESS",
        f"--environment_config={json.dumps(environment)}",
        f"--sdk_worker_parallelism={setup.parallelism}",
    ]
