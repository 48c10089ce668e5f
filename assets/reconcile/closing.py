"""Rulebook §5: draft runs, closing a quarter, frozen closed quarters, refused runs."""

from __future__ import annotations

import datetime as dt

import duckdb

from core.quarters import Quarter
from core.warehouse import prepare


class RunRefused(Exception):
    """A run the rulebook forbids; the message is meant for the finance user."""


def quarter_state(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> tuple[str | None, dt.date | None]:
    """('closed' | 'draft' | None, as-of date of the stored results)."""
    prepare(con)
    row = con.execute("SELECT state, as_of FROM quarter_runs WHERE quarter = ?", [str(quarter)]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def latest_closed_quarter(con: duckdb.DuckDBPyConnection) -> Quarter | None:
    prepare(con)
    row = con.execute("SELECT max(quarter) FROM quarter_runs WHERE state = 'closed'").fetchone()
    return Quarter.parse(row[0]) if row and row[0] else None


def is_closed(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> bool:
    return quarter_state(con, quarter)[0] == "closed"


def check_run_allowed(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, as_of: dt.date, close: bool, today: dt.date
) -> None:
    """Raise RunRefused for a run the rulebook forbids. A closed quarter may always be re-run."""
    if is_closed(con, quarter):
        return
    latest = latest_closed_quarter(con)
    if latest is not None and quarter < latest:
        verb = "close" if close else "run"
        raise RunRefused(
            f"cannot {verb} {quarter}: it is open and {latest} is already closed; "
            f"late data for {quarter} flows into the first open quarter after {latest}"
        )
    if close and as_of >= today:
        raise RunRefused(f"cannot close {quarter} as of {as_of}: that day is not over yet (today is {today})")


# The claim a sealed line held, as the rulebook compares it (§5): RMA and serial numbers
# normalised as staging does today, so a warehouse staged by an earlier version compares alike.
_SEALED_LINES_SQL = """
WITH sealed AS (
    SELECT o.quarter, o.source_file, o.source_line,
        upper(rma_without_zero_width(rma_clean(o.rma_number))) AS rma_number, o.fulfilled_on,
        upper(rma_without_zero_width(rma_clean(o.defective_serial))) AS defective_serial,
        rma_clean(o.replacement_serial) AS replacement_serial
    FROM claim_outcomes o JOIN quarter_runs r USING (quarter)
    WHERE r.state = 'closed' AND o.outcome IN ('credited', 'rejected')
        -- A removed file changes nothing: its sealed claims stay closed.
        AND o.source_file IN (SELECT source_file FROM ingested_files WHERE source = 'fulfillment_reports')
)
SELECT s.quarter, s.source_file, s.source_line, s.rma_number, s.fulfilled_on,
    f.source_line IS NULL AS gone, f.rma_number, f.fulfilled_on, count(*) OVER () AS changed
FROM sealed s LEFT JOIN stg_fulfillment_reports f USING (source_file, source_line)
WHERE f.source_line IS NULL
    OR (f.rma_number, f.fulfilled_on, f.defective_serial, f.replacement_serial)
        IS DISTINCT FROM (s.rma_number, s.fulfilled_on, s.defective_serial, s.replacement_serial)
ORDER BY s.source_file, s.source_line
LIMIT 1
"""


def changed_sealed_line(con: duckdb.DuckDBPyConnection) -> str | None:
    """The first line of a report that no longer holds the claim a closed quarter decided there,
    as one sentence for the user; None when every sealed line is as it was (rulebook §5)."""
    prepare(con)
    row = con.execute(_SEALED_LINES_SQL).fetchone()
    if row is None:
        return None
    quarter, source_file, line, rma_number, fulfilled_on, gone, now_rma, now_fulfilled, changed = row
    was = f"{rma_number} fulfilled {fulfilled_on}"
    now = "no claim (the line is gone or in quarantine)" if gone else f"{now_rma} fulfilled {now_fulfilled}"
    more = f"; {changed - 1} more sealed line(s) changed" if changed > 1 else ""
    return (
        f"{source_file} line {line} held a claim closed in {quarter} ({was}) and now holds {now}{more}: "
        "a submitted report is never edited; restore it and send corrections as a new file"
    )
