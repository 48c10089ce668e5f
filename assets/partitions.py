"""The quarterly partitions of every partitioned asset (see `core.quarters` for the calendar)."""

import dagster as dg

from core.quarters import PARTITION_KEY_FORMAT, PARTITION_START

# Dagster has no quarterly class: a cron on the 1st of every third month is the idiom.
# end_offset=1 keeps the quarter in progress selectable for draft runs.
quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    start=PARTITION_START,
    cron_schedule="0 0 1 */3 *",
    fmt=PARTITION_KEY_FORMAT,
    end_offset=1,
)
