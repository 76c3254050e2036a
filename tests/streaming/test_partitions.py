"""Month arithmetic of the partitions (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from streaming.table.partitions import add_months, month_start, months_around, partition_name


def test_month_start_is_in_utc() -> None:
    # 23:30 on 31 March at -02:00 is already April in UTC.
    moment = datetime(2024, 3, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert month_start(moment) == date(2024, 4, 1)
    assert month_start(datetime(2024, 4, 1, tzinfo=UTC)) == date(2024, 4, 1)


def test_months_cross_years() -> None:
    assert add_months(date(2024, 11, 1), 3) == date(2025, 2, 1)
    assert add_months(date(2024, 1, 1), -1) == date(2023, 12, 1)
    assert months_around(date(2024, 12, 15), 1, 1) == [date(2024, 11, 1), date(2024, 12, 1), date(2025, 1, 1)]


def test_partition_names() -> None:
    assert partition_name(date(2024, 3, 1)) == "events_y2024m03"
