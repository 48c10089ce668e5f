"""The reconcile asset's previews: what ops see for a quarter in the Dagster UI."""

import datetime as dt
from decimal import Decimal

from assets.reconcile.defs import _PREVIEWS


def preview_rows(con, table):
    _, sql = _PREVIEWS[table]
    return con.execute(sql, {"quarter": "2026-Q2"}).fetchall()


def test_accrued_liability_is_the_credit_value_of_priced_held_claims(example_q2):
    rows = {row[0]: row for row in preview_rows(example_q2, "distributor_credits")}
    # NORTHSTAR holds two ROUTER-X1 claims at 120.00; EUROPA-1's held claim has no EUR price.
    assert (str(rows["NORTHSTAR"][5]), str(rows["EUROPA-1"][5])) == ("240.00", "0.00")  # exact, two places


def test_sla_preview_shows_days_left_and_days_late(example_q2):
    rows = {row[0]: row for row in preview_rows(example_q2, "sla_status")}
    assert rows["R26-0123"][1:5] == ("at_risk", dt.date(2026, 7, 1), 1, 0)
    assert rows["R26-0120"][1] == "breached" and rows["R26-0120"][4] == 5


def test_rejections_by_reason(example_q2):
    rows = preview_rows(example_q2, "claim_outcomes")
    assert ("held", "AWAITING_RETURN", "USD", 1, Decimal("120.00")) in rows
    # One row per currency: amounts of two currencies are never added up.
    expected = example_q2.execute(
        """SELECT outcome, reason, currency, count(*), sum(claimed_amount) FROM claim_outcomes
        WHERE quarter = '2026-Q2' AND outcome <> 'credited' GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    assert sorted(rows, key=str) == sorted(expected, key=str)
    assert len({row[2] for row in rows}) > 1
    assert all(row[0] != "credited" for row in rows)


def test_figures_for_the_plots_are_per_currency(example_q2):
    from assets.reconcile.defs import _figures

    credits = {
        name: value.value for name, value in _figures(example_q2, "distributor_credits", "2026-Q2").items()
    }
    assert credits == {
        "credit_total_EUR": 0.0,
        "held_value_EUR": 0.0,
        "credit_total_USD": 169.99,
        "held_value_USD": 240.0,
    }
    sla = {name: value.value for name, value in _figures(example_q2, "sla_status", "2026-Q2").items()}
    assert sla["breached_count"] == 1 and sla["at_risk_count"] == 1
