"""Conservation: no row is lost between reading, loading, quarantine, outcomes and totals.

Plain SQL over the warehouse; `checks/defs.py` turns the figures into asset check results.
"""

from __future__ import annotations

from assets.ingest.sources import SOURCES
from core.markdown import markdown_table
from core.quarter_state import quarter_state
from core.quarters import Quarter

NONE = "_none_"  # what markdown_table shows for no rows


def rows_accounted_for(con, source_name: str) -> tuple[bool, dict]:
    """(passed, figures): for the source and each of its files, rows read = rows loaded + rows
    quarantined, and every physical line is accounted for; `files_not_adding_up` is a markdown
    table of the files that do not add up."""
    source = SOURCES[source_name]
    read, loaded, quarantined = con.execute(
        f"""SELECT
            (SELECT rows_read FROM ingest_log WHERE source = $source),
            (SELECT count(*) FROM {source.table}),
            (SELECT count(*) FROM quarantine WHERE source = $source)""",
        {"source": source_name},
    ).fetchone()
    # Per file, two accounts: records (read = loaded + quarantined) and physical lines (or sheet
    # rows): each is the header's, a blank, or part of a loaded or a quarantined record.
    files_not_adding_up = markdown_table(
        con,
        f"""WITH read AS (
            SELECT source_file, rows_read, lines, header_lines + blank_lines AS other_lines
            FROM ingested_files WHERE source = $source
        ), loaded AS (
            SELECT source_file, count(*) AS loaded, sum(line_span) AS loaded_lines
            FROM {source.table} GROUP BY source_file
        ), quarantined AS (
            SELECT source_file, count(*) AS quarantined, sum(line_span) AS quarantined_lines
            FROM quarantine WHERE source = $source GROUP BY source_file
        ), accounted AS (
            SELECT source_file, rows_read, coalesce(loaded, 0) AS loaded,
                coalesce(quarantined, 0) AS quarantined, lines,
                other_lines + coalesce(loaded_lines, 0) + coalesce(quarantined_lines, 0) AS lines_accounted
            FROM read FULL JOIN loaded USING (source_file) FULL JOIN quarantined USING (source_file)
        )
        SELECT * FROM accounted
        WHERE rows_read IS DISTINCT FROM loaded + quarantined OR lines IS DISTINCT FROM lines_accounted
        ORDER BY source_file""",
        {"source": source_name},
    )
    passed = read is not None and read == loaded + quarantined and files_not_adding_up == NONE
    return passed, {
        "rows_read": read or 0,
        "rows_loaded": loaded,
        "rows_quarantined": quarantined,
        "files_not_adding_up": files_not_adding_up,
    }


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
    passed = as_of is not None and scope_ok and outcomes == distinct_claims and mismatched == NONE
    return passed, {
        "quarter": quarter,
        "claims_in_scope": in_scope,
        "claim_outcomes": outcomes,
        "distinct_claims": distinct_claims,
        "distributors_not_adding_up": mismatched,
    }
