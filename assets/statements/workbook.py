"""One distributor's credit statement as XLSX bytes (rulebook §6).

XlsxWriter, not openpyxl, writes it: it takes the creation time from the document properties
(so equal inputs give equal bytes), and it can be told never to turn text into a formula, a
number or a link. The claim lines, the bulk of a big statement, are written as XML text by
`sheet_rows.py` and spliced in, with the formats XlsxWriter gave their columns.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

import xlsxwriter

from assets.ingest.reference import DEFAULT_CREDIT_TERMS, DEFAULT_DISPUTE_DAYS, Vendor
from assets.reconcile.rules import CLAIM_RULES, RULE_BY_REASON
from assets.statements.sheet_rows import SheetRows, SqlColumn, row_xml_sql, rows_xml, splice_rows, style_index

SHEETS = ("Summary", "Credited", "Held", "Rejected")
VENDOR_NOT_SET = "vendor not set"  # on drafts without reference/vendor.csv
LINE_SHEETS = {"Credited": "credited", "Held": "held", "Rejected": "rejected"}  # sheet -> claim outcome

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
    vendor: Vendor | None = None  # None: reference/vendor.csv not set (drafts only)
    distributor_address: str | None = None
    credit_memo: str | None = None  # FINAL statements with a credit
    accrued_liability: Decimal | None = None  # the value of the held claims that have a price
    # The line sheets' rows already written as XML (statement_files.py writes them in
    # DuckDB for big quarters), by sheet name; a sheet not given is written from its lines.
    line_rows: dict[str, SheetRows] = field(default_factory=dict)
    # The sums of those rows' money columns, by sheet name and field (TOTALLED_FIELDS).
    line_sums: dict[str, dict[str, Decimal | None]] = field(default_factory=dict)

    def lines(self, sheet_name: str) -> list[ClaimLine]:
        return getattr(self, LINE_SHEETS[sheet_name])

    def line_count(self, sheet_name: str) -> int:
        rows = self.line_rows.get(sheet_name)
        return len(self.lines(sheet_name)) if rows is None else rows.last_row - 1

    def total_row(self, sheet_name: str) -> tuple[object, ...]:
        """The sheet's last row: "Total" and the sum of each money column (0.00 when empty)."""
        if sheet_name in self.line_rows:
            sums = self.line_sums.get(sheet_name, {})
        else:
            lines = self.lines(sheet_name)
            sums = {
                name: sum((getattr(line, name) or Decimal(0) for line in lines), Decimal("0.00"))
                for name in TOTALLED_FIELDS
            }
        row: list[object] = []
        for column, (expression, _) in enumerate(LINE_SQL[sheet_name]):
            if expression in TOTALLED_FIELDS:
                row.append(sums.get(expression) or Decimal("0.00"))
            else:
                row.append("Total" if column == 0 else "")  # "": the row's top border runs across
        return tuple(row)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# Windows opens no file whose name before the first dot is a device, whatever follows.
_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"{port}{n}" for port in ("COM", "LPT") for n in range(10))}


def _device_name(name: str) -> bool:
    return name.split(".")[0].upper() in _DEVICE_NAMES


def statement_file_name(distributor_id: str) -> str:
    """A file name that stays inside the statements directory whatever the id holds."""
    if _SAFE_NAME.match(distributor_id) and ".." not in distributor_id and not _device_name(distributor_id):
        return f"{distributor_id}.xlsx"
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", distributor_id).strip("._")[:60] or "distributor"
    if _device_name(readable):
        readable = f"distributor_{readable}"
    digest = hashlib.sha256(distributor_id.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{readable}-{digest}.xlsx"


def remittance_file_name(distributor_id: str) -> str:
    """The remittance file beside the statement: the same name, ending in .csv."""
    return statement_file_name(distributor_id).removesuffix(".xlsx") + ".csv"


def _money(value: Decimal | None) -> float | None:
    # Excel stores numbers as doubles; two decimals survive the round trip exactly as displayed.
    return None if value is None else float(value)


LINE_COLUMNS = {  # (header, width, kind): kind picks the column's number format
    "Credited": [
        ("RMA number", 14, "text"),
        ("Fulfilled on", 12, "date"),
        ("Defective serial", 18, "text"),
        ("Replacement serial", 20, "text"),
        ("Replacement SKU", 16, "text"),
        ("Claimed amount", 15, "money"),
        ("Credit amount", 15, "money"),
        ("Variance", 12, "money"),
        ("Due quarter", 12, "text"),
        ("Late", 6, "text"),
        ("Source file", 48, "text"),
        ("Source line", 11, "text"),
    ],
    "Held": [
        ("RMA number", 14, "text"),
        ("Fulfilled on", 12, "date"),
        ("Reason", 22, "text"),
        ("Explanation", 50, "text"),
        ("Defective serial", 18, "text"),
        ("Replacement serial", 20, "text"),
        ("Claimed amount", 15, "money"),
        ("Source file", 48, "text"),
        ("Source line", 11, "text"),
    ],
}
LINE_COLUMNS["Rejected"] = LINE_COLUMNS["Held"]
# The same cells in SQL over claim_outcomes and the rules' `meaning`, as _line_values gives them:
# (expression, how rows_xml writes the value); source_line is an integer, so a number cell.
LINE_SQL = {
    "Credited": [
        ("rma_number", "text"),
        ("fulfilled_on", "date"),
        ("defective_serial", "text"),
        ("replacement_serial", "text"),
        ("replacement_sku", "text"),
        ("claimed_amount", "number"),
        ("credit_amount", "number"),
        ("amount_variance", "number"),
        ("due_quarter", "text"),
        ("CASE WHEN late THEN 'yes' ELSE 'no' END", "text"),
        ("source_file", "text"),
        ("source_line", "number"),
    ],
    "Held": [
        ("rma_number", "text"),
        ("fulfilled_on", "date"),
        ("reason", "text"),
        ("meaning", "text"),
        ("defective_serial", "text"),
        ("replacement_serial", "text"),
        ("claimed_amount", "number"),
        ("source_file", "text"),
        ("source_line", "number"),
    ],
}
LINE_SQL["Rejected"] = LINE_SQL["Held"]
TOTALLED_FIELDS = ("claimed_amount", "credit_amount", "amount_variance")  # summed on a sheet's Total row


def _line_values(sheet_name: str, line: ClaimLine) -> tuple[object, ...]:
    if sheet_name == "Credited":
        return (
            line.rma_number,
            line.fulfilled_on,
            line.defective_serial,
            line.replacement_serial,
            line.replacement_sku,
            line.claimed_amount,
            line.credit_amount,
            line.amount_variance,
            line.due_quarter,
            "yes" if line.late else "no",
            line.source_file,
            line.source_line,
        )
    return (
        line.rma_number,
        line.fulfilled_on,
        line.reason,
        RULE_BY_REASON[line.reason].meaning,
        line.defective_serial,
        line.replacement_serial,
        line.claimed_amount,
        line.source_file,
        line.source_line,
    )


def _printable(sheet, statement: Statement, sheet_name: str, landscape: bool) -> None:
    if landscape:
        sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)  # all columns on one page width
    sheet.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
    status = "FINAL" if statement.final else "DRAFT"
    sheet.set_header(
        f"&L{_header_text(vendor_name(statement.vendor))}"
        f"&C{_header_text(statement.distributor_id)} {statement.quarter}: {sheet_name}&R{status}"
    )
    sheet.set_footer("&LCredit statement&RPage &P of &N")


SUMMARY_VALUE_WIDTH, SUMMARY_MEANING_WIDTH = 40, 60  # characters


def _fit_height(sheet, row: int, text: str, width: int) -> None:
    """A row tall enough for its wrapped text (about 1.1 characters per unit of column width): no
    spreadsheet program computes that on opening, so without it the lines print over the next row."""
    lines = sum(max(1, math.ceil(len(part) / (width * 1.1))) for part in text.split("\n"))
    if lines > 1:
        sheet.set_row(row, 15 * lines)


def vendor_name(vendor: Vendor | None) -> str:
    return vendor.legal_name if vendor else VENDOR_NOT_SET


def _header_text(text: str) -> str:
    return text.replace("&", "&&")[:60]  # '&' starts a control code in Excel headers


def _dispute_text(vendor: Vendor | None) -> str:
    days = vendor.dispute_days if vendor else DEFAULT_DISPUTE_DAYS
    where = f" to {vendor.email}" if vendor else ""
    return (
        f"Dispute a line within {days} days of the statement date{where}, quoting its source file and line."
    )


def build_statement(statement: Statement) -> bytes:
    return _build(statement)[0]


def _build(statement: Statement) -> tuple[bytes, dict[str, list[int]]]:
    """The workbook's bytes, and the xf index of every line column by sheet."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    workbook.set_properties(
        {
            "title": f"Credit statement {statement.quarter} {statement.distributor_id}",
            "author": vendor_name(statement.vendor),
            "created": dt.datetime.combine(statement.statement_date, dt.time(0)),
        }
    )
    bold = workbook.add_format({"bold": True, "valign": "top"})  # top: beside wrapped text
    top = workbook.add_format({"valign": "top"})
    heading = workbook.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": True, "valign": "top"}
    )
    title = workbook.add_format({"bold": True, "font_size": 16})
    final_mark = workbook.add_format({"bold": True, "font_size": 16, "font_color": "#006100"})
    draft_mark = workbook.add_format({"bold": True, "font_size": 16, "font_color": "#C00000"})
    money = workbook.add_format({"num_format": "#,##0.00"})
    bold_money = workbook.add_format({"num_format": "#,##0.00", "bold": True, "top": 1})
    total_label = workbook.add_format({"bold": True, "top": 1})
    date = workbook.add_format({"num_format": "yyyy-mm-dd", "align": "left"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})

    summary = workbook.add_worksheet("Summary")
    summary.set_column(0, 0, 24)
    summary.set_column(1, 1, SUMMARY_VALUE_WIDTH)
    summary.set_column(2, 2, SUMMARY_MEANING_WIDTH)
    summary.write_string(0, 0, "Credit statement", title)
    summary.write_string(
        0, 1, "FINAL" if statement.final else "DRAFT", final_mark if statement.final else draft_mark
    )
    vendor = statement.vendor
    contact = " · ".join(part for part in (vendor.email, vendor.phone) if part) if vendor else ""
    if statement.credit_memo:
        memo = statement.credit_memo
    else:
        memo = "none: no credit this quarter" if statement.final else "given when the quarter is closed"
    rows: list[tuple[str, object, object]] = [
        ("Vendor", vendor_name(vendor), None),
        ("Vendor address", vendor.address if vendor else "", wrap),
        ("Vendor contact", contact, None),
        ("Vendor tax id", vendor.tax_id if vendor else "", None),
        ("Distributor", statement.distributor_id, None),
        ("Distributor name", statement.distributor_name or "", None),
        ("Distributor address", statement.distributor_address or "", wrap),
        ("Quarter", statement.quarter, None),
        ("Status", "FINAL" if statement.final else "DRAFT", None),
        ("As of", statement.as_of, date),
        ("Statement date", statement.statement_date, date),
        ("Currency", statement.currency, None),
        ("Credit memo", memo, bold),
        ("Credited claims", statement.line_count("Credited"), None),
        ("Credit total", statement.credit_total, bold_money),
        ("Held claims", statement.line_count("Held"), None),
        ("Value of held claims", statement.accrued_liability or Decimal("0.00"), money),
        ("Rejected claims", statement.line_count("Rejected"), None),
        ("Credit terms", vendor.credit_terms if vendor else DEFAULT_CREDIT_TERMS, wrap),
        ("Disputes", _dispute_text(vendor), wrap),
    ]
    for row, (label, value, cell_format) in enumerate(rows, start=2):
        summary.write_string(row, 0, label, bold)
        # Every row written, blank or not: formats are numbered in order of first use (line_styles).
        write_cell(summary, row, 1, "" if value is None else value, cell_format)
        if cell_format is wrap:
            _fit_height(summary, row, str(value or ""), SUMMARY_VALUE_WIDTH)
    row = len(rows) + 3
    if not statement.final:
        summary.write_string(row, 0, "DRAFT: figures may change until the quarter is closed.", draft_mark)
        row += 2
    summary.write_string(row, 0, "Reason codes", bold)
    row += 1
    for column, text in enumerate(("Reason", "Outcome", "Meaning")):
        summary.write_string(row, column, text, heading)
    for rule in CLAIM_RULES:
        row += 1
        summary.write_string(row, 0, rule.reason, top)
        summary.write_string(row, 1, rule.outcome, top)
        summary.write_string(row, 2, rule.meaning, wrap)
        _fit_height(summary, row, rule.meaning, SUMMARY_MEANING_WIDTH)
    _printable(summary, statement, "Summary", landscape=False)

    column_formats = {"text": None, "date": date, "money": money}
    for sheet_name in LINE_SHEETS:
        sheet = workbook.add_worksheet(sheet_name)
        columns = LINE_COLUMNS[sheet_name]
        for column, (text, width, kind) in enumerate(columns):
            sheet.write_string(0, column, text, heading)
            sheet.set_column(column, column, width, column_formats[kind])
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, statement.line_count(sheet_name), len(columns) - 1)  # not the Total row
        sheet.repeat_rows(0)
        _printable(sheet, statement, sheet_name, landscape=True)
    # The Total row's formats, numbered now: XlsxWriter writes only the formats numbered before close.
    total_styles = (style_index(total_label), style_index(bold_money))
    workbook.close()
    # The lines go in as XML text after XlsxWriter is done (sheet_rows.py: 10x faster).
    rows_by_sheet, styles_by_sheet = {}, {}
    for position, sheet_name in enumerate(LINE_SHEETS, start=2):
        styles = styles_by_sheet[sheet_name] = [
            style_index(column_formats[kind]) for _, _, kind in LINE_COLUMNS[sheet_name]
        ]
        if sheet_name in statement.line_rows:
            if styles != line_styles(statement.final)[sheet_name]:
                raise RuntimeError(
                    f"the {sheet_name} rows were written with other cell formats than this workbook's"
                )
            lines = statement.line_rows[sheet_name]
        else:
            values = (_line_values(sheet_name, line) for line in statement.lines(sheet_name))
            lines = SheetRows(*rows_xml(2, values, styles), len(styles))
        total_xml, total_row = rows_xml(
            lines.last_row + 1,
            [statement.total_row(sheet_name)],
            [total_styles[expression in TOTALLED_FIELDS] for expression, _ in LINE_SQL[sheet_name]],
        )
        rows_by_sheet[position] = SheetRows(lines.xml + total_xml, total_row, len(styles))
    return splice_rows(buffer.getvalue(), rows_by_sheet), styles_by_sheet


@functools.cache
def line_styles(final: bool) -> dict[str, list[int]]:
    """The xf index of every line column, by sheet. XlsxWriter numbers formats in order of
    first use, so an empty statement of the same kind tells them."""
    empty = Statement(
        "D", None, "USD", "2000-Q1", final, dt.date(2000, 1, 1), dt.date(2000, 1, 1), Decimal(0)
    )
    return _build(empty)[1]


def line_row_sql(sheet_name: str, final: bool, row_number: str) -> str:
    """SQL giving one line's `<row>` of `sheet_name`, byte for byte as build_statement writes it."""
    styles = line_styles(final)[sheet_name]
    columns = [
        SqlColumn(expression, kind, style)
        for (expression, kind), style in zip(LINE_SQL[sheet_name], styles, strict=True)
    ]
    return row_xml_sql(columns, row_number)


def write_cell(sheet, row: int, column: int, value: object, cell_format) -> None:
    """Write by Python type; text always as a string cell, never a formula."""
    if value is None:
        return
    if isinstance(value, Decimal):
        sheet.write_number(row, column, _money(value), cell_format)
    elif isinstance(value, bool):
        sheet.write_string(row, column, "yes" if value else "no", cell_format)
    elif isinstance(value, int):
        sheet.write_number(row, column, value, cell_format)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(row, column, value, cell_format)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, column, dt.datetime.combine(value, dt.time(0)), cell_format)
    else:
        sheet.write_string(row, column, str(value), cell_format)
