"""A failed blocking expectation stops the statements, and the CLI says which check and why."""

import pytest

import checks.defs
from checks.expectations.runner import Expectations
from checks.expectations.suites import ERROR, WARN, Expect, build_suites
from pipelines.cli import main
from tests.conftest import EXAMPLE_ARGS

COMMON = EXAMPLE_ARGS


def suites_with_extra(expect: Expect, suite_name: str):
    def patched(refs):
        suites = build_suites(refs)
        suites[suite_name].expectations.append(expect)
        return suites

    return patched


@pytest.mark.slow
def test_failed_error_expectation_blocks_statements(example_cwd, monkeypatch, capsys):
    impossible = Expect("ExpectColumnValuesToBeInSet", {"column": "currency", "value_set": ["XXX"]}, ERROR)
    monkeypatch.setattr(checks.defs, "build_suites", suites_with_extra(impossible, "claim_outcomes"))
    assert main(["run", "2026-Q2", *COMMON]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    # Progress lines come first; the reason is one last line.
    assert err[-1].startswith(
        "rma-recon: error: blocking check claim_outcomes_expectations failed on claim_outcomes"
    )
    assert "ExpectColumnValuesToBeInSet on currency" in err[-1]
    assert not any(line.split()[:2] == ["credit_statements", "done"] for line in err)
    assert not (example_cwd / "out/2026-Q2").exists()


@pytest.mark.slow
def test_failed_warn_expectation_lets_the_run_finish(example_cwd, monkeypatch):
    odd = Expect("ExpectColumnValuesToBeInSet", {"column": "currency", "value_set": ["XXX"]}, WARN)
    monkeypatch.setattr(checks.defs, "build_suites", suites_with_extra(odd, "claim_outcomes"))
    assert main(["run", "2026-Q2", *COMMON]) == 0
    assert sorted(p.name for p in (example_cwd / "out/2026-Q2").iterdir()) == [
        "EUROPA-1.xlsx",
        "NORTHSTAR.xlsx",
    ]


def test_validating_ahead_never_fails_an_ingest(con):
    # Only price_list staged, as when one asset is materialized in the UI: no stg_distributors yet.
    from assets.ingest.sources import SOURCES
    from assets.ingest.staging import stage_source
    from tests.conftest import EXAMPLE_DATA

    stage_source(con, EXAMPLE_DATA, SOURCES["price_list"])
    Expectations().rows_written(con, "price_list")  # no validator: nothing to do
    unused = object()  # never reached: the suite cannot be built without stg_distributors
    expectations = Expectations(unused)
    expectations.rows_written(con, "price_list")
    assert expectations.pending_ahead == 0


def test_the_check_shows_how_many_rows_gx_saw_in_this_run(tmp_path):
    import dagster as dg
    import duckdb
    from dagster_duckdb import DuckDBResource

    from assets.ingest.sources import SOURCES
    from assets.ingest.staging import stage_source
    from tests.conftest import EXAMPLE_DATA

    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for name in ("distributors", "price_list", "receiving_logs"):
            stage_source(con, EXAMPLE_DATA, SOURCES[name])
    [check] = [
        c
        for c in checks.defs.EXPECTATION_CHECKS
        if c.check_specs_by_output_name["result"].asset_key.path == ["receiving_logs"]
    ]

    def run():
        return check(
            context=dg.build_asset_check_context(),
            duckdb=DuckDBResource(database=str(warehouse)),
            expectations=Expectations(),
        ).metadata

    first, again = run(), run()
    assert first["rows_validated_this_run"].value == first["rows_validated"].value > 0
    assert (
        again["rows_validated_this_run"].value == 0
        and again["rows_validated"].value == first["rows_validated"].value
    )
