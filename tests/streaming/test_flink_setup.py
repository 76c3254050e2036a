"""What run_stream tells Flink, how a worker boots, and the splits the source accepts (no Flink needed)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.portability.api import beam_provision_api_pb2, beam_provision_api_pb2_grpc, endpoints_pb2
from django.core.management import CommandError, call_command
from google.protobuf import struct_pb2, text_format
from hypothesis import given
from hypothesis import strategies as st

from streaming.pipeline.transforms.read_kafka import END_OF_TIME, CheckpointOnlyTracker
from streaming.runtime.flink import SDK_WORKER, FlinkSetup, pipeline_args
from streaming.runtime.sdk_worker import worker_environment
from streaming.runtime.workers import RunDirectory


def options(args: list[str]) -> dict[str, str]:
    parsed = {}
    for arg in args:
        name, _, value = arg.removeprefix("--").partition("=")
        parsed[name] = value
    return parsed


def test_flink_commits_after_checkpoints_and_runs_a_worker_process_a_slot() -> None:
    run = RunDirectory("/tmp/run-x")
    args = options(pipeline_args(FlinkSetup(parallelism=3, checkpoint_ms=500, log_level="WARNING"), "h:1", run))

    assert args["runner"] == "PortableRunner"
    assert args["job_endpoint"] == "h:1"
    assert args["checkpointing_interval"] == "500"
    assert "finish_bundle_before_checkpointing" in args  # without it no checkpoint completes, no commit happens
    assert args["parallelism"] == args["sdk_worker_parallelism"] == "3"
    assert args["environment_type"] == "PROCESS"
    assert args["default_sdk_harness_log_level"] == "WARN"  # Java's name, which Python's logging knows too
    environment = json.loads(args["environment_config"])
    assert environment["command"] == str(SDK_WORKER)
    assert os.access(SDK_WORKER, os.X_OK)
    assert environment["env"]["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/run-x/metrics"
    assert environment["env"]["HOLDED_STREAM_RESTARTS"] == "0"


def test_loopback_runs_the_workers_in_this_process() -> None:
    args = options(pipeline_args(FlinkSetup(workers="loopback"), "h:1", RunDirectory()))
    assert args["environment_type"] == "LOOPBACK"
    assert "environment_config" not in args


class Provision(beam_provision_api_pb2_grpc.ProvisionServiceServicer):
    """The runner's side of a worker's boot: what Flink's task manager answers."""

    def __init__(self) -> None:
        self.asked_by: list[str] = []

    def GetProvisionInfo(self, request: object, context: grpc.ServicerContext) -> object:
        self.asked_by.append(dict(context.invocation_metadata())["worker_id"])
        pipeline_options = struct_pb2.Struct()
        pipeline_options.update({"beam:option:streaming:v1": True})
        info = beam_provision_api_pb2.ProvisionInfo(
            pipeline_options=pipeline_options,
            control_endpoint=endpoints_pb2.ApiServiceDescriptor(url="localhost:7001"),
            logging_endpoint=endpoints_pb2.ApiServiceDescriptor(url="localhost:7002"),
            runner_capabilities=["beam:protocol:control_response_elements_embedding:v1"],
        )
        return beam_provision_api_pb2.GetProvisionInfoResponse(info=info)


@pytest.fixture
def provision() -> Iterator[tuple[Provision, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = Provision()
    beam_provision_api_pb2_grpc.add_ProvisionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(None)


def test_a_worker_boots_from_the_runners_provision_service(provision: tuple[Provision, int]) -> None:
    servicer, port = provision
    environment = worker_environment(["--id=1-2", f"--provision_endpoint=127.0.0.1:{port}"])

    assert servicer.asked_by == ["1-2"]
    assert environment["WORKER_ID"] == "1-2"
    control = endpoints_pb2.ApiServiceDescriptor()
    text_format.Merge(environment["CONTROL_API_SERVICE_DESCRIPTOR"], control)
    assert control.url == "localhost:7001"
    assert json.loads(environment["PIPELINE_OPTIONS"]) == {"beam:option:streaming:v1": True}
    assert environment["RUNNER_CAPABILITIES"] == "beam:protocol:control_response_elements_embedding:v1"
    # Its lines go to its own output, not back through the runner (which would log each again).
    assert "LOGGING_API_SERVICE_DESCRIPTOR" not in environment


@given(
    start=st.integers(0, 2**40),
    claimed=st.integers(0, 10_000),
    fraction=st.floats(min_value=0, max_value=1, exclude_min=True),
)
def test_the_source_refuses_every_split_but_a_checkpoint(start: int, claimed: int, fraction: float) -> None:
    tracker = CheckpointOnlyTracker(OffsetRange(start, END_OF_TIME))
    assert tracker.try_claim(start + claimed)

    assert tracker.try_split(fraction) is None  # a share of what remains: refused
    assert tracker.current_restriction() == OffsetRange(start, END_OF_TIME)

    split = tracker.try_split(0)  # a checkpoint: where reading has reached
    assert split is not None
    primary, residual = split
    assert primary == OffsetRange(start, start + claimed + 1)
    assert residual == OffsetRange(start + claimed + 1, END_OF_TIME)


def test_a_record_limit_is_refused_when_workers_are_processes_of_their_own() -> None:
    with pytest.raises(CommandError, match="a record limit needs the workers in this process"):
        call_command("run_stream", "--runner", "flink", "--parallelism", "1", "--max-records", "5")


def test_the_local_runner_refuses_several_workers() -> None:
    with pytest.raises(CommandError, match="the local runner reads with one worker"):
        call_command("run_stream", "--beam-args=--direct_num_workers=2", "--metrics-address", "")
