"""Statements asset: one XLSX per distributor per quarter; closing the quarter freezes them."""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.closing import is_closed, quarter_state
from assets.delivery import deliver_statements
from assets.finance_summary import build_finance_summary
from assets.metadata import markdown_table
from assets.reconciliation import run_parameters
from assets.statement_files import (
    StatementTooLong,
    freeze_statements,
    frozen_statements,
    load_statements,
    render_statements,
    rendering_work,
    write_statement_files,
)
from pipelines.partitions import quarterly_partitions
from pipelines.quarters import Quarter
from pipelines.resources import WAREHOUSE_POOL, RunSettings, StatementDelivery


@dg.asset(
    group_name="statements",
    kinds={"excel", "duckdb"},
    deps=["claim_outcomes", "distributor_credits"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def credit_statements(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: RunSettings) -> dg.MaterializeResult:
    """Excel credit statements `<statements dir>/<quarter>/<distributor_id>.xlsx` (Summary,
    Credited, Held, Rejected). Draft runs mark them DRAFT; a close run marks them FINAL, stores
    their bytes and closes the quarter; a closed quarter re-emits the stored bytes."""
    params = run_parameters(context, settings)
    quarter = params.quarter
    with duckdb.get_connection() as con:
        state, stored_as_of = quarter_state(con, quarter)
        if state == "closed":
            files = frozen_statements(con, quarter)
            status = "FINAL (closed quarter, stored bytes re-emitted)"
        else:
            if stored_as_of != params.as_of:
                raise dg.Failure(
                    description=f"{quarter} was last reconciled as of {stored_as_of}, not {params.as_of}: "
                    "materialize the reconcile assets for this run first"
                )
            statements = load_statements(con, quarter, params.as_of, final=settings.close, vendor=settings.vendor)
            try:
                files = render_statements(statements, rendering_work(con, quarter))
            except StatementTooLong as error:
                raise dg.Failure(description=str(error)) from None
            if settings.close:
                freeze_statements(con, quarter, files)
                status = "FINAL (quarter closed by this run)"
            else:
                status = "DRAFT"
        totals = markdown_table(
            con,
            """SELECT distributor_id, currency, credited_count, credit_total, held_count, rejected_count
            FROM distributor_credits WHERE quarter = ? ORDER BY distributor_id""",
            [str(quarter)],
        )
    paths = write_statement_files(settings.statements_path, quarter, files)
    context.log.info(f"{len(paths)} statement(s) for {quarter} written to {settings.statements_path / str(quarter)}: {status}")
    return dg.MaterializeResult(
        metadata={
            "quarter": str(quarter),
            "status": status,
            "statement_count": len(paths),
            "directory": dg.MetadataValue.path(str(settings.statements_path / str(quarter))),
            "files": dg.MetadataValue.json({f.file_name: f.sha256 for f in files}),
            "preview": dg.MetadataValue.md(f"**{status}** statements for {quarter}\n\n{totals}"),
        }
    )


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


@dg.asset(
    group_name="statements",
    kinds={"excel", "duckdb"},
    deps=["claim_outcomes", "distributor_credits", "sla_status"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def finance_summary(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: RunSettings) -> dg.MaterializeResult:
    """The quarter's finance summary workbook `<statements dir>/finance/<quarter>-summary.xlsx`:
    totals, holds and accrued liability per distributor (with a chart), holds and rejections by
    reason, late credits, SLA rows."""
    quarter = Quarter.from_partition_key(context.partition_key)
    with duckdb.get_connection() as con:
        state, as_of = quarter_state(con, quarter)
        if as_of is None:
            raise dg.Failure(description=f"{quarter} has not been reconciled yet")
        content = build_finance_summary(con, quarter, final=state == "closed", as_of=as_of)
    folder = settings.statements_path / "finance"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{quarter}-summary.xlsx"
    partial = folder / f".{path.name}.partial"
    partial.write_bytes(content)
    os.replace(partial, path)
    return dg.MaterializeResult(
        metadata={"quarter": str(quarter), "path": dg.MetadataValue.path(str(path)), "bytes": len(content)}
    )
