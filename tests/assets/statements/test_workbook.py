"""Statement workbooks: sheets, totals, money as numbers, text never a formula, stable bytes."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from assets.ingest.reference import Vendor
from assets.reconcile.rules import CLAIM_RULES
from assets.statements.workbook import ClaimLine, Statement, build_statement, statement_file_name


def line(rma: str, reason: str, credit: str | None = None, serial: str = "SN-R") -> ClaimLine:
    amount = Decimal(credit) if credit else None
    return ClaimLine(
        rma,
        dt.date(2026, 5, 1),
        reason,
        "SN-D",
        serial,
        "SKU",
        Decimal("10.00"),
        amount,
        amount and Decimal("10.00") - amount,
        "2026-Q2" if credit else None,
        False if credit else None,
        "inbound/fulfillment_reports/D1/a.csv",
        2,
    )


def statement(final: bool = False, **overrides) -> Statement:
    values = {
        "distributor_id": "D1",
        "distributor_name": "=cmd|' /C calc'!A0",
        "currency": "USD",
        "quarter": "2026-Q2",
        "final": final,
        "as_of": dt.date(2026, 6, 30),
        "statement_date": dt.date(2026, 6, 30),
        "credit_total": Decimal("0.30"),
        "credited": [line("R-1", "CREDITED", "0.10"), line("R-2", "CREDITED", "0.20", serial="@SUM(1+1)")],
        "held": [line("R-3", "NO_PRICE")],
        "rejected": [line("R-4", "UNKNOWN_RMA", serial="+1-2")],
    }
    values.update(overrides)
    return Statement(**values)


def load(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content))


def test_sheets_and_summary():
    workbook = load(build_statement(statement()))
    assert workbook.sheetnames == ["Summary", "Credited", "Held", "Rejected"]
    summary = {r[0]: r[1] for r in workbook["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Status"] == "DRAFT"
    assert summary["Credited claims"] == 2 and summary["Held claims"] == 1 and summary["Rejected claims"] == 1


def test_final_statement_says_final():
    summary = load(build_statement(statement(final=True)))["Summary"]
    assert summary["B1"].value == "FINAL"


def test_money_cells_are_numbers_with_two_decimals_and_total_matches_lines():
    workbook = load(build_statement(statement()))
    credited = workbook["Credited"]
    *lines, total_row = credited.iter_rows(min_row=2)
    amounts = [row[6] for row in lines]
    assert all(cell.data_type == "n" and cell.number_format == "#,##0.00" for cell in amounts)
    lines_total = sum(Decimal(str(cell.value)) for cell in amounts)
    summary = {r[0].value: r[1] for r in workbook["Summary"].iter_rows() if r[0].value}
    assert Decimal(str(summary["Credit total"].value)) == lines_total == Decimal("0.30")
    assert summary["Credit total"].data_type == "n"
    # The Total row under the lines: the sums of the money columns, in bold, outside the filter.
    assert total_row[0].value == "Total" and total_row[0].font.b
    assert Decimal(str(total_row[6].value)) == lines_total and total_row[6].number_format == "#,##0.00"
    assert credited.auto_filter.ref == f"A1:L{len(lines) + 1}"


def test_every_line_sheet_ends_in_a_total_row_even_when_empty():
    workbook = load(build_statement(statement()))
    for sheet_name in ("Held", "Rejected"):
        rows = list(workbook[sheet_name].iter_rows(min_row=2, values_only=True))
        header = [cell.value for cell in workbook[sheet_name][1]]
        claimed = header.index("Claimed amount")
        assert rows[-1][0] == "Total"
        expected = sum((Decimal(str(row[claimed] or 0)) for row in rows[:-1]), Decimal("0"))
        assert Decimal(str(rows[-1][claimed])) == expected
    empty = load(build_statement(statement(credited=[], credit_total=Decimal("0.00"))))["Credited"]
    assert [row[0] for row in empty.iter_rows(min_row=2, values_only=True)] == ["Total"]


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "@SUM(1+1)", "+1-2"])
def test_input_text_is_never_a_formula(text):
    workbook = load(build_statement(statement()))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value == text]
    assert cells and all(cell.data_type == "s" for cell in cells)
    assert not [
        cell for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.data_type == "f"
    ]


def test_same_inputs_give_the_same_bytes():
    assert build_statement(statement(final=True)) == build_statement(statement(final=True))


def test_held_and_rejected_lines_carry_the_reason_in_words():
    rejected = list(load(build_statement(statement()))["Rejected"].iter_rows(min_row=2, values_only=True))
    assert rejected[0][2:4] == ("UNKNOWN_RMA", "No RMA case with this number")


@pytest.mark.parametrize(
    "distributor_id",
    [
        "../../etc/passwd",
        "a/b",
        "a\\b",
        "..",
        ".hidden",
        "Ünïcode Co.",
        "x" * 300,
        "CON",
        "nul",
        "Com1",
        "LPT9.x",
    ],
)
def test_file_names_cannot_escape_the_statements_directory(distributor_id):
    name = statement_file_name(distributor_id)
    assert "/" not in name and "\\" not in name and not name.startswith(".") and name.endswith(".xlsx")
    assert len(name) <= 100 and name != f"{distributor_id}.xlsx"  # sanitised, with a hash
    # Windows opens no file named like a device (CON, NUL, COM1, ...), whatever its extension.
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9"}
    assert statement_file_name(distributor_id) == name


def test_file_name_keeps_plain_ids():
    assert statement_file_name("NORTHSTAR") == "NORTHSTAR.xlsx"
    assert statement_file_name("EUROPA-1") == "EUROPA-1.xlsx"
    assert statement_file_name("a/b") != statement_file_name("a_b")


def test_summary_header_block_and_reason_legend():
    vendor = Vendor(
        "Acme & Co", "credits@acme.example", "1 Main St", phone="+1 555", tax_id="T-9", dispute_days=45
    )
    rows = list(
        load(
            build_statement(
                statement(
                    vendor=vendor,
                    distributor_address="2 Side Rd",
                    accrued_liability=Decimal("12.50"),
                    statement_date=dt.date(2026, 5, 31),
                )
            )
        )["Summary"].iter_rows(values_only=True)
    )
    labels = {row[0]: row[1] for row in rows if row[0]}
    assert labels["Vendor"] == "Acme & Co" and labels["Distributor"] == "D1" and labels["Currency"] == "USD"
    assert labels["Vendor address"] == "1 Main St" and labels["Vendor tax id"] == "T-9"
    assert labels["Vendor contact"] == "credits@acme.example · +1 555"
    assert labels["Distributor address"] == "2 Side Rd"
    assert labels["Statement date"] == dt.datetime(2026, 5, 31) and labels["As of"] == dt.datetime(
        2026, 6, 30
    )
    assert (
        labels["Value of held claims"] == 12.5 and labels["Credit memo"] == "given when the quarter is closed"
    )
    assert labels["Disputes"] == (
        "Dispute a line within 45 days of the statement date to credits@acme.example, "
        "quoting its source file and line."
    )
    assert labels["Credit terms"].startswith("Credits are applied to your account within 30 days")
    legend = {row[0]: (row[1], row[2]) for row in rows if row[0] in {rule.reason for rule in CLAIM_RULES}}
    assert len(legend) == 15 and legend["NO_PRICE"][0] == "held"


def test_line_sheets_have_filters_frozen_headers_and_print_setup():
    workbook = load(build_statement(statement()))
    for name in ("Credited", "Held", "Rejected"):
        sheet = workbook[name]
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
        assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$1"
        assert sheet.column_dimensions["A"].width > 10
