"""Which PostgreSQL errors are the row's fault and which the database's (pure: errors by SQLSTATE)."""

from __future__ import annotations

import psycopg2
import pytest
from psycopg2 import errors

from streaming.transforms.write_postgres import is_row_fault


@pytest.mark.parametrize(
    "error",
    [
        errors.NumericValueOutOfRange(),  # 22003
        errors.InvalidTextRepresentation(),  # 22P02: not JSON
        errors.UntranslatableCharacter(),  # 22P05: \\u0000 in jsonb
        errors.CheckViolation(),  # 23514
        errors.NotNullViolation(),  # 23502
        ValueError("A string literal cannot contain NUL (0x00) characters."),  # refused by the driver
    ],
)
def test_data_and_integrity_errors_are_the_row_s(error: Exception) -> None:
    assert is_row_fault(error)


@pytest.mark.parametrize(
    "error",
    [
        psycopg2.OperationalError("server closed the connection unexpectedly"),  # no SQLSTATE
        psycopg2.InterfaceError("connection already closed"),
        errors.InsufficientPrivilege(),  # 42501: a grant taken away
        errors.ReadOnlySqlTransaction(),  # 25006: a replica, or default_transaction_read_only
        errors.AdminShutdown(),  # 57P01
        errors.CannotConnectNow(),  # 57P03: starting up
        errors.UndefinedTable(),  # 42P01: a migration not run
        errors.DiskFull(),  # 53100
    ],
)
def test_everything_else_is_the_database_s(error: Exception) -> None:
    assert not is_row_fault(error)
