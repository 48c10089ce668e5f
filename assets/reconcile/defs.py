"""Reconcile assets, partitioned by quarter: claim outcomes, SLA status, exceptions, credits.

One multi-asset computes all four so that a quarter's rows are replaced in one transaction.
A closed quarter is frozen: the run reports its stored rows and changes nothing.
"""

import datetime as dt

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.ingest.reference import close_blocker
from assets.metadata import table_metadata
from assets.partitions import quarterly_partitions
from assets.reconcile.charts import credits_chart, markdown_image, sla_mix_chart
from assets.reconcile.closing import changed_sealed_line
from assets.reconcile.rules import ACCRUED_LIABILITY_SQL, RunParameters, reconcile_quarter
from assets.resources import WAREHOUSE_POOL, EarlyValidation, RunSettings
from core.markdown import markdown_table
from core.quarter_state import RunRefused, check_run_allowed, is_closed

_INPUTS = ["distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports"]

RECONCILE_SPECS = [
    dg.AssetSpec(
        "claim_outcomes",
        description="One outcome per distributor claim in the quarter's scope (credited, held or "
        "rejected, with the first rule that applies), due quarter, late flag and amount variance.",
        deps=_INPUTS,
        group_name="reconcile",
        kinds={"duckdb"},
    ),
    dg.AssetSpec(
        "sla_status",
        description="Direct repair/replace cases against the 30-day promise: met, open, at risk, "
        "breached or awaiting return, with days late and CIP/DOMESTIC.",
        deps=["rma_cases", "receiving_logs"],
        group_name="reconcile",
        kinds={"duckdb"},
    ),
    dg.AssetSpec(
        "exceptions",
        description="Receipts received this quarter that match no case, or a case with another serial.",
        deps=["rma_cases", "receiving_logs"],
        group_name="reconcile",
        kinds={"duckdb"},
    ),
    dg.AssetSpec(
        "distributor_credits",
        description="Per distributor: credited count and total, held and rejected counts, and the credit "
        "memo number a close gave. The Plots tab draws credit totals and held value per currency.",
        deps=["claim_outcomes"],
        group_name="reconcile",
        kinds={"duckdb"},
    ),
]

_PREVIEWS = {
    "claim_outcomes": (
        "### Rejected and held claims by reason",
        # Money per currency: a sum across currencies means nothing.
        """SELECT outcome, reason, currency, count(*) AS claims, sum(claimed_amount) AS claimed
        FROM claim_outcomes WHERE quarter = $quarter AND outcome <> 'credited'
        GROUP BY outcome, reason, currency ORDER BY outcome, reason, currency""",
    ),
    "sla_status": (
        "### Breached and at-risk cases",
        """SELECT rma_number, status, due_on,
            CASE WHEN status = 'at_risk'
                THEN CAST(due_on - (SELECT as_of FROM quarter_runs r WHERE r.quarter = s.quarter) AS INTEGER)
            END AS days_left,
            days_late, incoterm, ship_to_country
        FROM sla_status s
        WHERE quarter = $quarter AND status IN ('breached', 'at_risk')
        ORDER BY status DESC, days_late DESC, due_on, rma_number""",
    ),
    "exceptions": (
        "### Exceptions",
        "SELECT kind, source_file, source_line, rma_number, detail FROM exceptions "
        "WHERE quarter = $quarter ORDER BY source_file, source_line",
    ),
    "distributor_credits": (
        "### Credits, holds and accrued liability by distributor",
        f"""WITH held_value AS ({ACCRUED_LIABILITY_SQL})
        SELECT c.distributor_id, c.currency, c.credited_count, c.credit_total, c.held_count,
            coalesce(h.accrued_liability, 0) AS accrued_liability, c.rejected_count
        FROM distributor_credits c LEFT JOIN held_value h USING (distributor_id)
        WHERE c.quarter = $quarter
        ORDER BY c.distributor_id""",
    ),
}


@dg.multi_asset(specs=RECONCILE_SPECS, partitions_def=quarterly_partitions, pool=WAREHOUSE_POOL)
def reconcile(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    settings: RunSettings,
    expectations: dg.ResourceParam[EarlyValidation],
):
    """Apply rulebook §3 and §4 to the quarter (or report it frozen if it is closed)."""
    params = RunParameters(*settings.quarter_and_as_of(context.partition_key), settings.home_country)
    quarter = str(params.quarter)
    with duckdb.get_connection() as con:
        try:
            check_run_allowed(con, params.quarter, params.as_of, settings.close, dt.date.today())
        except RunRefused as refused:
            raise dg.Failure(description=str(refused)) from None
        frozen = is_closed(con, params.quarter)
        if frozen:
            context.log.info(f"{quarter} is closed: its rows are frozen and re-emitted unchanged")
        else:
            changed = changed_sealed_line(con)
            if changed:
                raise dg.Failure(description=f"cannot reconcile {quarter}: {changed}")
            blocker = close_blocker(con) if settings.close else None
            if blocker:  # before the quarter's rows change: the close is refused as a whole
                raise dg.Failure(description=f"cannot close {quarter}: {blocker}")
            reconcile_quarter(con, params)
        for spec in RECONCILE_SPECS:  # validated while the metadata is gathered
            expectations.rows_written(con, spec.key.path[-1], quarter)
        for spec in RECONCILE_SPECS:
            table = spec.key.path[-1]
            (row_count,) = con.execute(
                f"SELECT count(*) FROM {table} WHERE quarter = ?", [quarter]
            ).fetchone()
            heading, sql = _PREVIEWS[table]
            preview = (
                f"{quarter} ({'closed, frozen' if frozen else 'draft'}, as of {params.as_of})"
                f"\n\n{heading}\n\n"
            )
            preview += markdown_table(con, sql, {"quarter": quarter})
            chart = _chart(con, table, quarter)
            yield dg.MaterializeResult(
                asset_key=spec.key,
                metadata={
                    **table_metadata(con, table, row_count, preview),
                    "quarter": quarter,
                    "frozen": frozen,
                    **({"chart": dg.MetadataValue.md(chart)} if chart else {}),
                    **_figures(con, table, quarter),
                },
            )


def _figures(con, table: str, quarter: str) -> dict[str, dg.MetadataValue]:
    """Numbers Dagster plots across quarters (the asset's Plots tab); money per currency, as a
    float only for the picture (the tables hold the exact decimals)."""
    if table == "distributor_credits":
        rows = con.execute(
            f"""WITH held_value AS ({ACCRUED_LIABILITY_SQL})
            SELECT c.currency, sum(c.credit_total), sum(coalesce(h.accrued_liability, 0))
            FROM distributor_credits c LEFT JOIN held_value h USING (distributor_id)
            WHERE c.quarter = $quarter GROUP BY c.currency ORDER BY c.currency""",
            {"quarter": quarter},
        ).fetchall()
        figures = {}
        for currency, credited, held in rows:
            figures[f"credit_total_{currency}"] = dg.MetadataValue.float(float(credited))
            figures[f"held_value_{currency}"] = dg.MetadataValue.float(float(held))
        return figures
    counts = {
        "claim_outcomes": "SELECT outcome, count(*) FROM claim_outcomes WHERE quarter = ? GROUP BY ALL",
        "sla_status": "SELECT status, count(*) FROM sla_status WHERE quarter = ? GROUP BY ALL",
    }.get(table)
    if counts is None:
        return {}
    return {
        f"{name}_count": dg.MetadataValue.int(count)
        for name, count in con.execute(counts, [quarter]).fetchall()
    }


def _chart(con, table: str, quarter: str) -> str | None:
    """A picture where it beats a table: credits by distributor, SLA mix across quarters."""
    if table == "distributor_credits":
        _, sql = _PREVIEWS["distributor_credits"]
        rows = [
            (r[0], r[1], float(r[3]), float(r[5])) for r in con.execute(sql, {"quarter": quarter}).fetchall()
        ]
        return (
            markdown_image(credits_chart(rows, quarter), f"credits by distributor {quarter}")
            if rows
            else None
        )
    if table == "sla_status":
        rows = con.execute(
            "SELECT quarter, status, count(*) FROM sla_status GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        return markdown_image(sla_mix_chart(rows), "SLA status mix by quarter") if rows else None
    return None
