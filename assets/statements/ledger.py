"""Rulebook §7.2 and §7.3: credit memo numbers and the journal a close hands to the ledger."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from assets.reconcile.rules import ACCRUED_LIABILITY_SQL
from assets.statements.remittance import spreadsheet_safe
from core.quarters import Quarter

JOURNAL_COLUMNS = [
    "entry_id",
    "entry_date",
    "quarter",
    "kind",
    "distributor_id",
    "currency",
    "account",
    "debit",
    "credit",
    "credit_memo",
    "description",
]


def next_credit_memos(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> dict[str, str]:
    """distributor_id -> the credit memo number this close gives it: one per distributor whose
    credit total is above zero, in byte order of distributor_id, after the last number any close
    of this warehouse gave (one gap-free sequence). Stored only with the close."""
    (last,) = con.execute(
        "SELECT coalesce(max(CAST(substr(credit_memo, 4) AS INTEGER)), 0) FROM credit_memos"
    ).fetchone()
    distributors = con.execute(
        """SELECT distributor_id FROM distributor_credits WHERE quarter = ? AND credit_total > 0
        ORDER BY distributor_id""",
        [str(quarter)],
    ).fetchall()
    return {
        distributor_id: f"CM-{last + number:06d}" for number, (distributor_id,) in enumerate(distributors, 1)
    }


def accrued_liability(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> dict[str, Decimal]:
    """distributor_id -> what its claims held in the quarter will cost once they clear (where a
    price exists): the unit credit rule 13 would use."""
    return {
        distributor_id: amount
        for distributor_id, amount in con.execute(ACCRUED_LIABILITY_SQL, {"quarter": str(quarter)}).fetchall()
        if amount
    }


@dataclass(frozen=True)
class _Line:
    kind: str
    entry_date: str
    account: str
    debit: Decimal | None
    credit: Decimal | None
    credit_memo: str
    description: str


def build_journal(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, memos: dict[str, str], accounts: dict[str, str]
) -> bytes:
    """The quarter's journal as CSV bytes: per distributor (byte order), its credit memo entry
    and, for accrued liability, the accrual and its reversal on the next quarter's first day.
    Each entry's debit line comes first; entry_id is stable, so importing twice posts once."""
    credits = con.execute(
        """SELECT distributor_id, currency, credit_total, credited_count FROM distributor_credits
        WHERE quarter = ? ORDER BY distributor_id""",
        [str(quarter)],
    ).fetchall()
    accrued = accrued_liability(con, quarter)
    last_day, next_day = quarter.last_day.isoformat(), quarter.next().first_day.isoformat()
    expense, payable, liability = (
        accounts[role] for role in ("warranty_expense", "credits_payable", "accrued_liability")
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(JOURNAL_COLUMNS)
    for distributor_id, currency, credit_total, credited_count in credits:
        lines: list[_Line] = []
        if credit_total > 0:
            memo = memos[distributor_id]
            what = f"Credit memo {memo}: {credited_count} credited claim(s), {quarter}"
            lines += [
                _Line("credit_memo", last_day, expense, credit_total, None, memo, what),
                _Line("credit_memo", last_day, payable, None, credit_total, memo, what),
            ]
        amount = accrued.get(distributor_id)
        if amount:
            what = f"Accrued liability for claims held in {quarter}"
            undo = f"Reversal of the accrual for claims held in {quarter}"
            lines += [
                _Line("accrual", last_day, expense, amount, None, "", what),
                _Line("accrual", last_day, liability, None, amount, "", what),
                _Line("accrual_reversal", next_day, liability, amount, None, "", undo),
                _Line("accrual_reversal", next_day, expense, None, amount, "", undo),
            ]
        for line in lines:
            writer.writerow(
                [
                    f"{quarter}-{line.kind}-{spreadsheet_safe(distributor_id)}",
                    line.entry_date,
                    str(quarter),
                    line.kind,
                    spreadsheet_safe(distributor_id),
                    currency,
                    line.account,
                    _amount(line.debit),
                    _amount(line.credit),
                    line.credit_memo,
                    line.description,
                ]
            )
    return buffer.getvalue().encode("utf-8")


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def journal_problems(content: bytes, credit_totals: dict[str, Decimal]) -> list[str]:
    """What is wrong with a journal: an entry whose debits and credits differ (per currency), or
    credit memo entries that do not add up to a distributor's credit_total."""
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    balance: dict[tuple[str, str], Decimal] = {}
    memo_totals: dict[str, Decimal] = {}
    for row in rows:
        debit, credit = (Decimal(row[side] or "0") for side in ("debit", "credit"))
        key = (row["entry_id"], row["currency"])
        balance[key] = balance.get(key, Decimal("0")) + debit - credit
        if row["kind"] == "credit_memo":
            memo_totals[row["distributor_id"]] = memo_totals.get(row["distributor_id"], Decimal("0")) + debit
    problems = [
        f"entry {entry} in {currency} is off by {off}" for (entry, currency), off in balance.items() if off
    ]
    for distributor_id, credit_total in credit_totals.items():
        booked = memo_totals.get(spreadsheet_safe(distributor_id), Decimal("0.00"))
        if booked != credit_total:
            problems.append(
                f"{distributor_id}: credit memo entries {booked}, distributor_credits {credit_total}"
            )
    return problems
