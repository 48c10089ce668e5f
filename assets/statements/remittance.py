"""Rulebook §7.5: the machine-readable line file each distributor gets with its statement."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import duckdb

from assets.reconcile.rules import CLAIM_RULES
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


def remittance_files(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, memos: dict[str, str]
) -> Iterator[tuple[str, bytes]]:
    """(distributor_id, CSV bytes) for every distributor with claims in the quarter's scope: one
    row per claim in source file and line order. The memo number stands on credited rows."""
    external = dict(con.execute("SELECT reason, external_code FROM stg_reason_code_map").fetchall())
    meaning = {rule.reason: rule.meaning for rule in CLAIM_RULES}
    rows = con.execute(
        """SELECT distributor_id, source_file, source_line, rma_number, fulfilled_on, defective_serial,
            outcome, reason, claimed_amount, credit_amount, currency
        FROM claim_outcomes WHERE quarter = ? ORDER BY distributor_id, source_file, source_line""",
        [str(quarter)],
    ).fetchall()
    current, buffer, writer = None, None, None
    for distributor_id, *row in rows:
        if distributor_id != current:
            if buffer is not None:
                yield current, buffer.getvalue().encode("utf-8")
            current, buffer = distributor_id, io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(REMITTANCE_COLUMNS)
        source_file, source_line, rma, fulfilled_on, serial, outcome, reason, claimed, credit, currency = row
        writer.writerow(
            [
                spreadsheet_safe(source_file),
                source_line,
                spreadsheet_safe(rma),
                fulfilled_on.isoformat(),
                spreadsheet_safe(serial),
                outcome,
                reason,
                meaning[reason],
                spreadsheet_safe(external.get(reason)),
                "" if claimed is None else f"{claimed:.2f}",
                "" if credit is None else f"{credit:.2f}",
                currency,
                memos.get(distributor_id, "") if outcome == "credited" else "",
            ]
        )
    if buffer is not None:
        yield current, buffer.getvalue().encode("utf-8")
