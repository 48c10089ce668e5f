import datetime as dt
import io
import zipfile
from decimal import Decimal
import openpyxl
import pytest

from assets.finance_summary import build_finance_summary
from pipelines.quarters import Quarter

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
