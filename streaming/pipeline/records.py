"""What flows between the stream's transforms."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apache_beam import pvalue

from contract.ids import package_id_text
from streaming.pipeline.retry import StoppedDuringOutage

# The tag of every transform's output of records refused for a reason in the record itself.
REJECTED = "rejected"


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp_ms: int  # the broker's LogAppendTime on events.raw: the event's publishTime

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Decoded:
    record: KafkaRecord
    correlation_id: str
    schema_id: int
    event: dict[str, Any]


@dataclass(frozen=True)
class Enriched:
    record: KafkaRecord
    event: dict[str, Any]  # data, attributes, metadata
    body: bytes  # the event as JSON: its line in the lake, and the `data` column

    @property
    def correlation_id(self) -> str:
        """The event's id, held once: in its metadata, where Enrich put the one Decode read."""
        return str(self.event["metadata"]["correlationId"])


@dataclass(frozen=True)
class Rejected:
    """A record that cannot be enriched for a reason in the record itself."""

    record: KafkaRecord
    error: str
    event: Any = None  # decoded, when it could be


def reject_faults(stage: str, record: KafkaRecord, event: Any, step: Callable[[], Any]) -> Any:
    """What `step` gives; when it raises, the record as Rejected (output "rejected"), naming the stage and error.

    Whatever a record makes a stage raise is that record's fault: one hostile
    record never stops the job. A stop asked while a service is down is not:
    StoppedDuringOutage goes on up, the bundle fails and nothing is committed.
    """
    try:
        return step()
    except StoppedDuringOutage:
        raise
    except Exception as error:
        return pvalue.TaggedOutput(REJECTED, Rejected(record, f"{stage}: {type(error).__name__}: {error}", event))


# Packages a flush's INFO line names; the rest are counted (DEBUG names every one).
PACKAGES_LOGGED = 50


def log_packages(logger: logging.Logger, sink: str, events: list[Enriched]) -> None:
    """One line per flush, naming the packages written, so that `grep <packageId>` follows a package
    from the collector's log ("package <id>: ...") to its rows and objects.

    An object may hold thousands of packages: the INFO line names the first
    PACKAGES_LOGGED and counts the others, so that the log stays readable at
    any rate; at DEBUG the line names them all.
    """
    if not events:
        return
    packages = sorted(Counter(package_id_text(event.correlation_id) for event in events).items())
    shown = packages if logger.isEnabledFor(logging.DEBUG) else packages[:PACKAGES_LOGGED]
    more = f" and {len(packages) - len(shown)} more" if len(shown) < len(packages) else ""
    logger.info(
        "%s: wrote %d events; packages %s%s",
        sink,
        len(events),
        " ".join(f"{package}={count}" for package, count in shown),
        more,
    )
