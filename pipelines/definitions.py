"""The one assembly of the Dagster definitions: the UI's code location (`defs`) and the CLI's run."""

from __future__ import annotations

import dagster as dg

from assets.delivery.defs import quarter_release, statement_delivery
from assets.ingest.defs import INGEST_ASSETS
from assets.reconcile.defs import reconcile
from assets.statements.defs import credit_statements, finance_summary
from checks.defs import ASSET_CHECKS
from pipelines.alerts import release_reminder, run_failure_alert
from pipelines.jobs import quarterly_close, quarterly_reconciliation, quarterly_release
from pipelines.resources import build_resources
from pipelines.schedules import quarter_close, weekly_draft
from pipelines.sensors import inbound_files

ALL_ASSETS = [
    *INGEST_ASSETS,
    reconcile,
    credit_statements,
    finance_summary,
    quarter_release,
    statement_delivery,
]


def build_definitions(resources: dict[str, object], loggers: dict | None = None) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor, with the resources (and loggers) of the caller."""
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[quarterly_reconciliation, quarterly_close, quarterly_release],
        schedules=[weekly_draft, quarter_close],
        sensors=[inbound_files, run_failure_alert, release_reminder],
        resources=resources,
        loggers=loggers,
        # DuckDB has one writer per file: steps run one after another in one process.
        executor=dg.in_process_executor,
    )


defs = build_definitions(build_resources())
