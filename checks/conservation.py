"""Conservation checks: no row is lost between reading, loading, quarantine, outcomes and totals."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.closing import quarter_state
from assets.metadata import markdown_table
from assets.staging import SOURCES
from pipelines.quarters import Quarter


def _rows_accounted_for(source_name: str):
    @dg.asset_check(
        asset=source_name,
        name=f"{source_name}_rows_accounted_for",
        blocking=True,
        description="For every input file: rows read = rows loaded + rows quarantined. No input row "
        "disappears, and no staged row lacks its file.",
    )
    def check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        source = SOURCES[source_name]
        with duckdb.get_connection() as con:
            read, loaded, quarantined = con.execute(
                f"""SELECT
                    (SELECT rows_read FROM ingest_log WHERE source = $source),
                    (SELECT count(*) FROM {source.table}),
                    (SELECT count(*) FROM quarantine WHERE source = $source)""",
                {"source": source_name},
            ).fetchone()
            files_not_adding_up = markdown_table(
                con,
                f"""WITH read AS (
                    SELECT source_file, rows_read FROM ingested_files WHERE source = $source
                ), loaded AS (
                    SELECT source_file, count(*) AS loaded FROM {source.table} GROUP BY source_file
                ), quarantined AS (
                    SELECT source_file, count(*) AS quarantined FROM quarantine WHERE source = $source GROUP BY source_file
                )
                SELECT source_file, rows_read, coalesce(loaded, 0) AS loaded, coalesce(quarantined, 0) AS quarantined
                FROM read FULL JOIN loaded USING (source_file) FULL JOIN quarantined USING (source_file)
                WHERE rows_read IS DISTINCT FROM coalesce(loaded, 0) + coalesce(quarantined, 0)
                ORDER BY source_file""",
                {"source": source_name},
            )
        return dg.AssetCheckResult(
            passed=read is not None and read == loaded + quarantined and files_not_adding_up == "_none_",
            metadata={
                "rows_read": read or 0,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "files_not_adding_up": dg.MetadataValue.md(files_not_adding_up),
            },
        )

    return check


def claims_conservation(con, quarter: str) -> tuple[bool, dict]:
    """(passed, figures): every claim in the quarter's scope has one outcome, and
    distributor_credits adds up to the claim lines. The scope is counted here again, apart
    from the rules' SQL."""
    state, as_of = quarter_state(con, Quarter.parse(quarter))
    in_scope, outcomes, distinct_claims = con.execute(
        """SELECT
            (SELECT count(*) FROM stg_fulfillment_reports f
             ANTI JOIN (
                SELECT o.source_file, o.source_line FROM claim_outcomes o JOIN quarter_runs r USING (quarter)
                WHERE r.state = 'closed' AND o.quarter < ? AND o.outcome <> 'held'
             ) decided ON decided.source_file = f.source_file AND decided.source_line = f.source_line
             WHERE f.fulfilled_on <= ?),
            (SELECT count(*) FROM claim_outcomes WHERE quarter = ?),
            (SELECT count(DISTINCT (source_file, source_line)) FROM claim_outcomes WHERE quarter = ?)""",
        [quarter, as_of, quarter, quarter],
    ).fetchone()
    mismatched = markdown_table(
        con,
        """WITH lines AS (
            SELECT distributor_id,
                count(*) FILTER (WHERE outcome = 'credited') AS credited_count,
                coalesce(sum(credit_amount), 0) AS credit_total,
                count(*) FILTER (WHERE outcome = 'held') AS held_count,
                count(*) FILTER (WHERE outcome = 'rejected') AS rejected_count
            FROM claim_outcomes WHERE quarter = ? GROUP BY distributor_id
        )
        SELECT coalesce(l.distributor_id, c.distributor_id) AS distributor_id,
            l.credit_total AS lines_total, c.credit_total AS credits_total
        FROM lines l FULL JOIN (SELECT * FROM distributor_credits WHERE quarter = ?) c USING (distributor_id)
        WHERE l.credited_count IS DISTINCT FROM c.credited_count
           OR l.credit_total IS DISTINCT FROM c.credit_total
           OR l.held_count IS DISTINCT FROM c.held_count
           OR l.rejected_count IS DISTINCT FROM c.rejected_count""",
        [quarter, quarter],
    )
    # A closed quarter is frozen: late data now in the inputs belongs to a later quarter's scope.
    scope_ok = state == "closed" or in_scope == outcomes
    passed = as_of is not None and scope_ok and outcomes == distinct_claims and mismatched == "_none_"
    return passed, {
        "quarter": quarter,
        "claims_in_scope": in_scope,
        "claim_outcomes": outcomes,
        "distinct_claims": distinct_claims,
        "distributors_not_adding_up": dg.MetadataValue.md(mismatched),
    }


@dg.asset_check(
    asset="claim_outcomes",
    blocking=True,
    description="Every claim in the quarter's scope has exactly one outcome, and the per-distributor "
    "counts and totals in distributor_credits add up to the claim lines.",
)
def claims_conserved(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        passed, metadata = claims_conservation(con, str(Quarter.from_partition_key(context.partition_key)))
    return dg.AssetCheckResult(passed=passed, metadata=metadata)


CONSERVATION_CHECKS = [*(_rows_accounted_for(name) for name in SOURCES), claims_conserved]
