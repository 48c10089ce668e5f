import datetime as dt

import pytest

from assets.reconcile.closing import changed_sealed_line
from core.quarter_state import RunRefused, check_run_allowed, latest_closed_quarter
from core.quarters import Quarter
from core.warehouse import prepare

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def warehouse(con):
    prepare(con)
    con.execute(
        "INSERT INTO quarter_runs (quarter, state, as_of) VALUES ('2026-Q2', 'closed', '2026-06-30'), "
        "('2026-Q3', 'draft', '2026-09-30')"
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


# Sealed claim lines (rulebook §5): the worked example with 2026-Q2 closed, then its reports change.
NORTHSTAR_APRIL = "inbound/fulfillment_reports/NORTHSTAR/2026-04.csv"


@pytest.fixture
def closed_q2(example_q2):
    example_q2.execute("UPDATE quarter_runs SET state = 'closed' WHERE quarter = '2026-Q2'")
    return example_q2


def test_unchanged_reports_keep_their_sealed_lines(closed_q2):
    assert changed_sealed_line(closed_q2) is None


def test_a_line_inserted_above_sealed_claims_stops_the_run(closed_q2):
    # As staging sees the file after `sed -i '1a ...'`: every claim one line further down.
    closed_q2.execute(
        "UPDATE stg_fulfillment_reports SET source_line = source_line + 1 WHERE source_file = ?",
        [NORTHSTAR_APRIL],
    )
    closed_q2.execute(
        "INSERT INTO stg_fulfillment_reports BY NAME "
        "SELECT ? AS source_file, 2 AS source_line, 1 AS line_span, "
        "'NORTHSTAR' AS distributor_id, 'R26-0099' AS rma_number, DATE '2026-05-15' AS fulfilled_on, "
        "'SN-NEW' AS defective_serial, 'SN-RNEW' AS replacement_serial",
        [NORTHSTAR_APRIL],
    )
    message = changed_sealed_line(closed_q2)
    assert message.startswith(
        f"{NORTHSTAR_APRIL} line 2 held a claim closed in 2026-Q2 (R26-0101 fulfilled 2026-04-05)"
    )
    assert "now holds R26-0099 fulfilled 2026-05-15" in message and "more sealed line(s) changed" in message


def test_a_sealed_line_gone_while_its_file_is_there_stops_the_run(closed_q2):
    closed_q2.execute(
        "DELETE FROM stg_fulfillment_reports WHERE source_file = ? AND rma_number = 'R26-0106'",
        [NORTHSTAR_APRIL],
    )
    assert "now holds no claim (the line is gone or in quarantine)" in changed_sealed_line(closed_q2)


def test_held_claims_are_not_sealed_and_appended_lines_are_new_claims(closed_q2):
    closed_q2.execute(
        "UPDATE stg_fulfillment_reports SET fulfilled_on = fulfilled_on + 1 WHERE rma_number = 'R26-0103'"
    )
    closed_q2.execute(
        "INSERT INTO stg_fulfillment_reports BY NAME "
        "SELECT ? AS source_file, 99 AS source_line, 1 AS line_span, "
        "'NORTHSTAR' AS distributor_id, 'R26-0099' AS rma_number, DATE '2026-05-15' AS fulfilled_on, "
        "'SN-NEW' AS defective_serial, 'SN-RNEW' AS replacement_serial",
        [NORTHSTAR_APRIL],
    )
    assert changed_sealed_line(closed_q2) is None


def test_a_removed_file_changes_nothing(closed_q2):
    for table in ("stg_fulfillment_reports", "ingested_files"):
        closed_q2.execute(f"DELETE FROM {table} WHERE source_file = ?", [NORTHSTAR_APRIL])
    assert changed_sealed_line(closed_q2) is None


def test_sealed_lines_compare_serials_as_staging_normalises_them(closed_q2):
    # A warehouse staged before zero-width characters were stripped keeps them in its closed rows.
    closed_q2.execute(
        "UPDATE claim_outcomes SET defective_serial = defective_serial || '\u200b ' "
        "WHERE rma_number = 'R26-0101'"
    )
    assert changed_sealed_line(closed_q2) is None
