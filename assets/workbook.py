"""One distributor's credit statement as XLSX bytes (rulebook §6).

XlsxWriter, not openpyxl, writes it: it streams, it takes the creation time from the document
properties (so equal inputs give equal bytes), and it can be told never to turn text into a
formula, a number or a link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

import xlsxwriter

from assets.rules import RULE_BY_REASON

SHEETS = ("Summary", "Credited", "Held", "Rejected")

WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


@dataclass(frozen=True)
class ClaimLine:
    rma_number: str
    fulfilled_on: dt.date
    reason: str
    defective_serial: str | None
    replacement_serial: str | None
    replacement_sku: str | None
    claimed_amount: Decimal | None
    credit_amount: Decimal | None
    amount_variance: Decimal | None
    due_quarter: str | None
    late: bool | None
    source_file: str
    source_line: int


@dataclass(frozen=True)
class Statement:
    distributor_id: str
    distributor_name: str | None
    currency: str
    quarter: str
    final: bool
    as_of: dt.date
    statement_date: dt.date
    credit_total: Decimal
    credited: list[ClaimLine] = field(default_factory=list)
    held: list[ClaimLine] = field(default_factory=list)
    rejected: list[ClaimLine] = field(default_factory=list)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def statement_file_name(distributor_id: str) -> str:
    """A file name that stays inside the statements directory whatever the id holds."""
    if _SAFE_NAME.match(distributor_id) and ".." not in distributor_id:
        return f"{distributor_id}.xlsx"
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", distributor_id).strip("._")[:60] or "distributor"
    digest = hashlib.sha256(distributor_id.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{readable}-{digest}.xlsx"


def _money(value: Decimal | None) -> float | None:
    # Excel stores numbers as doubles; two decimals survive the round trip exactly as displayed.
    return None if value is None else float(value)


def build_statement(statement: Statement) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    created = dt.datetime.combine(statement.statement_date, dt.time(0))
    workbook.set_properties(
        {
            "title": f"Credit statement {statement.quarter} {statement.distributor_id}",
            "created": created,
        }
    )
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    draft = workbook.add_format({"bold": True, "font_size": 14, "font_color": "#C00000"})
    money = workbook.add_format({"num_format": "#,##0.00"})
    bold_money = workbook.add_format({"num_format": "#,##0.00", "bold": True})
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})

    summary = workbook.add_worksheet("Summary")
    summary.set_column(0, 0, 22)
    summary.set_column(1, 1, 34)
    summary.write_string(0, 0, "Credit statement", title)
    summary.write_string(0, 1, "FINAL" if statement.final else "DRAFT", title if statement.final else draft)
    rows: list[tuple[str, object, object]] = [
        ("Distributor", statement.distributor_id, None),
        ("Distributor name", statement.distributor_name or "", None),
        ("Quarter", statement.quarter, None),
        ("Status", "FINAL" if statement.final else "DRAFT", None),
        ("As of", statement.as_of, date),
        ("Statement date", statement.statement_date, date),
        ("Currency", statement.currency, None),
        ("Credited claims", len(statement.credited), None),
        ("Credit total", statement.credit_total, bold_money),
        ("Held claims", len(statement.held), None),
        ("Rejected claims", len(statement.rejected), None),
    ]
    for row, (label, value, cell_format) in enumerate(rows, start=2):
        summary.write_string(row, 0, label, bold)
        _write(summary, row, 1, value, cell_format)
    if not statement.final:
        summary.write_string(len(rows) + 3, 0, "DRAFT: figures may change until the quarter is closed.", draft)

    line_columns = {
        "Credited": [
            ("RMA number", 14), ("Fulfilled on", 12), ("Defective serial", 18), ("Replacement serial", 20),
            ("Replacement SKU", 16), ("Claimed amount", 15), ("Credit amount", 15), ("Variance", 12),
            ("Due quarter", 12), ("Late", 6), ("Source file", 48), ("Source line", 11),
        ],
        "Held": [
            ("RMA number", 14), ("Fulfilled on", 12), ("Reason", 22), ("Explanation", 50),
            ("Defective serial", 18), ("Replacement serial", 20), ("Claimed amount", 15),
            ("Source file", 48), ("Source line", 11),
        ],
    }
    line_columns["Rejected"] = line_columns["Held"]
    for sheet_name, lines in (("Credited", statement.credited), ("Held", statement.held), ("Rejected", statement.rejected)):
        sheet = workbook.add_worksheet(sheet_name)
        for column, (heading, width) in enumerate(line_columns[sheet_name]):
            sheet.write_string(0, column, heading, bold)
            sheet.set_column(column, column, width)
        sheet.freeze_panes(1, 0)
        for row, line in enumerate(lines, start=1):
            if sheet_name == "Credited":
                values = [
                    (line.rma_number, None), (line.fulfilled_on, date), (line.defective_serial, None),
                    (line.replacement_serial, None), (line.replacement_sku, None),
                    (line.claimed_amount, money), (line.credit_amount, money), (line.amount_variance, money),
                    (line.due_quarter, None), ("yes" if line.late else "no", None),
                    (line.source_file, None), (line.source_line, None),
                ]
            else:
                values = [
                    (line.rma_number, None), (line.fulfilled_on, date), (line.reason, None),
                    (RULE_BY_REASON[line.reason].meaning, None), (line.defective_serial, None),
                    (line.replacement_serial, None), (line.claimed_amount, money),
                    (line.source_file, None), (line.source_line, None),
                ]
            for column, (value, cell_format) in enumerate(values):
                _write(sheet, row, column, value, cell_format)
    workbook.close()
    return buffer.getvalue()


def _write(sheet, row: int, column: int, value: object, cell_format) -> None:
    """Write by Python type; text always as a string cell, never a formula."""
    if value is None:
        return
    if isinstance(value, Decimal):
        sheet.write_number(row, column, _money(value), cell_format)
    elif isinstance(value, bool):
        sheet.write_string(row, column, "yes" if value else "no", cell_format)
    elif isinstance(value, int):
        sheet.write_number(row, column, value, cell_format)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, column, dt.datetime.combine(value, dt.time(0)), cell_format)
    else:
        sheet.write_string(row, column, str(value), cell_format)
