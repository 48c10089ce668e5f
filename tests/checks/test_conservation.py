"""Rows read = rows loaded + rows quarantined, per input file."""

import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from assets.staging import SOURCES, stage_source
from checks.conservation import CONSERVATION_CHECKS
from tests.conftest import EXAMPLE_DATA

ROWS_CHECKS = {check.check_specs_by_output_name["result"].asset_key.path[-1]: check for check in CONSERVATION_CHECKS[:-1]}


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        for name in ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports"):
            stage_source(con, EXAMPLE_DATA, SOURCES[name])
    return path


def run_check(warehouse, source: str):
    return ROWS_CHECKS[source](duckdb=DuckDBResource(database=str(warehouse)))


def test_every_source_adds_up(warehouse):
    for source in SOURCES:
        result = run_check(warehouse, source)
        assert result.passed, source
        assert result.metadata["rows_read"].value == result.metadata["rows_loaded"].value + result.metadata["rows_quarantined"].value


def test_a_row_moved_to_another_file_fails_though_the_totals_still_add_up(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        moved_from = con.execute("SELECT min(source_file) FROM stg_rma_cases").fetchone()[0]
        con.execute(
            "UPDATE stg_rma_cases SET source_file = 'elsewhere.csv' WHERE rowid = (SELECT min(rowid) FROM stg_rma_cases)"
        )
    result = run_check(warehouse, "rma_cases")
    assert not result.passed
    assert result.metadata["rows_read"].value == result.metadata["rows_loaded"].value + result.metadata["rows_quarantined"].value
    assert "elsewhere.csv" in result.metadata["files_not_adding_up"].value
    assert moved_from in result.metadata["files_not_adding_up"].value
