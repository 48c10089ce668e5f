"""The quarterly partitions of every partitioned asset (see `core.quarters` for the calendar)."""

import os

import dagster as dg

from core.quarters import DEFAULT_FIRST_QUARTER, PARTITION_KEY_FORMAT, Quarter, QuarterError

# The UI's partition bar starts here: the first quarter with data (the sample's), or
# $RMA_FIRST_QUARTER. The CLI moves it earlier for a run of an earlier quarter.
FIRST_QUARTER_ENV = "RMA_FIRST_QUARTER"


def first_quarter() -> Quarter:
    text = os.environ.get(FIRST_QUARTER_ENV, "").strip() or DEFAULT_FIRST_QUARTER
    try:
        return Quarter.parse(text)
    except QuarterError as error:
        raise ValueError(f"{FIRST_QUARTER_ENV}={text!r}: {error}") from None


# Dagster has no quarterly class: a cron on the 1st of every third month is the idiom.
# end_offset=1 keeps the quarter in progress selectable for draft runs.
quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    start=first_quarter().partition_key,
    cron_schedule="0 0 1 */3 *",
    fmt=PARTITION_KEY_FORMAT,
    end_offset=1,
)
