"""scripts/create-topics.sh against the real Kafka: fresh run, second run, malformed file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from tests.support.lanes import unique_name
from tests.support.scripts import run_script

pytestmark = pytest.mark.integration


@pytest.fixture
def names(kafka_admin: AdminClient) -> Iterator[tuple[str, str]]:
    pair = (unique_name("topics.raw"), unique_name("topics.dlq"))
    yield pair
    existing = set(kafka_admin.list_topics(timeout=10).topics)
    doomed = [name for name in pair if name in existing]
    if doomed:
        for future in kafka_admin.delete_topics(doomed).values():
            future.result(timeout=30)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main-topics"
    path.write_text(text)
    return path


def test_a_fresh_run_creates_the_topics_with_their_configs(
    tmp_path: Path, names: tuple[str, str], kafka_admin: AdminClient
) -> None:
    raw, dlq = names
    file = write(tmp_path, f"# comment\n\n{raw},2,1,message.timestamp.type=LogAppendTime\n{dlq},1,1\n")

    result = run_script("create-topics.sh", str(file))

    assert result.returncode == 0, result.stderr
    assert f"{raw}: created" in result.stdout
    assert f"{dlq}: created" in result.stdout
    metadata = kafka_admin.list_topics(timeout=10)
    assert len(metadata.topics[raw].partitions) == 2
    assert len(metadata.topics[dlq].partitions) == 1
    resource = ConfigResource(ConfigResource.Type.TOPIC, raw)
    configs = kafka_admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["message.timestamp.type"].value == "LogAppendTime"


def test_a_second_run_changes_nothing_and_says_so(tmp_path: Path, names: tuple[str, str]) -> None:
    raw, dlq = names
    file = write(tmp_path, f"{raw},1,1,message.timestamp.type=LogAppendTime\n{dlq},1,1\n")
    assert run_script("create-topics.sh", str(file)).returncode == 0

    second = run_script("create-topics.sh", str(file))

    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [f"{raw}: exists, unchanged", f"{dlq}: exists, unchanged"]


def test_a_topic_that_differs_is_reported_and_left_alone(
    tmp_path: Path, names: tuple[str, str], kafka_admin: AdminClient
) -> None:
    raw, _ = names
    assert run_script("create-topics.sh", str(write(tmp_path, f"{raw},1,1\n"))).returncode == 0

    result = run_script("create-topics.sh", str(write(tmp_path, f"{raw},3,1,retention.ms=60000\n")))

    assert result.returncode == 1
    assert "partitions 1, declared 3" in result.stdout
    assert "config retention.ms=60000 is not set" in result.stdout
    assert len(kafka_admin.list_topics(timeout=10).topics[raw].partitions) == 1


def test_a_malformed_file_names_each_bad_line_and_creates_nothing(
    tmp_path: Path, names: tuple[str, str], kafka_admin: AdminClient
) -> None:
    raw, dlq = names
    file = write(
        tmp_path,
        "\n".join(
            [
                f"{raw},1,1",  # valid, but must not be created
                "bad name,1,1",
                f"{dlq},0,1",
                "only,1",
                f"{dlq}x,1,1,not-a-config",
                f"{raw},1,1",
            ]
        ),
    )

    result = run_script("create-topics.sh", str(file))

    assert result.returncode == 1
    assert f"{file}:2: 'bad name' is not a valid topic name" in result.stderr
    assert f"{file}:3: partitions must be a positive integer, got '0'" in result.stderr
    assert f"{file}:4: expected name,partitions,replicas" in result.stderr
    assert f"{file}:5: topic config must be key=value, got 'not-a-config'" in result.stderr
    assert f"{file}:6: topic '{raw}' is declared twice" in result.stderr
    assert "nothing was created" in result.stderr
    assert raw not in kafka_admin.list_topics(timeout=10).topics


def test_the_project_topics_file_declares_the_kits_topics() -> None:
    root = Path(__file__).resolve().parents[2]
    lines = [
        line
        for line in (root / "topics" / "main-topics").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == [
        "events.raw,1,1,message.timestamp.type=LogAppendTime,max.message.bytes=2097152",
        "events.dead.letter,1,1,message.timestamp.type=LogAppendTime,max.message.bytes=2097152",
    ]


def test_the_partitioned_topics_file_differs_only_in_the_partitions_of_events_raw() -> None:
    topics = Path(__file__).resolve().parents[2] / "topics"

    def declared(name: str) -> list[list[str]]:
        lines = (topics / name).read_text().splitlines()
        return [line.split(",") for line in lines if line.strip() and not line.startswith("#")]

    main, partitioned = declared("main-topics"), declared("partitioned-topics")
    assert [line[0] for line in partitioned] == [line[0] for line in main]
    assert partitioned[0][1] == "4"
    assert [line[:1] + line[2:] for line in partitioned] == [line[:1] + line[2:] for line in main]
    assert partitioned[1] == main[1]
