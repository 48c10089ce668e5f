import datetime as dt

import pytest

from assets.partitions import quarterly_partitions
from core.quarters import Quarter, QuarterError, cutoff_of, resolve_as_of


def test_parse_and_days():
    quarter = Quarter.parse("2026-Q3")
    assert (quarter.first_day, quarter.last_day, str(quarter)) == (
        dt.date(2026, 7, 1),
        dt.date(2026, 9, 30),
        "2026-Q3",
    )
    assert Quarter.parse("2026-Q4").next() == Quarter(2027, 1)


@pytest.mark.parametrize("text", ["2026Q3", "2026-Q5", "Q3-2026", ""])
def test_bad_quarters(text):
    with pytest.raises(QuarterError):
        Quarter.parse(text)


def test_partition_keys_round_trip():
    quarter = Quarter.parse("2026-Q3")
    assert quarter.partition_key == "2026-07-01"
    assert Quarter.from_partition_key(quarter.partition_key) == quarter
    assert quarterly_partitions.get_partition_keys()[0] == "2026-01-01"  # the sample's first quarter


def test_the_first_quarter_comes_from_the_setting(monkeypatch):
    from assets.partitions import first_quarter

    monkeypatch.setenv("RMA_FIRST_QUARTER", "2024-Q3")
    assert first_quarter() == Quarter(2024, 3)
    monkeypatch.setenv("RMA_FIRST_QUARTER", "2024-07")
    with pytest.raises(ValueError, match="RMA_FIRST_QUARTER='2024-07'"):
        first_quarter()


def test_as_of_must_be_inside_the_quarter():
    quarter = Quarter.parse("2026-Q3")
    assert resolve_as_of(quarter, None) == dt.date(2026, 9, 30)
    assert resolve_as_of(quarter, "2026-08-31") == dt.date(2026, 8, 31)
    with pytest.raises(QuarterError, match="outside"):
        resolve_as_of(quarter, "2026-10-01")
    with pytest.raises(QuarterError, match="not a date"):
        resolve_as_of(quarter, "31/08/2026")


def test_cutoff_is_the_last_instant_of_the_day():
    assert cutoff_of(dt.date(2026, 6, 30)) == dt.datetime(2026, 6, 30, 23, 59, 59, 999999)
