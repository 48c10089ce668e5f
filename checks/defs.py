"""The asset checks, shown on each asset in the UI: rows conserved, statements read back, and a
Great Expectations suite per staged source and output table.

Blocking checks (severity error) guard numbers that reach a statement: a failure stops the
statements. Severity warn shows what ops should look at while the run goes on.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.ingest.defs import SOURCE_ASSETS
from assets.resources import RunSettings
from assets.statements.ledger import journal_problems
from assets.statements.statement_files import frozen_journal
from checks.conservation import claims_conservation, rows_accounted_for
from checks.expectations.runner import Expectations
from checks.expectations.suites import SUITE_NAMES, build_suites, read_references
from checks.readback import statement_problems
from core.quarters import Quarter

_ROWS_ACCOUNTED_FOR = (
    "For every input file: rows read = rows loaded + rows quarantined. No input row disappears, and no "
    "staged row lacks its file."
)


def _rows_result(con, source_name: str, **check: str) -> dg.AssetCheckResult:
    passed, figures = rows_accounted_for(con, source_name)
    figures["files_not_adding_up"] = dg.MetadataValue.md(figures["files_not_adding_up"])
    return dg.AssetCheckResult(passed=passed, metadata=figures, **check)


def _rows_accounted_for(source_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=source_name,
        name=f"{source_name}_rows_accounted_for",
        blocking=True,
        description=_ROWS_ACCOUNTED_FOR,
    )
    def check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return _rows_result(con, source_name)

    return check


def _rows_accounted_for_together(step_name: str, source_names: list[str]) -> dg.AssetChecksDefinition:
    """The sources one ingest step stages, checked in one step too (a step costs more than the check)."""

    @dg.multi_asset_check(
        name=f"{step_name}_rows_accounted_for",
        specs=[
            dg.AssetCheckSpec(
                f"{name}_rows_accounted_for", asset=name, blocking=True, description=_ROWS_ACCOUNTED_FOR
            )
            for name in source_names
        ],
    )
    def check(duckdb: DuckDBResource):
        with duckdb.get_connection() as con:
            for name in source_names:
                yield _rows_result(con, name, asset_key=name, check_name=f"{name}_rows_accounted_for")

    return check


@dg.asset_check(
    asset="claim_outcomes",
    blocking=True,
    description="Every claim in the quarter's scope has exactly one outcome, and the per-distributor "
    "counts and totals in distributor_credits add up to the claim lines.",
)
def claims_conserved(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        passed, figures = claims_conservation(con, str(Quarter.from_partition_key(context.partition_key)))
    figures["distributors_not_adding_up"] = dg.MetadataValue.md(figures["distributors_not_adding_up"])
    return dg.AssetCheckResult(passed=passed, metadata=figures)


def _staged_sources(asset: dg.AssetsDefinition) -> list[str]:
    return [spec.key.to_user_string() for spec in asset.specs]


# One check step per ingest step.
CONSERVATION_CHECKS = [
    *(
        _rows_accounted_for(*names)
        if len(names) == 1
        else _rows_accounted_for_together(asset.node_def.name, names)
        for asset in SOURCE_ASSETS
        for names in [_staged_sources(asset)]
    ),
    claims_conserved,
]


@dg.asset_check(
    asset="credit_statements",
    description="Every statement file read back: its Summary total equals the sum of its Credited "
    "lines and the distributor's credit_total; no cell is a formula.",
)
def statement_totals_match(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, settings: RunSettings
) -> dg.AssetCheckResult:
    quarter = Quarter.from_partition_key(context.partition_key)
    with duckdb.get_connection() as con:
        credits = con.execute(
            "SELECT distributor_id, credit_total FROM distributor_credits "
            "WHERE quarter = ? ORDER BY distributor_id",
            [str(quarter)],
        ).fetchall()
    problems = statement_problems(settings.statements_path / str(quarter), credits)
    return dg.AssetCheckResult(
        passed=not problems,
        description=problems[0] if problems else f"{len(credits)} statements add up",
        metadata={
            "statements_checked": len(credits),
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "_none_"),
        },
    )


@dg.asset_check(
    asset="credit_statements",
    blocking=True,
    description="Rulebook §7.3: in a closed quarter's journal every entry balances (debits = credits, per "
    "currency) and the credit memo entries add up to distributor_credits. Drafts write no journal.",
)
def journal_balances(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    quarter = Quarter.from_partition_key(context.partition_key)
    with duckdb.get_connection() as con:
        journal = frozen_journal(con, quarter)
        credits = dict(
            con.execute(
                "SELECT distributor_id, credit_total FROM distributor_credits WHERE quarter = ?",
                [str(quarter)],
            ).fetchall()
        )
    if journal is None:
        return dg.AssetCheckResult(passed=True, description=f"{quarter} is not closed: no journal")
    problems = journal_problems(journal, credits)
    return dg.AssetCheckResult(
        passed=not problems,
        description=problems[0] if problems else f"{len(journal.splitlines()) - 1} journal lines balance",
        metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "_none_")},
    )


def _expectations_check(suite_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=suite_name,
        name=f"{suite_name}_expectations",
        blocking=True,
        description=f"Great Expectations suite `{suite_name}` (checks/expectations/suites.py): columns and "
        "types, not-null, uniqueness, allowed values, ranges, references.",
    )
    def check(
        context: dg.AssetCheckExecutionContext,
        duckdb: DuckDBResource,
        expectations: dg.ResourceParam[Expectations],
    ) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            suite = build_suites(read_references(con))[suite_name]
            quarter = str(Quarter.from_partition_key(context.partition_key)) if suite.partitioned else None
            result = expectations.validate_suite(con, suite, quarter)
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

ASSET_CHECKS = [*CONSERVATION_CHECKS, *EXPECTATION_CHECKS, statement_totals_match, journal_balances]
