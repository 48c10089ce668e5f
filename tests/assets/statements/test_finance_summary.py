import datetime as dt
import io
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
    assert workbook.sheetnames == ["Distributors", "Reasons", "Late credits", "SLA"]
    rows = list(workbook["Distributors"].iter_rows(min_row=4, values_only=True))
    northstar = next(row for row in rows if row[0] == "NORTHSTAR")
    assert Decimal(str(northstar[4])) == Decimal("169.99") and northstar[6] == 240
    sla = {row[0]: row for row in workbook["SLA"].iter_rows(min_row=4, values_only=True)}
    assert sla["R26-0120"][1:3] == ("breached", dt.datetime(2026, 4, 20, 8, 0))


def test_has_a_native_excel_chart(summary_bytes):
    names = zipfile.ZipFile(io.BytesIO(summary_bytes)).namelist()
    assert "xl/charts/chart1.xml" in names


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
