"""The Beam job (manage.py run_stream): its consumer group, objects, batch sizes and retries."""

from __future__ import annotations

from holded.settings import env
from holded.settings.base import PRODUCTION

STREAM_GROUP_ID = env.string("STREAM_GROUP_ID", "holded-stream")
# The stream writes with a role of its own, allowed only what it needs
# (streaming/table/migrations/0002_stream_role.py).
STREAM_POSTGRES_USER = env.string("STREAM_POSTGRES_USER", "holded_stream")
STREAM_POSTGRES_PASSWORD = env.secret("STREAM_POSTGRES_PASSWORD", "holded_stream", production=PRODUCTION)
STREAM_ENRICHED_SUBJECT = env.string("STREAM_ENRICHED_SUBJECT", "events.enriched-value")
# Most records a poll of the source reads: a bundle. A bundle's end waits for both sinks, so
# fewer, larger bundles leave less of their writes unoverlapped (decision 23).
STREAM_MAX_RECORDS_PER_POLL = env.integer("STREAM_MAX_RECORDS_PER_POLL", 20_000)
STREAM_POSTGRES_BATCH_SIZE = env.integer("STREAM_POSTGRES_BATCH_SIZE", 1000)
# The lake's objects (streaming/pipeline/objects.py): one ends after this many records, before a
# record of a later window of this many seconds (a divisor of an hour), or before a record
# that would take its records' keys and values past this many bytes (an object is held in
# memory whole, and S3 takes at most 5 GiB in one PUT).
STREAM_OBJECT_MAX_RECORDS = env.integer("STREAM_OBJECT_MAX_RECORDS", 10_000)
STREAM_OBJECT_WINDOW_SECONDS = env.integer("STREAM_OBJECT_WINDOW_SECONDS", 1)
STREAM_OBJECT_MAX_BYTES = env.integer("STREAM_OBJECT_MAX_BYTES", 64 * 1024 * 1024)
# Write the lake's objects gzipped (.jsonl.gz).
STREAM_LAKE_GZIP = env.boolean("STREAM_LAKE_GZIP", False)
# The runner run_stream uses unless told: direct (Beam's local runner) or flink.
STREAM_RUNNER = env.string("STREAM_RUNNER", "direct")
# On the local runner: how many processes run the pipeline, each reading its share of the
# partitions (auto: one a partition of the events topic, at most one a core).
STREAM_PROCESSES = env.string("STREAM_PROCESSES", "auto")
# On Flink (run_stream --runner flink, streaming/runtime/flink.py): the cluster (host:port of its
# REST endpoint, or [local] for an embedded one), the checkpoint interval (offsets are
# committed after each checkpoint), where the SDK workers run (process or loopback), the
# job server's jar (empty: built by scripts/flink-job-server.sh) and the records a source
# call reads (a partition is read once a checkpoint, so this bounds its rate).
STREAM_FLINK_MASTER = env.string("STREAM_FLINK_MASTER", "[local]")
STREAM_FLINK_CHECKPOINT_MS = env.integer("STREAM_FLINK_CHECKPOINT_MS", 1000)
STREAM_FLINK_WORKERS = env.string("STREAM_FLINK_WORKERS", "process")
STREAM_FLINK_JOB_SERVER_JAR = env.string("STREAM_FLINK_JOB_SERVER_JAR", "")
# The job server's JVM heap (-Xmx): on [local] it holds Flink's whole cluster and the job's state.
STREAM_FLINK_JOB_SERVER_HEAP = env.string("STREAM_FLINK_JOB_SERVER_HEAP", "1g")
STREAM_FLINK_RECORDS_PER_POLL = env.integer("STREAM_FLINK_RECORDS_PER_POLL", 10_000)
# Where the job serves its Prometheus metrics (host:port); empty for nowhere.
STREAM_METRICS_ADDRESS = env.string("STREAM_METRICS_ADDRESS", "127.0.0.1:9464")
# While a service is down the stream waits and tries again: first after this
# many seconds, then twice as long each time, up to the maximum.
STREAM_RETRY_FIRST_SECONDS = env.number("STREAM_RETRY_FIRST_SECONDS", 0.5)
STREAM_RETRY_MAX_SECONDS = env.number("STREAM_RETRY_MAX_SECONDS", 15.0)
