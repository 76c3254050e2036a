"""Finding the records at fault in a write a sink refused: by behaviour, not by a list of errors.

A sink that writes many records at once (a COPY of a thousand rows, an
object of ten thousand lines) may be refused because of one of them, for a
reason no list of error codes foresaw. So a refused write is split in
halves, each written on its own, again and again, until every record that
fails is alone: the others land, in a few writes (about twice the number of
such records times log2 of the batch). A record that fails alone is the
record's fault only if a write known to be good (`probe`) then succeeds;
if the probe fails too, the sink itself is in trouble, and the error is
raised to be waited out, like an error `transient` recognizes at once
(a lost connection, a server restarting). Nothing is refused by the name
of its error alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class SinkUnavailable(Exception):
    """The sink refused a write known to be good: its trouble, not a record's. To be retried."""


@dataclass
class Isolated(Generic[T, R]):
    """What a write came to: the parts written (in order, with what each write returned) and the refused
    records, each with the error of the write that held it alone."""

    written: list[tuple[Sequence[T], R]] = field(default_factory=list)
    refused: list[tuple[T, BaseException]] = field(default_factory=list)


def isolate(
    items: Sequence[T],
    write: Callable[[Sequence[T]], R],
    *,
    transient: Callable[[BaseException], bool],
    probe: Callable[[], None],
) -> Isolated[T, R]:
    """Write `items`, and if the write is refused, split it until each record at fault is alone.

    `write` must be all or nothing (a transaction, a PUT) and may be called
    again with the same records (an idempotent sink). An error that
    `transient` recognizes is raised as it is; a failed `probe` raises
    SinkUnavailable from the probe's error.
    """
    result: Isolated[T, R] = Isolated()
    parts: list[Sequence[T]] = [items] if items else []
    probed = False
    while parts:
        part = parts.pop()
        try:
            result.written.append((part, write(part)))
            continue
        except Exception as error:
            if transient(error):
                raise
            refusal = error
        if not probed or len(part) == 1:
            # Before the first split (a sink that refuses everything must not be split record by record),
            # and before refusing any record: does a write known to be good succeed now?
            _check(probe, refusal)
            probed = True
        if len(part) == 1:
            result.refused.append((part[0], refusal))
        else:
            middle = len(part) // 2
            parts += [part[middle:], part[:middle]]  # the first half next: parts are written in order
    return result


def _check(probe: Callable[[], None], refusal: BaseException) -> None:
    try:
        probe()
    except Exception as error:
        raise SinkUnavailable(
            f"a write known to be good failed too ({type(error).__name__}: {error}) after "
            f"{type(refusal).__name__}: {refusal}"
        ) from error
