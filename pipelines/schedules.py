"""Schedules: a weekly draft of the quarter in progress, and the close of the quarter just ended.

Both are off until someone turns them on in the UI (Automation tab).
"""

import datetime as dt

import dagster as dg

from core.quarters import Quarter
from pipelines.jobs import quarterly_close, quarterly_reconciliation


def settings_config(**values) -> dict:
    return {"resources": {"settings": {"config": values}}}


def draft_request(quarter: Quarter, as_of: dt.date, run_key: str | None = None) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key or f"draft-{quarter}-{as_of}",
        partition_key=quarter.partition_key,
        run_config=settings_config(as_of=as_of.isoformat(), close=False),
        tags={"rma/quarter": str(quarter), "rma/close": "false"},
    )


def weekly_draft_request(day: dt.date) -> dg.RunRequest:
    """Draft of the quarter `day` belongs to, as of the day before (the last complete day)."""
    quarter = Quarter.of(day)
    return draft_request(quarter, max(quarter.first_day, day - dt.timedelta(days=1)))


def close_request(day: dt.date) -> dg.RunRequest:
    """Close of the quarter that ended before `day`; its statements are dated its last day."""
    quarter = Quarter.of(Quarter.of(day).first_day - dt.timedelta(days=1))
    return dg.RunRequest(
        run_key=f"close-{quarter}",
        partition_key=quarter.partition_key,
        run_config=settings_config(as_of="", close=True),
        tags={"rma/quarter": str(quarter), "rma/close": "true"},
    )


@dg.schedule(
    job=quarterly_reconciliation,
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every Monday 06:00 UTC: DRAFT statements of the quarter in progress, as of Sunday.",
)
def weekly_draft(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return weekly_draft_request(context.scheduled_execution_time.date())


@dg.schedule(
    job=quarterly_close,
    cron_schedule="0 2 1 1,4,7,10 *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "02:00 UTC on the first day of a quarter: close the quarter that just ended (FINAL statements)."
    ),
)
def quarter_close(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return close_request(context.scheduled_execution_time.date())
