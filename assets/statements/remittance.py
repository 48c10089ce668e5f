"""Rulebook §7.5: the machine-readable line file each distributor gets with its statement."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from assets.reconcile.rules import CLAIM_RULES
from assets.statements.statement_files import BATCH_LINES, line_batches
from core.quarters import Quarter

REMITTANCE_COLUMNS = [
    "source_file",
    "source_line",
    "rma_number",
    "fulfilled_on",
    "defective_serial",
    "outcome",
    "reason",
    "reason_text",
    "external_code",
    "claimed_amount",
    "credit_amount",
    "currency",
    "credit_memo",
]
_FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str | None) -> str:
    """Text a spreadsheet opening the file shows as text: a leading apostrophe before what would
    start a formula (the usual CSV-injection guard)."""
    if text is None:
        return ""
    return f"'{text}" if text.startswith(_FORMULA_LEADERS) else text


def _csv_field(sql: str) -> str:
    """SQL writing a text value as Python's csv.writer does (lineterminator "\\n", minimal quoting):
    quoted when it holds a comma, a quote or a newline, inner quotes doubled."""
    # contains() three times is 15 % faster than one regexp_matches over a million claims.
    return f"""(CASE WHEN contains({sql}, ',') OR contains({sql}, '"') OR contains({sql}, chr(10))
        THEN '"' || replace({sql}, '"', '""') || '"' ELSE {sql} END)"""


def _safe_field(sql: str) -> str:
    """SQL of `spreadsheet_safe`, then `_csv_field`: NULL as empty, a formula leader guarded."""
    leaders = ", ".join(f"chr({ord(c)})" for c in _FORMULA_LEADERS)
    guarded = f"(CASE WHEN left({sql}, 1) IN ({leaders}) THEN chr(39) || {sql} ELSE coalesce({sql}, '') END)"
    return _csv_field(guarded)


def remittance_files(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, memos: dict[str, str]
) -> Iterator[tuple[str, bytes]]:
    """(distributor_id, CSV bytes) for every distributor with claims in the quarter's scope: one
    row per claim in source file and line order. The memo number stands on credited rows.

    DuckDB writes the lines, byte for byte as csv.writer would with `spreadsheet_safe` text: a
    close has up to a million claims in scope, which as Python rows took seconds and gigabytes."""
    line = " || ',' || ".join(
        [
            _safe_field("c.source_file"),
            "CAST(c.source_line AS VARCHAR)",
            _safe_field("c.rma_number"),
            "strftime(c.fulfilled_on, '%Y-%m-%d')",
            _safe_field("c.defective_serial"),
            _csv_field("c.outcome"),
            _csv_field("c.reason"),
            _csv_field("r.meaning"),
            _safe_field("x.external_code"),
            "coalesce(CAST(c.claimed_amount AS VARCHAR), '')",
            "coalesce(CAST(c.credit_amount AS VARCHAR), '')",
            _csv_field("c.currency"),
            "CASE WHEN c.outcome = 'credited' THEN coalesce(m.credit_memo, '') ELSE '' END",
        ]
    )
    sql = f"""SELECT c.distributor_id,
            ? || chr(10) || string_agg({line}, chr(10) ORDER BY c.source_file, c.source_line) || chr(10)
        FROM claim_outcomes c
        LEFT JOIN (SELECT unnest(?) AS reason, unnest(?) AS meaning) r USING (reason)
        LEFT JOIN stg_reason_code_map x USING (reason)
        LEFT JOIN (SELECT unnest(?) AS distributor_id, unnest(?) AS credit_memo) m USING (distributor_id)
        WHERE c.quarter = ? AND c.distributor_id IN (SELECT unnest(?))
        GROUP BY c.distributor_id ORDER BY c.distributor_id"""
    lines = con.execute(
        "SELECT distributor_id, count(*) FROM claim_outcomes WHERE quarter = ? GROUP BY ALL ORDER BY ALL",
        [str(quarter)],
    ).fetchall()
    # A batch of distributors at a time: an ordered string_agg holds its group's lines in memory,
    # and ten million cases' lines at once did not fit.
    for batch in line_batches(lines, BATCH_LINES):
        rows = con.execute(
            sql,
            [
                ",".join(REMITTANCE_COLUMNS),
                [rule.reason for rule in CLAIM_RULES],
                [rule.meaning for rule in CLAIM_RULES],
                list(memos),
                list(memos.values()),
                str(quarter),
                [distributor_id for distributor_id, _ in batch],
            ],
        ).fetchall()  # whole, so that the caller may use the connection between files
        for distributor_id, lines in rows:
            yield distributor_id, lines.encode("utf-8")
