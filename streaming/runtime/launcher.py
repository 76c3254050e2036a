"""Runs the stream: options, the local runner's workarounds, clean stops.

The brief asks for the DirectRunner. In Beam 2.77 the Python DirectRunner
first tries the Prism runner, which downloads a binary from the internet (it
fails offline, or hangs where traffic is dropped), then falls back to the
FnApiRunner. `LocalDirectRunner` takes the FnApiRunner path directly, the
very runner the DirectRunner ends up with, so the job starts offline and at
once. Its metrics are kept as a generator chain that grows one link per
bundle (about 6.5 MB/s of memory on an idle job); materializing them keeps
memory flat. With LocalProcesses the local runner runs in several
processes, each over its share of the partitions (streaming/runtime/local_process.py).
With a FlinkSetup the job runs on Flink (streaming/runtime/flink.py); any other
--runner in the Beam arguments (DataflowRunner) gets the pipeline untouched.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.metrics import monitoring_infos
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineResult, PipelineRunner

from streaming.pipeline.build import build
from streaming.pipeline.config import Share, StreamConfig
from streaming.pipeline.transforms.read_kafka import partitions_of
from streaming.runtime import collection, health, lifecycle, workers
from streaming.runtime.flink import FlinkSetup, JobServer, QuietFlinkOptions, job_server_jar, pipeline_args
from streaming.runtime.host import Hosted
from streaming.runtime.lifecycle import Lifecycle
from streaming.runtime.metrics import REGISTRY
from streaming.runtime.supervisor import LOGGING_ENV, describe
from streaming.runtime.workers import RunDirectory

logger = logging.getLogger(__name__)

LOCAL_RUNNERS = ("DirectRunner", "LocalDirectRunner", None)
PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LocalProcesses:
    """The local runner in `count` processes, each over a share of the partitions, with the launcher's logging."""

    count: int
    logging: dict[str, Any]


class LocalDirectRunner(PipelineRunner):
    """The DirectRunner's FnApiRunner path, without trying Prism first."""

    def run_pipeline(self, pipeline: beam.Pipeline, options: PipelineOptions) -> PipelineResult:
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.fn_api_runner import fn_runner
        from apache_beam.runners.portability.portable_runner import JobServiceHandle

        _materialize_runner_metrics(fn_runner)
        encoded_options = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        provision_info = fn_runner.ExtendedProvisionInfo(
            beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded_options)
        )
        return fn_runner.FnApiRunner(provision_info=provision_info).run_pipeline(pipeline, options)


# Set to 1 to run without the fix, as bench/soak.py does to measure the leak.
LAZY_METRICS = "HOLDED_STREAM_LAZY_METRICS"


def _materialize_runner_metrics(fn_runner: Any) -> None:
    """Make the FnApiRunner's per-stage metrics a list, not a lazily nested generator."""
    if getattr(fn_runner, "_holded_metrics_materialized", False) or os.environ.get(LAZY_METRICS) == "1":
        return

    def consolidate(metrics: Iterable[Any], key: Any = monitoring_infos.to_key) -> list[Any]:
        return list(monitoring_infos.consolidate(metrics, key))

    fn_runner.consolidate_monitoring_infos = consolidate
    fn_runner._holded_metrics_materialized = True


def _install_stop_handlers(run: Lifecycle) -> None:
    """SIGTERM and SIGINT ask the source to stop; what was read is written and committed first."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: Any) -> None:
        run.note_signal(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# After a stop, how long the readers have to stop and commit before the job (Flink's, or the local
# runner's processes) is ended regardless.
STOP_GRACE_SECONDS = 90.0


class _StopGrace:
    """The launcher's clock for a stop: from the first time it sees one requested, STOP_GRACE_SECONDS."""

    def __init__(self, run: Lifecycle) -> None:
        self._run = run
        self._since: float | None = None

    def over(self) -> bool:
        """A stop was requested, and its readers have had their grace."""
        if not self._run.stop_requested():
            return False
        self._since = self._since or time.monotonic()
        return time.monotonic() - self._since > STOP_GRACE_SECONDS


def _wait_for_flink(
    result: PipelineResult, job_server: JobServer, config: StreamConfig, run: RunDirectory, life: Lifecycle
) -> str:
    """Wait for the Flink job; end it once every partition's reader has stopped and committed.

    On Flink the job outlives its readers: Beam's Impulse source never ends,
    so that checkpoints, and with them the commits, go on. When every reader
    has stopped (a stop, an idle timeout), nothing is left to write or
    commit, and the job is cancelled: that is the clean end, reported DONE.
    A stop whose readers do not all finish within STOP_GRACE_SECONDS
    is cancelled too, and reported CANCELLED: what they had not committed is
    read again at the next start.
    """
    partitions = set(partitions_of(config, (config.events_topic, config.dead_letter_topic)))
    ended = threading.Event()
    readers_done = threading.Event()

    def end_when_readers_stop() -> None:
        grace = _StopGrace(life)
        while not ended.wait(0.5):
            done = workers.finished(run)
            if partitions <= done:
                readers_done.set()
                logger.info("every partition's reader has stopped and committed: ending the Flink job")
                break
            if grace.over():
                left = sorted(partitions - done)
                logger.error(
                    "readers still running %.0fs after the stop: %s; ending the Flink job", STOP_GRACE_SECONDS, left
                )
                break
        else:
            return
        job_server.ending()
        try:
            result.cancel()
        except Exception as error:  # the job server may refuse; stopping it ends the job anyway
            logger.warning("Flink did not take the cancel (%s): stopping its job server", error)
        if not ended.wait(15):
            job_server.stop()

    watcher = threading.Thread(target=end_when_readers_stop, name="flink-end", daemon=True)
    watcher.start()
    try:
        state = str(result.wait_until_finish())
    except Exception:
        if not readers_done.is_set():
            raise
        state = "DONE"  # the job server was stopped after the readers finished: nothing was left undone
    finally:
        ended.set()
    if readers_done.is_set() and state.endswith("CANCELLED"):
        return "DONE"
    return state


def run(
    config: StreamConfig,
    beam_args: list[str],
    *,
    max_records: int | None = None,
    idle_seconds: float | None = None,
    metrics_address: str = "",
    flink: FlinkSetup | None = None,
    processes: LocalProcesses | None = None,
    own_process: bool = False,
) -> str:
    """Run until stopped; the final state of the pipeline (DONE after a clean stop).

    `own_process`: this process runs the stream and nothing else (run_stream, not a test), so its garbage
    collector is tuned for it (streaming/runtime/collection.py).
    """
    requested = PipelineOptions(beam_args)
    local = flink is None and requested.view_as(StandardOptions).runner in LOCAL_RUNNERS
    if local and (requested.view_as(DirectOptions).direct_num_workers or 1) != 1:
        # Measured: with several workers, Beam's local runner runs one bundle of an unbounded read and ends.
        raise ValueError(
            "the local runner reads with one worker a process; for several, run it in several processes "
            "(--processes), or on Flink (--runner flink)"
        )
    if local and processes is not None and processes.count > 1:
        if max_records is not None:
            raise ValueError("a record limit needs one process (--processes 1): each process counts its own records")
        return _run_in_processes(config, beam_args, processes, idle_seconds, metrics_address)
    separate_workers = flink is not None and flink.workers == "process"
    if separate_workers and max_records is not None:
        # Each worker process counts its own records: no one process can keep a total.
        raise ValueError("a record limit needs the workers in this process (the local runner, or Flink's loopback)")
    run_directory = RunDirectory.create(idle_seconds) if separate_workers else None
    shared = run_directory or RunDirectory()  # an empty one: the workers are this process
    life = lifecycle.begin(
        max_records=max_records,
        idle_seconds=idle_seconds,
        stop_file=run_directory.stop_file if run_directory else "",
    )
    config = replace(config, host=Hosted(shared))
    job_server: JobServer | None = None
    try:
        if run_directory is not None:
            health.serve(metrics_address, workers.registry(run_directory), lambda: workers.readiness(run_directory))
        else:
            health.serve(metrics_address, REGISTRY, lifecycle.current_readiness)
        _install_stop_handlers(life)
        if flink is not None:
            logging.getLogger("apache_beam.options.pipeline_options").addFilter(QuietFlinkOptions())
            job_server = JobServer(job_server_jar(flink.job_server_jar), flink.master, flink.job_server_heap)
            beam_args = [*pipeline_args(flink, job_server.endpoint, shared), *beam_args]
        options = PipelineOptions(beam_args, streaming=True, save_main_session=False)
        runner_name = options.view_as(StandardOptions).runner
        runner: Any = LocalDirectRunner() if runner_name in LOCAL_RUNNERS else None
        logger.info(
            "stream starting: %s -> S3 bucket %s and PostgreSQL, group %s, runner %s",
            config.events_topic,
            config.s3.bucket,
            config.group_id,
            f"Flink {flink.master}, parallelism {flink.parallelism}, {flink.workers} workers"
            if flink
            else runner_name or "DirectRunner",
        )
        pipeline = beam.Pipeline(runner=runner, options=options)
        build(pipeline, config)
        if own_process:
            collection.tune()
        result = pipeline.run()
        if job_server is None:
            state = str(result.wait_until_finish())
        else:
            state = _wait_for_flink(result, job_server, config, shared, life)
        logger.info("stream finished: %s (%s)", state, life.stop_reason() or "source ended")
        return state
    finally:
        if job_server is not None:
            job_server.stop()
        if run_directory is not None:
            shutil.rmtree(run_directory.path, ignore_errors=True)


def run_share(config: StreamConfig, beam_args: list[str]) -> str:
    """In one of the local runner's processes (streaming/runtime/local_process.py): its share, until stopped.

    The process has joined the launcher's run (config.host) before it comes here.
    """
    joined = lifecycle.current()
    assert joined is not None, "run_share runs in a process that has joined the launcher's run"
    _install_stop_handlers(joined)
    options = PipelineOptions(beam_args, streaming=True, save_main_session=False)
    pipeline = beam.Pipeline(runner=LocalDirectRunner(), options=options)
    build(pipeline, config)
    collection.tune()
    return str(pipeline.run().wait_until_finish())


def _run_in_processes(
    config: StreamConfig,
    beam_args: list[str],
    processes: LocalProcesses,
    idle_seconds: float | None,
    metrics_address: str,
) -> str:
    """The local runner in several processes; this one serves their health and metrics, and stops them.

    Process i reads the partitions whose number is i modulo the count, of
    each topic: one Python process is bound to a core by its interpreter
    lock, and each process is a whole pipeline, its sinks and commits its
    own. The processes are this one's children and die with it. A process
    that fails stops the others (each commits what its sinks wrote) and the
    run: `run_stream --supervise` then starts them all again.
    """
    run_directory = RunDirectory.create(idle_seconds)
    life = lifecycle.begin(idle_seconds=idle_seconds, stop_file=run_directory.stop_file)
    children: list[subprocess.Popen[bytes]] = []
    try:
        health.serve(metrics_address, workers.registry(run_directory), lambda: workers.readiness(run_directory))
        _install_stop_handlers(life)
        logger.info(
            "stream starting: %s -> S3 bucket %s and PostgreSQL, group %s, the local runner in %d processes",
            config.events_topic,
            config.s3.bucket,
            config.group_id,
            processes.count,
        )
        environment = {
            **os.environ,
            "PROMETHEUS_MULTIPROC_DIR": str(run_directory.metrics_dir),  # read when the process imports prometheus
            LOGGING_ENV: json.dumps(processes.logging),
        }
        for index in range(processes.count):
            share = replace(config, host=Hosted(run_directory), share=Share(index, processes.count))
            child = subprocess.Popen(
                [sys.executable, "-m", "streaming.runtime.local_process", *beam_args],
                cwd=PROJECT,
                env=environment,
                stdin=subprocess.PIPE,
            )
            assert child.stdin is not None
            child.stdin.write(pickle.dumps(share))  # the config holds secrets: a pipe, not a file
            child.stdin.close()
            children.append(child)
        state = _wait_for_processes(children, life)
        if state == "DONE":
            logger.info("stream finished: DONE (%s)", life.stop_reason() or "source ended")
        else:
            logger.error("stream finished: %s", state)  # the state names the process that failed
        return state
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        shutil.rmtree(run_directory.path, ignore_errors=True)


def _wait_for_processes(children: list[subprocess.Popen[bytes]], life: Lifecycle) -> str:
    """DONE once every process has ended cleanly; FAILED, naming it, as soon as one fails (the others stop)."""
    failure = ""
    grace = _StopGrace(life)
    while any(child.poll() is None for child in children):
        if not failure:
            failure = _first_failure(children)
            if failure:
                logger.error("%s: stopping the others", failure)
                life.request_stop(failure, everywhere=True)
        if grace.over():
            running = [child.pid for child in children if child.poll() is None]
            logger.error("processes %s still running %.0fs after the stop; ending them", running, STOP_GRACE_SECONDS)
            failure = failure or f"processes {running} did not stop"
            break
        time.sleep(0.2)
    failure = failure or _first_failure(children)
    return f"FAILED: {failure}" if failure else "DONE"


def _first_failure(children: list[subprocess.Popen[bytes]]) -> str:
    """The first process (as last polled) that ended other than cleanly, named; empty if none did."""
    for index, child in enumerate(children):
        if child.returncode not in (None, 0):
            return f"process {index} (pid {child.pid}) ended with {describe(child.returncode)}"
    return ""
