import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from assets.statements import finance_summary
from assets.statements.finance_summary import build_finance_summary
from core.quarters import Quarter


@pytest.fixture
def summary_bytes(example_q2) -> bytes:
    con = example_q2
    first = build_finance_summary(con, Quarter(2026, 2), final=True, as_of=dt.date(2026, 6, 30))
    assert first == build_finance_summary(con, Quarter(2026, 2), final=True, as_of=dt.date(2026, 6, 30))
    return first


def test_sheets_totals_and_accrued_liability(summary_bytes):
    workbook = openpyxl.load_workbook(io.BytesIO(summary_bytes))
    assert workbook.sheetnames == ["Distributors", "Charts", "Reasons", "Late credits", "SLA"]
    rows = list(workbook["Distributors"].iter_rows(min_row=4, values_only=True))
    northstar = next(row for row in rows if row[0] == "NORTHSTAR")
    assert Decimal(str(northstar[4])) == Decimal("169.99") and northstar[6] == 240
    sla = {row[0]: row for row in workbook["SLA"].iter_rows(min_row=4, values_only=True)}
    assert sla["R26-0120"][1:3] == ("breached", dt.datetime(2026, 4, 20, 8, 0))


def test_a_native_excel_chart_per_currency_each_on_its_own_page(example_q2):
    con = example_q2
    currencies = con.execute(
        "SELECT DISTINCT currency FROM distributor_credits WHERE quarter = '2026-Q2' ORDER BY 1"
    ).fetchall()
    assert len(currencies) > 1
    summary = build_finance_summary(con, Quarter(2026, 2), final=True, as_of=dt.date(2026, 6, 30))
    archive = zipfile.ZipFile(io.BytesIO(summary))
    charts = sorted(name for name in archive.namelist() if name.startswith("xl/charts/chart"))
    assert len(charts) == len(currencies)
    for chart, (currency,) in zip(charts, currencies, strict=True):
        xml = archive.read(chart).decode()
        assert f"2026-Q2, {currency}<" in xml  # the title
        # Its series read only the rows of its currency.
        rows = {
            row[0]
            for row in openpyxl.load_workbook(io.BytesIO(summary))["Distributors"].iter_rows(
                min_row=4, values_only=True
            )
            if row[2] == currency
        }
        first, last = re.search(r"Distributors!\$A\$(\d+)(?::\$A\$(\d+))?<", xml).groups()
        assert int(last or first) - int(first) + 1 == len(rows)
    charts_sheet = openpyxl.load_workbook(io.BytesIO(summary))["Charts"]
    assert len(charts_sheet.row_breaks.brk) == len(currencies) - 1


def test_sums_of_money_are_per_currency(summary_bytes, example_q2):
    header, *reasons = openpyxl.load_workbook(io.BytesIO(summary_bytes))["Reasons"].iter_rows(
        min_row=3, values_only=True
    )
    assert header == ("outcome", "reason", "currency", "claims", "claimed")
    expected = example_q2.execute(
        """SELECT outcome, reason, currency, count(*), sum(claimed_amount) FROM claim_outcomes
        WHERE quarter = '2026-Q2' AND outcome <> 'credited' GROUP BY ALL ORDER BY outcome, reason, currency"""
    ).fetchall()
    assert [(o, r, c, n, None if m is None else Decimal(str(m))) for o, r, c, n, m in reasons] == expected


def test_prints_landscape_one_page_wide_with_columns_as_wide_as_their_values(summary_bytes):
    workbook = openpyxl.load_workbook(io.BytesIO(summary_bytes))
    for sheet in workbook.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.fitToWidth or 1, sheet.page_setup.fitToHeight) == (1, 0)  # 1 is the default
        assert sheet.oddHeader.right.text == "&A"  # each printed page names its sheet
    reasons = workbook["Reasons"]
    longest = max(len(row[1]) for row in reasons.iter_rows(min_row=4, values_only=True))
    assert reasons.column_dimensions["B"].width >= longest
    assert reasons.print_title_rows == "$3:$3"


def test_a_table_longer_than_a_sheet_goes_on_in_numbered_sheets(example_q2, monkeypatch):
    con = example_q2
    quarter, as_of = Quarter(2026, 2), dt.date(2026, 6, 30)
    whole = openpyxl.load_workbook(io.BytesIO(build_finance_summary(con, quarter, final=True, as_of=as_of)))
    sla_rows = list(whole["SLA"].iter_rows(min_row=4, values_only=True))
    assert len(sla_rows) >= 3  # enough to need three sheets of two rows

    monkeypatch.setattr(finance_summary, "SHEET_ROWS", 5)  # a title, a blank row, a header and two rows
    split = openpyxl.load_workbook(io.BytesIO(build_finance_summary(con, quarter, final=True, as_of=as_of)))
    parts = -(-len(sla_rows) // 2)
    sla_sheets = ["SLA"] + [f"SLA ({index})" for index in range(2, parts + 1)]
    assert [name for name in split.sheetnames if name.startswith("SLA")] == sla_sheets
    continued = []
    for index, name in enumerate(sla_sheets, start=1):
        sheet = split[name]
        assert sheet["A1"].value.endswith(f", part {index} of {parts}")
        assert [cell.value for cell in sheet[3]] == [cell.value for cell in whole["SLA"][3]]
        assert sheet.max_row <= 5
        continued += list(sheet.iter_rows(min_row=4, values_only=True))
    assert continued == sla_rows


def test_the_late_credits_sheet_lists_the_late_credits_only(example_q2):
    con = example_q2
    # One of NORTHSTAR's credits made late (due in 2026-Q1), beside its credit that is on time.
    late_line = con.execute(
        """UPDATE claim_outcomes SET late = true, due_quarter = '2026-Q1'
        WHERE quarter = '2026-Q2' AND rma_number = 'R26-0101' AND outcome = 'credited'
        RETURNING source_file, source_line, credit_amount"""
    ).fetchall()
    assert len(late_line) == 1
    on_time = con.execute(
        "SELECT count(*) FROM claim_outcomes WHERE quarter = '2026-Q2' AND outcome = 'credited' AND NOT late"
    ).fetchone()[0]
    assert on_time >= 1
    workbook = openpyxl.load_workbook(
        io.BytesIO(build_finance_summary(con, Quarter(2026, 2), final=True, as_of=dt.date(2026, 6, 30)))
    )
    header, *late = workbook["Late credits"].iter_rows(min_row=3, values_only=True)
    assert [(row[header.index("rma number")], row[header.index("due quarter")]) for row in late] == [
        ("R26-0101", "2026-Q1")
    ]
    distributors = {row[0]: row for row in workbook["Distributors"].iter_rows(min_row=4, values_only=True)}
    late_total = Decimal(str(distributors["NORTHSTAR"][9])).quantize(Decimal("0.01"))
    assert distributors["NORTHSTAR"][8] == 1 and late_total == late_line[0][2]
