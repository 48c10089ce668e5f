"""Sensors that e-mail ops (through the statements' delivery settings; the outbox by default): a run
that failed (a failed blocking check fails its run), and a closed quarter nobody has released."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import duckdb

from assets.delivery.alerts import ALERTS_FOLDER, run_failed_alert, waiting_release_alert
from assets.delivery.defs import StatementDelivery
from assets.resources import DEFAULT_WAREHOUSE, RunSettings
from core.quarters import Quarter
from pipelines.jobs import quarterly_close, quarterly_reconciliation, quarterly_release

RELEASE_REMINDER_HOURS = 24
ALERT_INTERVAL = 10  # seconds between two looks for failed runs


def _ui_url() -> str:
    return os.environ.get("RMA_UI_URL", f"http://127.0.0.1:{os.environ.get('RMA_UI_PORT', '3000')}")


def _send(message, name: str) -> str:
    transport = StatementDelivery().transport(RunSettings().statements_path)
    return transport.send(message, ALERTS_FOLDER, name)


def _why(context: dg.RunFailureSensorContext) -> str:
    """The failed steps' own words (a check's one line, a refused close), else the run's."""
    reasons = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        words = data.user_failure_data.description if data.user_failure_data else None
        reasons.append(
            f"{event.step_key}: {words or (data.error.message.strip() if data.error else 'failed')}"
        )
    return "; ".join(reasons) or context.failure_event.message or "see the run in the UI"


@dg.run_failure_sensor(
    name="run_failure_alert",
    monitored_jobs=[quarterly_reconciliation, quarterly_close, quarterly_release],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL,
    description="E-mails ops once per failed run (a failed blocking check fails its run).",
)
def run_failure_alert(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    partition = run.tags.get("dagster/partition")
    quarter = str(Quarter.from_partition_key(partition)) if partition else None
    message = run_failed_alert(run.job_name, quarter, run.run_id, _why(context), _ui_url())
    context.log.info(_send(message, f"run-failed-{run.run_id}"))


@dg.sensor(
    name="release_reminder",
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"E-mails ops once per quarter closed more than {RELEASE_REMINDER_HOURS} hours ago and "
    "not released (nothing has gone to the distributors).",
)
def release_reminder(context: dg.SensorEvaluationContext):
    warehouse = Path(os.environ.get("RMA_WAREHOUSE", DEFAULT_WAREHOUSE))
    if not warehouse.exists():
        return dg.SkipReason(f"no warehouse at {warehouse} yet")
    hours = float(os.environ.get("RMA_RELEASE_REMINDER_HOURS", RELEASE_REMINDER_HOURS))
    cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=hours)
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            waiting = con.execute(
                """SELECT quarter, closed_by, closed_at FROM quarter_runs
                WHERE state = 'closed' AND released_at IS NULL AND closed_at <= ? ORDER BY quarter""",
                [cutoff],
            ).fetchall()
    except duckdb.Error as error:  # a run holds the warehouse, or it predates the release
        return dg.SkipReason(f"cannot read the warehouse now: {str(error).splitlines()[0]}")
    reminded = set(json.loads(context.cursor or "[]"))
    for quarter, closed_by, closed_at in waiting:
        if quarter not in reminded:
            context.log.info(
                _send(waiting_release_alert(quarter, closed_by, closed_at, _ui_url()), f"waiting-{quarter}")
            )
            reminded.add(quarter)
    context.update_cursor(json.dumps(sorted(reminded)))
    return dg.SkipReason(f"{len(waiting)} closed quarter(s) wait for their release") if waiting else None
