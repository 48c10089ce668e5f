"""Calendar quarters as finance writes them (`2026-Q3`) and as Dagster keys them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DEFAULT_FIRST_QUARTER = "2026-Q1"  # the sample data's first quarter; $RMA_FIRST_QUARTER moves it
PARTITION_KEY_FORMAT = "%Y-%m-%d"

_QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")


class QuarterError(ValueError):
    """A quarter or as-of date a user typed that cannot be used."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER_PATTERN.match(text.strip())
        if not match:
            raise QuarterError(f"unknown quarter {text!r}: write it like 2026-Q3")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def from_partition_key(cls, key: str) -> Quarter:
        return cls.of(dt.datetime.strptime(key, PARTITION_KEY_FORMAT).date())

    @property
    def partition_key(self) -> str:
        return self.first_day.strftime(PARTITION_KEY_FORMAT)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


def resolve_as_of(quarter: Quarter, as_of: str | None) -> dt.date:
    """The as-of date of a run: the quarter's last day unless a day inside the quarter is given."""
    if not as_of:
        return quarter.last_day
    try:
        day = dt.date.fromisoformat(as_of.strip())
    except ValueError:
        raise QuarterError(f"as-of date {as_of!r} is not a date like 2026-08-31") from None
    if not quarter.first_day <= day <= quarter.last_day:
        raise QuarterError(
            f"as-of date {day} is outside {quarter} ({quarter.first_day} to {quarter.last_day})"
        )
    return day


def cutoff_of(as_of: dt.date) -> dt.datetime:
    """The last instant (UTC, microsecond resolution) of the as-of day."""
    return dt.datetime.combine(as_of, dt.time.max)
