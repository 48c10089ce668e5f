"""Rulebook §5: draft runs, closing a quarter, frozen closed quarters, refused runs."""

from __future__ import annotations

import duckdb

from core.warehouse import prepare

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
