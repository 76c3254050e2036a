"""An SDK worker of the stream in a process of its own: Beam's PROCESS environment, without a container.

On Flink, each task manager starts the workers that run the pipeline's
Python code. Beam's containers do it with a boot program; without a
container, Flink runs a command instead (`--environment_type=PROCESS`), with
the worker's id and the provision endpoint as arguments, and that command
is scripts/sdk-worker, which runs this module in the project's environment.

It does what the container's boot program does for a worker whose code is
installed already: asks the runner's provision service for the pipeline's
options, then starts Beam's SDK harness on the control endpoint. Nothing is
staged or installed at run time: the project, installed on every task
manager host, is the code.
"""

from __future__ import annotations

import argparse
import json
import logging.config
import os
import sys
import tempfile

import grpc
from apache_beam.portability.api import beam_provision_api_pb2, beam_provision_api_pb2_grpc, endpoints_pb2
from apache_beam.runners.worker import sdk_worker_main
from google.protobuf import json_format, text_format

from integrations.processes import stop_with_parent
from streaming.runtime import collection
from streaming.runtime.supervisor import LOGGING_ENV


def _descriptor(url: str) -> str:
    return str(text_format.MessageToString(endpoints_pb2.ApiServiceDescriptor(url=url)))


def worker_environment(arguments: list[str]) -> dict[str, str]:
    """What Beam's harness reads from its environment, from the runner's arguments and provision service."""
    parser = argparse.ArgumentParser(prog="sdk-worker")
    parser.add_argument("--id", required=True)
    parser.add_argument("--provision_endpoint", required=True)
    # Flink passes only the two above; the others are in the provision info, and win over these.
    parser.add_argument("--control_endpoint", default="")
    parser.add_argument("--semi_persist_dir", default="")
    args, _ = parser.parse_known_args(arguments)
    with grpc.insecure_channel(args.provision_endpoint) as channel:
        provision = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
        info = provision.GetProvisionInfo(
            beam_provision_api_pb2.GetProvisionInfoRequest(), metadata=[("worker_id", args.id)], timeout=60
        ).info
    # No LOGGING_API_SERVICE_DESCRIPTOR: the worker logs to its own output (the launcher's, see
    # scripts/sdk-worker), not through the runner, which would log each line again under a file name.
    environment = {
        "WORKER_ID": args.id,
        "PIPELINE_OPTIONS": json.dumps(json_format.MessageToDict(info.pipeline_options)),
        "CONTROL_API_SERVICE_DESCRIPTOR": _descriptor(info.control_endpoint.url or args.control_endpoint),
        "RUNNER_CAPABILITIES": " ".join(info.runner_capabilities),
        "SEMI_PERSISTENT_DIRECTORY": args.semi_persist_dir or tempfile.mkdtemp(prefix="beam-worker-"),
    }
    if info.status_endpoint.url:
        environment["STATUS_API_SERVICE_DESCRIPTOR"] = _descriptor(info.status_endpoint.url)
    return environment


def main() -> None:
    stop_with_parent()  # a worker outlives no task manager, even one killed with SIGKILL
    if os.environ.get(LOGGING_ENV):
        # The launcher's logging (Django's LOGGING setting): the same lines, the same quiet libraries.
        logging.config.dictConfig(json.loads(os.environ[LOGGING_ENV]))
    # The options carry Flink's too, which Beam's Python parser warns it does not know, in every worker.
    logging.getLogger("apache_beam.options.pipeline_options").setLevel(logging.ERROR)
    os.environ.update(worker_environment(sys.argv[1:]))
    collection.tune()
    sdk_worker_main.main(sys.argv)


if __name__ == "__main__":
    main()
