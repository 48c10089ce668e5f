"""The delivery asset: FINAL statements of a closed quarter sent to the distributors."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.delivery.delivery_log import deliver_statements
from assets.partitions import quarterly_partitions
from assets.reconcile.closing import is_closed
from assets.resources import WAREHOUSE_POOL, RunSettings, StatementDelivery
from assets.statements.statement_files import frozen_statements
from core.quarters import Quarter


@dg.asset(
    group_name="statements",
    kinds={"email", "duckdb"},
    deps=["credit_statements"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def statement_delivery(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: RunSettings, delivery: StatementDelivery
) -> dg.MaterializeResult:
    """FINAL statements of a closed quarter sent to each distributor's email (distributors.csv),
    by SMTP or as .eml files in an outbox. The delivery log sends each statement once and retries
    failed sends on the next run. Draft quarters send nothing."""
    quarter = Quarter.from_partition_key(context.partition_key)
    with duckdb.get_connection() as con:
        if not is_closed(con, quarter):
            return dg.MaterializeResult(metadata={"quarter": str(quarter), "status": "draft quarter: nothing sent"})
        results = deliver_statements(
            con, str(quarter), frozen_statements(con, quarter), delivery.transport(), delivery.from_address, settings.vendor
        )
    counts = {status: sum(1 for r in results if r.status == status) for status in ("sent", "failed", "already_sent", "no_email")}
    for result in results:
        if result.status in ("failed", "no_email"):
            context.log.warning(f"{result.distributor_id}: {result.status}: {result.detail}")
    table = "\n".join(
        ["| distributor | recipient | status | detail |", "|---|---|---|---|"]
        + [f"| {r.distributor_id} | {r.recipient or ''} | {r.status} | {r.detail.replace('|', '/')} |" for r in results]
    )
    return dg.MaterializeResult(
        metadata={"quarter": str(quarter), **counts, "deliveries": dg.MetadataValue.md(table)}
    )
