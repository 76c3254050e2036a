"""manage.py run_stream: the Beam job, from events.raw to the S3 store and PostgreSQL (and the dead letters to S3)."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.clients import kafka_config
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.objects import ObjectRule
from streaming.pipeline.transforms.read_kafka import partitions_of
from streaming.runtime.flink import WORKER_MODES, FlinkError, FlinkSetup
from streaming.runtime.launcher import LocalProcesses, run
from streaming.runtime.supervisor import describe, supervise

RUNNERS = ("direct", "flink")

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the streaming job (Apache Beam: the local DirectRunner, or Apache Flink with --runner flink) "
        "until SIGTERM/SIGINT, or until --max-records or --idle-timeout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bootstrap-servers", help=f"default {settings.KAFKA_BOOTSTRAP_SERVERS}")
        parser.add_argument("--group-id", help=f"consumer group; default {settings.STREAM_GROUP_ID}")
        parser.add_argument("--topic", help=f"default {settings.KAFKA_TOPICS['events']}")
        parser.add_argument("--dead-letter-topic", help=f"default {settings.KAFKA_TOPICS['dead_letter']}")
        parser.add_argument("--poll-records", type=int, help="most records a source poll reads (a bundle)")
        parser.add_argument("--batch-size", type=int, help="rows a PostgreSQL insert carries")
        parser.add_argument("--object-records", type=int, help="most records a lake object holds")
        parser.add_argument(
            "--metrics-address",
            default=settings.STREAM_METRICS_ADDRESS,
            help=f"host:port for Prometheus metrics, empty for none; default {settings.STREAM_METRICS_ADDRESS}",
        )
        parser.add_argument("--max-records", type=int, help="stop after reading this many records")
        parser.add_argument("--idle-timeout", type=float, help="stop after this many seconds without a record")
        parser.add_argument(
            "--supervise",
            action="store_true",
            help="run the job in a child process and restart it, with backoff, whenever it exits on a failure",
        )
        parser.add_argument(
            "--runner",
            choices=RUNNERS,
            help="direct: Beam's local runner, in this process or in a process a partition (--processes); "
            "flink: Apache Flink (streaming/runtime/flink.py); "
            f"default {settings.STREAM_RUNNER}",
        )
        parser.add_argument(
            "--processes",
            help="on the local runner: processes, each reading its share of the partitions; auto for one a "
            "partition of the events topic, at most one a core; default "
            f"{settings.STREAM_PROCESSES}",
        )
        parser.add_argument(
            "--flink-master",
            help="Flink's REST endpoint host:port, or [local] for an embedded cluster; "
            f"default {settings.STREAM_FLINK_MASTER}",
        )
        parser.add_argument(
            "--parallelism", type=int, help="Flink task slots; default one a partition of the events topic"
        )
        parser.add_argument(
            "--workers",
            choices=WORKER_MODES,
            help="where Flink runs the Python code: processes of their own, or this one; "
            f"default {settings.STREAM_FLINK_WORKERS}",
        )
        parser.add_argument(
            "--beam-args",
            default="",
            help='Beam pipeline options, e.g. "--runner=FlinkRunner --flink_master=host:8081"',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["supervise"]:
            # The same command, without --supervise, as the child.
            child = [sys.executable, os.path.abspath(sys.argv[0]), *[a for a in sys.argv[1:] if a != "--supervise"]]
            code = supervise(child)
            if code != 0:
                raise CommandError(f"the stream ended with {describe(code)}")
            return
        runner = options["runner"] or settings.STREAM_RUNNER
        if runner not in RUNNERS:
            raise CommandError(f"STREAM_RUNNER must be one of {', '.join(RUNNERS)}, not {runner!r}")
        flink = runner == "flink"
        kafka = None
        if options["bootstrap_servers"]:
            kafka = replace(kafka_config(), bootstrap_servers=options["bootstrap_servers"])
        config = StreamConfig.from_settings(
            settings,
            kafka=kafka,
            group_id=options["group_id"],
            events_topic=options["topic"],
            dead_letter_topic=options["dead_letter_topic"],
            max_records_per_poll=options["poll_records"] or (settings.STREAM_FLINK_RECORDS_PER_POLL if flink else None),
            postgres_batch_size=options["batch_size"],
            objects=ObjectRule(
                options["object_records"], settings.STREAM_OBJECT_WINDOW_SECONDS, settings.STREAM_OBJECT_MAX_BYTES
            )
            if options["object_records"]
            else None,
        )
        setup = self._flink_setup(config, options) if flink else None
        processes = None if flink else self._processes(config, options["processes"] or settings.STREAM_PROCESSES)
        try:
            state = run(
                config,
                shlex.split(options["beam_args"]),
                max_records=options["max_records"],
                idle_seconds=options["idle_timeout"],
                metrics_address=options["metrics_address"],
                flink=setup,
                processes=processes,
                own_process=True,
            )
        except (FlinkError, ValueError) as error:
            raise CommandError(str(error)) from error
        if state != "PipelineState.DONE" and state != "DONE":
            raise CommandError(f"the stream ended in state {state}")

    @staticmethod
    def _processes(config: StreamConfig, asked: str) -> LocalProcesses:
        """How many processes the local runner runs in: never more than the events topic has partitions,
        for a process without one would have nothing to do."""
        count = 0
        if asked != "auto":
            with contextlib.suppress(ValueError):
                count = int(asked)
            if count < 1:
                raise CommandError(f"STREAM_PROCESSES (--processes) must be auto or at least 1, not {asked!r}")
        partitions = len(partitions_of(config, (config.events_topic,)))
        if not count:
            count = min(partitions, os.cpu_count() or 1)
        elif count > partitions:
            logger.warning(
                "%s processes asked, but %s has %s partitions: running %s",
                count,
                config.events_topic,
                partitions,
                partitions,
            )
            count = partitions
        return LocalProcesses(max(count, 1), settings.LOGGING)

    @staticmethod
    def _flink_setup(config: StreamConfig, options: dict[str, Any]) -> FlinkSetup:
        workers = options["workers"] or settings.STREAM_FLINK_WORKERS
        if workers not in WORKER_MODES:
            raise CommandError(f"STREAM_FLINK_WORKERS must be one of {', '.join(WORKER_MODES)}, not {workers!r}")
        parallelism = options["parallelism"] or len(partitions_of(config, (config.events_topic,)))
        if parallelism < 1:
            raise CommandError(f"--parallelism must be at least 1, not {parallelism}")
        return FlinkSetup(
            master=options["flink_master"] or settings.STREAM_FLINK_MASTER,
            parallelism=parallelism,
            checkpoint_ms=settings.STREAM_FLINK_CHECKPOINT_MS,
            workers=workers,
            job_server_jar=settings.STREAM_FLINK_JOB_SERVER_JAR,
            job_server_heap=settings.STREAM_FLINK_JOB_SERVER_HEAP,
            log_level=settings.LOG_LEVEL,
            logging=settings.LOGGING,
        )
