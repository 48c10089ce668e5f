"""Ingest assets: one per input source, each loading `stg_<source>` and its quarantine rows."""

import datetime as dt

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.ingest.sources import (
    COLUMN_ALIASES,
    DISTRIBUTORS,
    FULFILLMENT_REPORTS,
    GL_ACCOUNTS,
    PRICE_LIST,
    REASON_CODE_MAP,
    RECEIVING_LOGS,
    REPORT_PROFILES,
    RMA_CASES,
    VENDOR,
    Source,
    data_dir_problem,
)
from assets.ingest.staging import stage_source
from assets.metadata import table_metadata
from assets.resources import WAREHOUSE_POOL, EarlyValidation, RunSettings
from core.markdown import markdown_table
from core.quarter_state import RunRefused, check_run_allowed


def refuse_early(context: dg.AssetExecutionContext, con, settings: RunSettings) -> None:
    """A run of a quarter the rulebook refuses fails at its first step, with the reason, before it
    reads anything (reconcile refuses it again, for a run that selected no ingest). The run's
    `rma/close` tag is set here too."""
    partition = context.run.tags.get("dagster/partition")
    if not partition:
        return  # an ingest materialized on its own, outside a quarter's run
    # The Runs list tells a close from a draft however the run was launched (launchpad config
    # included), so the run says which it is.
    close = "true" if settings.close else "false"
    if context.run.tags.get("rma/close") != close:
        context.instance.add_run_tags(context.run_id, {"rma/close": close})
    quarter, as_of = settings.quarter_and_as_of(partition)
    try:
        check_run_allowed(con, quarter, as_of, settings.close, dt.date.today())
    except RunRefused as refused:
        raise dg.Failure(description=str(refused)) from None


def _stage(
    context: dg.AssetExecutionContext,
    con,
    settings: RunSettings,
    expectations: EarlyValidation,
    source: Source,
) -> dict:
    """Stage one source; the metadata of its materialization."""
    report = stage_source(con, settings.data_path, source)
    expectations.rows_written(con, source.name)  # validated while the next source is staged
    quarantine_preview = markdown_table(
        con,
        """SELECT source_file, count(*) AS rows,
        string_agg(DISTINCT reason, ', ' ORDER BY reason) AS reasons
        FROM quarantine WHERE source = ? GROUP BY source_file ORDER BY source_file""",
        [source.name],
    )
    metadata = table_metadata(
        con,
        source.table,
        report.rows_loaded,
        f"**{report.rows_loaded}** of {report.rows_read} rows loaded from {report.files} file(s); "
        f"**{report.rows_quarantined}** quarantined. "
        f"This run read {report.files_staged} new or changed "
        f"file(s){' and rebuilt the table' if report.rebuilt else ''}.\n\n"
        f"### Quarantined rows by file\n\n{quarantine_preview}",
    )
    if report.rows_quarantined:
        context.log.warning(
            f"{source.name}: {report.rows_quarantined} row(s) quarantined {report.quarantined_by_reason}"
        )
    return {
        **metadata,
        "files": report.files,
        "files_staged": report.files_staged,
        "rebuilt": report.rebuilt,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "quarantined_by_reason": dg.MetadataValue.json(report.quarantined_by_reason),
    }


# Every ingest before the checks, which can wait: a validator process (checks/expectations/)
# validates each staged source on the other core meanwhile.
_INGEST_FIRST = {"dagster/priority": "1"}


def _build_ingest_asset(source: Source, description: str, deps: list[str]) -> dg.AssetsDefinition:
    return _build_ingest_assets(source.name, {source: description}, deps)


def _build_ingest_assets(name: str, sources: dict[Source, str], deps: list[str]) -> dg.AssetsDefinition:
    """One step staging one source or more, one asset each: small reference files read together,
    as a step costs more than reading them."""

    @dg.multi_asset(
        name=name,
        specs=[
            dg.AssetSpec(
                source.name,
                description=text,
                group_name="ingest",
                kinds={"duckdb", "csv", "excel"} if source.folder_is_distributor else {"duckdb", "csv"},
                deps=deps,
            )
            for source, text in sources.items()
        ],
        pool=WAREHOUSE_POOL,
        op_tags=_INGEST_FIRST,
    )
    def ingest(
        context: dg.AssetExecutionContext,
        duckdb: DuckDBResource,
        settings: RunSettings,
        expectations: dg.ResourceParam[EarlyValidation],
    ):
        problem = data_dir_problem(settings.data_path)
        if problem:
            raise dg.Failure(description=problem)
        with duckdb.get_connection() as con:
            refuse_early(context, con, settings)
            for source in sources:
                metadata = _stage(context, con, settings, expectations, source)
                yield dg.MaterializeResult(asset_key=source.name, metadata=metadata)

    return ingest


distributors = _build_ingest_asset(
    DISTRIBUTORS, "Distributors and their credit currency, from reference/distributors.csv.", []
)
report_formats = _build_ingest_assets(
    "report_formats",
    {
        REPORT_PROFILES: "How each distributor's own report format differs from the standard one: encoding, "
        "delimiter, decimal and thousands separators, date format, sheet, header row "
        "(reference/report_profiles.csv).",
        COLUMN_ALIASES: "Distributors' own header names for the report columns "
        "(reference/column_aliases.csv).",
    },
    ["distributors"],
)
price_list = _build_ingest_asset(
    PRICE_LIST, "Credit price per SKU, currency and validity period, from reference/price_list.csv.", []
)
vendor = _build_ingest_asset(
    VENDOR,
    "Who the statements are from: legal name, address, contact, credit terms (reference/vendor.csv).",
    [],
)
gl_accounts = _build_ingest_asset(
    GL_ACCOUNTS,
    "Ledger accounts of the journal by role (reference/gl_accounts.csv; defaults without it).",
    [],
)
reason_code_map = _build_ingest_asset(
    REASON_CODE_MAP,
    "The distributors' own codes for our reason codes, in remittance files (reference/reason_code_map.csv).",
    [],
)
rma_cases = _build_ingest_asset(
    RMA_CASES,
    "Every version of every RMA case from the portal exports (inbound/rma_cases/*.csv).",
    ["distributors"],
)
receiving_logs = _build_ingest_asset(
    RECEIVING_LOGS, "Warehouse receipts of returned units (inbound/receiving_logs/*.csv).", []
)
fulfillment_reports = _build_ingest_asset(
    FULFILLMENT_REPORTS,
    "Distributor claims: one line per replacement handed over, from "
    "inbound/fulfillment_reports/<distributor_id>/*.csv|*.xlsx, read as each distributor's profile says.",
    ["distributors", "report_profiles", "column_aliases"],
)

SOURCE_ASSETS = [
    distributors,
    report_formats,
    price_list,
    vendor,
    gl_accounts,
    reason_code_map,
    rma_cases,
    receiving_logs,
    fulfillment_reports,
]

QUARANTINE_BY_FILE_SQL = """SELECT source, source_file, reason, count(*) AS rows,
    min(source_line) AS first_line
FROM quarantine GROUP BY ALL ORDER BY source, source_file, reason"""


@dg.asset(
    name="quarantine",
    description="Every input row that was not loaded, with its source, file, physical line, reason and "
    "raw text: one place for all sources (`rma-recon quarantine` prints the rows).",
    group_name="ingest",
    kinds={"duckdb"},
    deps=[key for asset in SOURCE_ASSETS for key in asset.keys],
    pool=WAREHOUSE_POOL,
)
def quarantine_overview(duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        (rows,) = con.execute("SELECT count(*) FROM quarantine").fetchone()
        by_source = dict(con.execute("SELECT source, count(*) FROM quarantine GROUP BY ALL").fetchall())
        preview = f"**{rows}** input row(s) in quarantine.\n\n### By source, file and reason\n\n"
        preview += markdown_table(con, QUARANTINE_BY_FILE_SQL)
        metadata = table_metadata(con, "quarantine", rows, preview)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            **{
                f"quarantined_{source}": dg.MetadataValue.int(count)
                for source, count in sorted(by_source.items())
            },
        }
    )


INGEST_ASSETS = [*SOURCE_ASSETS, quarantine_overview]
