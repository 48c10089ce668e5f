"""Rows read = rows loaded + rows quarantined, per input file; every claim in scope has one outcome."""

import datetime as dt

import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from assets.ingest.sources import SOURCES
from assets.ingest.staging import stage_source
from assets.reconcile.rules import RunParameters, reconcile_quarter
from checks.conservation import claims_conservation
from checks.defs import CONSERVATION_CHECKS
from core.quarters import Quarter
from tests.conftest import EXAMPLE_DATA

ROWS_CHECKS = {
    spec.asset_key.path[-1]: check for check in CONSERVATION_CHECKS[:-1] for spec in check.check_specs
}


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        for source in SOURCES.values():
            stage_source(con, EXAMPLE_DATA, source)
    return path


def run_check(warehouse, source: str):
    check = ROWS_CHECKS[source]
    results = check(duckdb=DuckDBResource(database=str(warehouse)))
    if len(list(check.check_specs)) == 1:
        return results
    return next(result for result in results if result.asset_key.path[-1] == source)  # checked together


def test_every_source_has_its_check():
    assert set(ROWS_CHECKS) == set(SOURCES)


def test_every_source_adds_up(warehouse):
    for source in SOURCES:
        result = run_check(warehouse, source)
        assert result.passed, source
        assert (
            result.metadata["rows_read"].value
            == result.metadata["rows_loaded"].value + result.metadata["rows_quarantined"].value
        )


def test_a_row_moved_to_another_file_fails_though_the_totals_still_add_up(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        moved_from = con.execute("SELECT min(source_file) FROM stg_rma_cases").fetchone()[0]
        con.execute(
            "UPDATE stg_rma_cases SET source_file = 'elsewhere.csv' "
            "WHERE rowid = (SELECT min(rowid) FROM stg_rma_cases)"
        )
    result = run_check(warehouse, "rma_cases")
    assert not result.passed
    assert (
        result.metadata["rows_read"].value
        == result.metadata["rows_loaded"].value + result.metadata["rows_quarantined"].value
    )
    assert "elsewhere.csv" in result.metadata["files_not_adding_up"].value
    assert moved_from in result.metadata["files_not_adding_up"].value


def test_the_claims_of_a_reconciled_quarter_are_conserved(example_q2):
    passed, figures = claims_conservation(example_q2, "2026-Q2")
    assert passed
    assert figures["claims_in_scope"] == figures["claim_outcomes"] == figures["distinct_claims"] > 0


def test_a_lost_outcome_fails(example_q2):
    example_q2.execute("DELETE FROM claim_outcomes WHERE rowid = (SELECT min(rowid) FROM claim_outcomes)")
    passed, figures = claims_conservation(example_q2, "2026-Q2")
    assert not passed and figures["claims_in_scope"] == figures["claim_outcomes"] + 1


def test_credits_that_do_not_add_up_fail_and_name_the_distributor(example_q2):
    example_q2.execute(
        "UPDATE distributor_credits SET credit_total = credit_total + 0.01 WHERE distributor_id = 'NORTHSTAR'"
    )
    passed, figures = claims_conservation(example_q2, "2026-Q2")
    assert not passed and "NORTHSTAR" in figures["distributors_not_adding_up"]


def test_claims_decided_in_a_closed_quarter_leave_the_next_quarters_scope(example_q2):
    example_q2.execute("UPDATE quarter_runs SET state = 'closed' WHERE quarter = '2026-Q2'")
    reconcile_quarter(example_q2, RunParameters(Quarter(2026, 3), dt.date(2026, 9, 30)))
    passed, figures = claims_conservation(example_q2, "2026-Q3")
    decided = example_q2.execute(
        "SELECT count(*) FROM claim_outcomes WHERE quarter = '2026-Q2' AND outcome <> 'held'"
    ).fetchone()[0]
    claims = example_q2.execute(
        "SELECT count(*) FROM stg_fulfillment_reports WHERE fulfilled_on <= DATE '2026-09-30'"
    ).fetchone()[0]
    assert passed and decided > 0
    assert figures["claims_in_scope"] == claims - decided == figures["claim_outcomes"]


def test_a_line_no_record_accounts_for_fails_though_the_rows_add_up(warehouse):
    report = "inbound/fulfillment_reports/NORTHSTAR/2026-04.csv"
    with duckdb.connect(str(warehouse)) as con:
        lines, other, spans = con.execute(
            """SELECT lines, header_lines + blank_lines,
                (SELECT sum(line_span) FROM stg_fulfillment_reports WHERE source_file = $f)
            FROM ingested_files WHERE source_file = $f""",
            {"f": report},
        ).fetchone()
        assert lines == other + spans  # every physical line of the example report is accounted for
        # As if the reader had dropped a line inside a record: the record count still adds up.
        con.execute(
            "UPDATE stg_fulfillment_reports SET line_span = 0 WHERE source_file = ? AND source_line = 2",
            [report],
        )
    result = run_check(warehouse, "fulfillment_reports")
    assert not result.passed
    assert (
        result.metadata["rows_read"].value
        == result.metadata["rows_loaded"].value + result.metadata["rows_quarantined"].value
    )
    assert report in result.metadata["files_not_adding_up"].value
