"""The reconcile asset's previews: what ops see for a quarter in the Dagster UI."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from assets.reconciliation import _PREVIEWS
from assets.rules import RunParameters, reconcile_quarter
from assets.staging import SOURCES, stage_source
from pipelines.quarters import Quarter

EXAMPLE_DATA = Path(__file__).parents[1] / "fixtures/example/data"


@pytest.fixture
def warehouse(con):
    for name in ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports"):
        stage_source(con, EXAMPLE_DATA, SOURCES[name])
    reconcile_quarter(con, RunParameters(Quarter(2026, 2), dt.date(2026, 6, 30)))
    return con


def preview_rows(con, table):
    _, sql = _PREVIEWS[table]
    return con.execute(sql, ["2026-Q2"] * sql.count("?")).fetchall()


def test_accrued_liability_is_the_credit_value_of_priced_held_claims(warehouse):
    rows = {row[0]: row for row in preview_rows(warehouse, "distributor_credits")}
    # NORTHSTAR holds two ROUTER-X1 claims at 120.00; EUROPA-1's held claim has no EUR price.
    assert rows["NORTHSTAR"][5] == Decimal("240.00")
    assert rows["EUROPA-1"][5] == Decimal("0.00")


def test_sla_preview_shows_days_left_and_days_late(warehouse):
    rows = {row[0]: row for row in preview_rows(warehouse, "sla_status")}
    assert rows["R26-0123"][1:5] == ("at_risk", dt.date(2026, 7, 1), 1, 0)
    assert rows["R26-0120"][1] == "breached" and rows["R26-0120"][4] == 5


def test_rejections_by_reason(warehouse):
    rows = preview_rows(warehouse, "claim_outcomes")
    assert ("held", "AWAITING_RETURN", 1, Decimal("120.00")) in rows
    assert all(row[0] != "credited" for row in rows)
