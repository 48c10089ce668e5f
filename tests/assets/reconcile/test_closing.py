import datetime as dt

import pytest

from assets.reconcile.closing import RunRefused, check_run_allowed, latest_closed_quarter
from core.quarters import Quarter
from core.warehouse import prepare

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def warehouse(con):
    prepare(con)
    con.execute(
        "INSERT INTO quarter_runs VALUES ('2026-Q2', 'closed', '2026-06-30', NULL), "
        "('2026-Q3', 'draft', '2026-09-30', NULL)"
    )
    return con


def test_latest_closed(warehouse):
    assert latest_closed_quarter(warehouse) == Quarter(2026, 2)


@pytest.mark.parametrize("close", [False, True])
def test_open_quarter_before_the_latest_closed_is_refused(warehouse, close):
    with pytest.raises(RunRefused, match="2026-Q2 is already closed"):
        check_run_allowed(warehouse, Quarter(2026, 1), dt.date(2026, 3, 31), close, TODAY)


@pytest.mark.parametrize("close", [False, True])
def test_closed_quarter_may_always_run_again(warehouse, close):
    check_run_allowed(warehouse, Quarter(2026, 2), dt.date(2026, 6, 30), close, TODAY)


def test_later_quarters_run_and_close(warehouse):
    check_run_allowed(warehouse, Quarter(2026, 3), dt.date(2026, 9, 30), True, TODAY)
    check_run_allowed(warehouse, Quarter(2026, 4), dt.date(2026, 12, 31), False, TODAY)


def test_closing_before_the_as_of_day_is_over_is_refused(warehouse):
    with pytest.raises(RunRefused, match="not over yet"):
        check_run_allowed(warehouse, Quarter(2026, 4), dt.date(2026, 12, 31), True, TODAY)
