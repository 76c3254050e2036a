"""One process of the local runner in several (run_stream --processes): a whole pipeline over a share of the
partitions.

The launcher (streaming/runtime/launcher.py) starts one such process per share, with
the pipeline's configuration on standard input, and serves their health and
metrics from the run directory they share with it (streaming/runtime/workers.py),
as for Flink's SDK workers. Each process is a child of the launcher: it
stops when the launcher dies, even of SIGKILL, and stops its sources
cleanly (what its sinks wrote is committed) on SIGTERM or the run's stop file.
"""

from __future__ import annotations

import json
import logging.config
import os
import pickle
import sys

from integrations.processes import stop_with_parent
from streaming.runtime.supervisor import LOGGING_ENV


def main() -> None:
    stop_with_parent()
    if os.environ.get(LOGGING_ENV):
        logging.config.dictConfig(json.loads(os.environ[LOGGING_ENV]))
    # Imported only now: Beam takes seconds to import, and this process must already die with the launcher.
    from streaming.pipeline.config import StreamConfig
    from streaming.runtime.launcher import run_share

    config = pickle.load(sys.stdin.buffer)
    if not isinstance(config, StreamConfig):
        raise SystemExit(f"expected a StreamConfig on standard input, got {type(config).__name__}")
    config.host()  # join the launcher's run: this process's stop, readiness and metrics, shared with it
    state = run_share(config, sys.argv[1:])
    logging.getLogger(__name__).info("the process reading %s finished: %s", config.share, state)
    sys.exit(0 if state.endswith("DONE") else 1)


if __name__ == "__main__":
    main()
