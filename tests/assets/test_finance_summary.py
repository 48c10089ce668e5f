import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from assets.finance_summary import build_finance_summary
from assets.rules import RunParameters, reconcile_quarter
from assets.staging import SOURCES, stage_source
from pipelines.quarters import Quarter

EXAMPLE_DATA = Path(__file__).parents[1] / "fixtures/example/data"


@pytest.fixture
def summary_bytes(con) -> bytes:
    for name in ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports"):
        stage_source(con, EXAMPLE_DATA, SOURCES[name])
    reconcile_quarter(con, RunParameters(Quarter(2026, 2), dt.date(2026, 6, 30)))
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
