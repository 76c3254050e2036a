"""Which PostgreSQL errors are plainly the database's (retried at once) and which are looked into (pure)."""

from __future__ import annotations

import psycopg2
import pytest
from psycopg2 import errors

from streaming.pipeline.transforms.write_postgres import is_database_fault, refusal


@pytest.mark.parametrize(
    "error",
    [
        psycopg2.OperationalError("server closed the connection unexpectedly"),  # no SQLSTATE
        psycopg2.InterfaceError("connection already closed"),
        errors.InsufficientPrivilege(),  # 42501: a grant taken away
        errors.ReadOnlySqlTransaction(),  # 25006: a replica, or default_transaction_read_only
        errors.AdminShutdown(),  # 57P01
        errors.CannotConnectNow(),  # 57P03: starting up
        errors.DiskFull(),  # 53100
        errors.TooManyConnections(),  # 53300
        errors.DeadlockDetected(),  # 40P01
        errors.LockNotAvailable(),  # 55P03
    ],
)
def test_the_server_s_own_trouble_is_retried_at_once(error: Exception) -> None:
    assert is_database_fault(error)


@pytest.mark.parametrize(
    "error",
    [
        errors.NumericValueOutOfRange(),  # 22003
        errors.UntranslatableCharacter(),  # 22P05: \\u0000 in jsonb
        errors.CheckViolation(),  # 23514
        errors.ProgramLimitExceeded(),  # 54000: an index entry too large
        errors.UndefinedTable(),  # 42P01: a migration not run (the probe fails too: then it is retried)
        errors.RaiseException(),  # P0001: a trigger's own error
        ValueError("A string literal cannot contain NUL (0x00) characters."),  # refused by the driver
        KeyError("anything unforeseen"),
    ],
)
def test_anything_else_is_looked_into_row_by_row(error: Exception) -> None:
    # Not a list of the row's faults: whatever is not plainly the server's is split until the row at fault is
    # alone, and refused only if a write known to be good then succeeds (tests/streaming/test_poison.py).
    assert not is_database_fault(error)


def test_a_refusal_names_the_sqlstate_and_is_bounded() -> None:
    error = errors.ProgramLimitExceeded("index row size 6016 exceeds btree version 4 maximum 2704 " + "x" * 5000)
    error_text = refusal(error)

    assert error_text.startswith("PostgreSQL refused the row: 54000 ProgramLimitExceeded: index row size 6016")
    assert len(error_text.encode()) <= 1024
