"""The one Dagster code location: assets by stage, checks, the quarterly job, resources."""

import os

import dagster as dg

from assets.ingestion import INGEST_ASSETS
from assets.reconciliation import reconcile
from assets.statements import credit_statements, finance_summary, statement_delivery
from checks.conservation import CONSERVATION_CHECKS
from checks.quality import EXPECTATION_CHECKS
from checks.statements import statement_totals_match
from pipelines.jobs import quarterly_reconciliation
from pipelines.resources import DEFAULT_WAREHOUSE, RunSettings, StatementDelivery, warehouse_resource
from pipelines.schedules import quarter_close, weekly_draft
from pipelines.sensors import inbound_files

ALL_ASSETS = [*INGEST_ASSETS, reconcile, credit_statements, finance_summary, statement_delivery]
ASSET_CHECKS = [*CONSERVATION_CHECKS, *EXPECTATION_CHECKS, statement_totals_match]


def build_resources(
    data_dir: str | None = None,
    warehouse: str | None = None,
    statements_dir: str | None = None,
    as_of: str = "",
    close: bool = False,
    delivery: StatementDelivery | None = None,
) -> dict[str, object]:
    """Resources for the UI (from RMA_* environment variables) or for one CLI run."""
    return {
        "duckdb": warehouse_resource(warehouse or os.environ.get("RMA_WAREHOUSE", DEFAULT_WAREHOUSE)),
        "settings": RunSettings(data_dir=data_dir or "", statements_dir=statements_dir or "", as_of=as_of, close=close),
        "delivery": delivery or StatementDelivery(),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=ASSET_CHECKS,
    jobs=[quarterly_reconciliation],
    schedules=[weekly_draft, quarter_close],
    sensors=[inbound_files],
    resources=build_resources(),
    # DuckDB has one writer per file: steps run one after another in one process.
    executor=dg.in_process_executor,
)
