"""Great Expectations suites as Dagster asset checks, one per staged source and output table.

Blocking: a failed "error" expectation stops the statements; "warn" failures show in the UI
with severity WARN and the run goes on.
"""

import datetime as dt

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from checks.expectations import validate_ahead, validate_suite, validator_running
from checks.suites import References, build_suites
from pipelines.quarters import Quarter

_PLACEHOLDER_REFERENCES = References([], [], dt.date(2000, 1, 1))
SUITE_NAMES = list(build_suites(_PLACEHOLDER_REFERENCES))


def read_references(con) -> References:
    rows = con.execute("SELECT distributor_id, currency FROM stg_distributors ORDER BY distributor_id").fetchall()
    return References([r[0] for r in rows], sorted({r[1] for r in rows}), dt.date.today())


def start_validating(con, suite_name: str, quarter: str | None = None) -> None:
    """Send the rows the suite's check will validate to the run's validator process, if it has
    one, so that GX works on them while the run goes on (checks/expectations.py)."""
    if not validator_running():
        return
    try:
        suite = build_suites(read_references(con))[suite_name]
        validate_ahead(con, suite, quarter if suite.partitioned else None)
    except duckdb.Error:
        pass  # e.g. a table the suite reads is not staged yet: the check validates and reports it


def _expectations_check(suite_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=suite_name,
        name=f"{suite_name}_expectations",
        blocking=True,
        description=f"Great Expectations suite `{suite_name}` (checks/suites.py): columns and types, "
        "not-null, uniqueness, allowed values, ranges, references.",
    )
    def check(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            suite = build_suites(read_references(con))[suite_name]
            quarter = str(Quarter.from_partition_key(context.partition_key)) if suite.partitioned else None
            result = validate_suite(con, suite, quarter)
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR if result.blocking else dg.AssetCheckSeverity.WARN,
            description=result.summary,
            metadata={
                "rows_validated": result.rows,
                # Of those, the rows GX saw in this run; the rest were validated before (kept by file).
                "rows_validated_this_run": result.rows_revalidated,
                "expectations": result.expectations,
                "failed": len(result.problems),
                "problems": dg.MetadataValue.md(result.markdown()),
                **({"quarter": quarter} if quarter else {}),
            },
        )

    return check


EXPECTATION_CHECKS = [_expectations_check(name) for name in SUITE_NAMES]
