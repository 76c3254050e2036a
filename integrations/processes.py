"""A child process's lifetime bound to its parent's: none is left running when the process that started it dies.

The API's server starts nginx and granian's workers; the stream's supervisor
and launcher start the job and its processes. Killed with SIGKILL, a parent
cannot stop its children, so each child asks the kernel to send it SIGTERM
when its parent dies (prctl PR_SET_PDEATHSIG, Linux; elsewhere nothing is
done and a child may outlive its parent).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

PR_SET_PDEATHSIG = 1


def stop_with_parent() -> None:
    """From now on, SIGTERM when this process's parent dies (call it in the child: before exec, or at start)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the child outlives a killed parent


def stop_with(parent_pid: int) -> None:
    """In a process `parent_pid` started: SIGTERM when it dies, or now if it is already gone."""
    stop_with_parent()
    if os.getppid() != parent_pid:  # it died before the line above: no signal will come
        os.kill(os.getpid(), signal.SIGTERM)
