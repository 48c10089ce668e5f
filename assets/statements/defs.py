"""Statement assets: one XLSX per distributor per quarter (closing the quarter freezes them),
and the quarter's finance summary."""

import itertools
import tempfile
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.ingest.reference import close_blocker, gl_accounts, load_vendor
from assets.partitions import quarterly_partitions
from assets.resources import WAREHOUSE_POOL, RunSettings
from assets.statements.finance_summary import build_finance_summary
from assets.statements.ledger import build_journal, next_credit_memos
from assets.statements.on_disk import (
    clear_leftovers,
    record_written,
    remove_superseded,
    write_statement_files,
    written_files,
)
from assets.statements.remittance import remittance_files
from assets.statements.statement_files import (
    StatementFile,
    StatementTooLong,
    StoredContents,
    freeze_statements,
    frozen_journal,
    load_statements,
    render_statements,
    rendered_statements,
    rendering_work,
    spool,
    stored_files,
)
from assets.statements.workbook import remittance_file_name
from core.files import replace_file, temp_folder_prefix
from core.markdown import markdown_table
from core.quarter_state import quarter_state
from core.quarters import Quarter


@dg.asset(
    group_name="statements",
    kinds={"excel", "duckdb"},
    deps=["claim_outcomes", "distributor_credits"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def credit_statements(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: RunSettings
) -> dg.MaterializeResult:
    """Excel credit statements `<statements dir>/<quarter>/<distributor_id>.xlsx` (Summary,
    Credited, Held, Rejected). Draft runs mark them DRAFT; a close run marks them FINAL, writes
    the remittance files beside them and the journal in `finance/`, stores all their bytes and
    closes the quarter (sending nothing: a second person releases it); a closed quarter re-emits
    the stored bytes."""
    quarter, as_of = settings.quarter_and_as_of(context.partition_key)
    try:  # before anything is closed: a folder that cannot be written fails the run here
        (settings.statements_path / str(quarter)).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise dg.Failure(description=f"cannot write the statements: {error}") from None
    for leftover in clear_leftovers(settings.statements_path):
        context.log.info(f"removed {leftover}, left by a run that was killed")
    with duckdb.get_connection() as con:
        state, stored_as_of = quarter_state(con, quarter)
        if state == "closed":
            files, journal = stored_files(con, quarter), frozen_journal(con, quarter)
            status = "FINAL (closed quarter, stored bytes re-emitted)"
        else:
            if stored_as_of != as_of:
                raise dg.Failure(
                    description=f"{quarter} was last reconciled as of {stored_as_of}, not {as_of}: "
                    "materialize the reconcile assets for this run first"
                )
            files, journal = _render(con, quarter, as_of, settings)
            status = "FINAL (quarter closed by this run)" if settings.close else "DRAFT"
        totals = markdown_table(
            con,
            """SELECT distributor_id, currency, credited_count, credit_total, held_count, rejected_count
            FROM distributor_credits WHERE quarter = ? ORDER BY distributor_id""",
            [str(quarter)],
        )
        # A closed quarter's files are in the warehouse; their bytes are read one at a time.
        final = state == "closed" or settings.close
        on_disk = StoredContents(con, str(quarter), len(files)) if final else files
        paths = write_statement_files(settings.statements_path, quarter, on_disk, written_files(con, quarter))
        if journal is not None:
            replace_file(settings.statements_path / "finance" / f"{quarter}-journal.csv", journal)
        record_written(con, quarter, files)
        for path in remove_superseded(con, settings.statements_path):
            context.log.info(f"removed {path}: its quarter was superseded by a later close")
    context.log.info(
        f"{len(paths)} statement(s) for {quarter} written to "
        f"{settings.statements_path / str(quarter)}: {status}"
    )
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


def _render(con, quarter: Quarter, as_of, settings: RunSettings) -> tuple[list, bytes | None]:
    """A draft's statements; or, closing, the FINAL statements, remittance files and journal,
    frozen with the quarter's close (credit memo numbers given, who closed recorded). A close
    keeps each file on disk as it is made, stores them one at a time, and hands back files whose
    bytes are read from the warehouse when written out: ten million cases' files did not fit in
    memory at once."""
    final = settings.close
    if final:
        blocker = close_blocker(con)
        if blocker:
            raise dg.Failure(description=f"cannot close {quarter}: {blocker}")
    memos = next_credit_memos(con, quarter) if final else {}
    statements = load_statements(con, quarter, as_of, final, load_vendor(con), memos)
    try:
        if not final:
            return render_statements(statements, rendering_work(con, quarter)), None
        journal = build_journal(con, quarter, memos, gl_accounts(con))
        remittances = (
            StatementFile(remittance_file_name(distributor_id), distributor_id, content)
            for distributor_id, content in remittance_files(con, quarter, memos)
        )
        workbooks = rendered_statements(statements, rendering_work(con, quarter))
        try:
            with tempfile.TemporaryDirectory(prefix=temp_folder_prefix("close")) as folder:
                # Stored as they are made, all before the close's transaction opens.
                spooled = spool(itertools.chain(workbooks, remittances), Path(folder))
                return freeze_statements(con, quarter, spooled, journal, memos, settings.person), journal
        finally:
            workbooks.close()  # a close that failed stops its statement workers now
    except StatementTooLong as error:
        raise dg.Failure(description=str(error)) from None


@dg.asset(
    group_name="statements",
    kinds={"excel", "duckdb"},
    deps=["claim_outcomes", "distributor_credits", "sla_status"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def finance_summary(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: RunSettings
) -> dg.MaterializeResult:
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
    replace_file(path, content)
    return dg.MaterializeResult(
        metadata={"quarter": str(quarter), "path": dg.MetadataValue.path(str(path)), "bytes": len(content)}
    )
