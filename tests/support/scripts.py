"""Running the project's scripts as a user does."""

from __future__ import annotations

import os
import subprocess

from tests.support.lanes import ROOT


def run_script(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one of scripts/*.sh, capturing what it prints."""
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )
