"""`manage.py run_stream` that dies by SIGKILL after its sinks wrote a bundle, before the commit.

The fault is injected here, on the test side: the stream's source has no
hook for it. This patches the source's commit (the bundle finalizer, which
the runner calls once every sink has flushed) to kill the process instead.

    python tests/support/crash_before_commit.py [run_stream options]
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from streaming.pipeline.transforms import read_kafka

    def kill(*_args: object) -> None:
        print("crash_before_commit: the sinks wrote a bundle; SIGKILL before its commit", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    read_kafka._ReadPartition._commit = kill  # type: ignore[method-assign,assignment]
    call_command("run_stream", *sys.argv[1:])


if __name__ == "__main__":
    main()
