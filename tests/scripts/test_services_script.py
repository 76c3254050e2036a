"""scripts/services.sh: what it says when it cannot start, and its status."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lanes import ROOT
from tests.support.scripts import run_script


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_busy_port_is_named_with_its_fix(tmp_path: Path, busy_port: int) -> None:
    result = run_script(
        "services.sh",
        "check",
        env={"HOLDED_STATE_DIR": str(tmp_path / "state"), "POSTGRES_PORT": str(busy_port)},
    )

    assert result.returncode == 1
    assert f"port {busy_port} (for postgres) is already in use" in result.stderr
    assert "POSTGRES_PORT=" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_tool_is_named_with_its_fix(tmp_path: Path) -> None:
    # A PATH with every usual command except java.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for entry in Path(folder).iterdir():
            if entry.name != "java" and not (bin_dir / entry.name).exists():
                (bin_dir / entry.name).symlink_to(entry)
    result = run_script(
        "services.sh",
        "check",
        env={"PATH": str(bin_dir), "HOLDED_STATE_DIR": str(tmp_path / "state"), "HOLDED_CACHE_DIR": str(tmp_path)},
    )

    assert result.returncode == 1
    assert "'java' is not installed" in result.stderr
    assert "apt-get install openjdk-17-jre-headless" in result.stderr


def test_a_new_kafka_cluster_id_never_reads_as_an_option() -> None:
    # One plain draw in 64 starts with '-', and kafka-storage then fails with
    # "--cluster-id: expected one argument". A thousand draws would hold one
    # such id but for the redraw (the odds of none are 1 in 6 million).
    draws = 1000
    script = f"source scripts/lib/kafka-cluster-id.sh; for _ in $(seq {draws}); do new_kafka_cluster_id; done"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    ids = result.stdout.split()
    assert len(ids) == draws
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cluster_id) for cluster_id in ids)
    assert len(set(ids)) == draws


@pytest.mark.integration
def test_status_reports_every_service_ready(services_up: None) -> None:
    result = run_script("services.sh", "status")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["postgres", "kafka", "registry", "s3"]
    assert all("ready (pid" in line for line in lines)
