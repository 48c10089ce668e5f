import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import build_definitions, defs
from pipelines.resources import build_resources

ROOT = Path(__file__).parents[2]


def test_asset_graph_grouped_by_stage():
    groups = {
        key.to_user_string(): spec.group_name
        for key, spec in ((s.key, s) for s in defs.resolve_all_asset_specs())
    }
    assert groups == {
        "distributors": "ingest",
        "report_profiles": "ingest",
        "column_aliases": "ingest",
        "price_list": "ingest",
        "vendor": "ingest",
        "gl_accounts": "ingest",
        "reason_code_map": "ingest",
        "rma_cases": "ingest",
        "receiving_logs": "ingest",
        "fulfillment_reports": "ingest",
        "quarantine": "ingest",
        "claim_outcomes": "reconcile",
        "sla_status": "reconcile",
        "exceptions": "reconcile",
        "distributor_credits": "reconcile",
        "credit_statements": "statements",
        "quarter_release": "statements",
        "statement_delivery": "statements",
        "finance_summary": "statements",
    }
    assert all(spec.description for spec in defs.resolve_all_asset_specs())


@pytest.mark.slow
def test_dagster_validates_the_workspace():
    beside_python = Path(sys.executable).parent / "dagster"
    dagster = str(beside_python) if beside_python.exists() else shutil.which("dagster")
    assert dagster, "the dagster CLI is installed with the project"
    result = subprocess.run(
        [dagster, "definitions", "validate", "-w", "workspace.yaml"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_dg_checks_the_project():
    dg_cli = Path(sys.executable).parent / "dg"
    assert dg_cli.exists(), "dg is installed with the project (dagster-dg-cli)"
    result = subprocess.run([str(dg_cli), "check", "defs"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All definitions loaded successfully." in result.stdout + result.stderr


def ui_definitions(example: Path, monkeypatch) -> dg.Definitions:
    """The definitions a deployment's code location builds, with its RMA_* folders in `example`."""
    folders = {"DATA_DIR": "data", "WAREHOUSE": "wh.duckdb", "STATEMENTS_DIR": "out", "OUTBOX_DIR": "mail"}
    for name, value in folders.items():
        monkeypatch.setenv(f"RMA_{name}", str(example / value))
    return build_definitions(build_resources())  # as pipelines/definitions.py builds `defs`


@pytest.mark.slow
def test_the_ui_code_location_closes_a_quarter_with_launchpad_config(example_cwd, monkeypatch):
    # What a UI run gets: resources from RMA_* variables, `close` from the launchpad's config.
    ui_defs = ui_definitions(example_cwd, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    result = ui_defs.resolve_job_def("quarterly_reconciliation").execute_in_process(
        partition_key="2026-04-01",
        run_config={"resources": {"settings": {"config": {"close": True, "by": "Ann"}}}},
        instance=instance,
    )
    assert result.success and not (example_cwd / "mail").exists()  # a close sends nothing
    # A close launched from the drafts' job with launchpad config: the Runs list says so all the same.
    tags = instance.get_run_by_id(result.run_id).tags
    assert (tags["rma/quarter"], tags["rma/close"]) == ("2026-Q2", "true")
    statements = sorted(p.name for p in (example_cwd / "out/2026-Q2").iterdir())
    assert statements == ["EUROPA-1.csv", "EUROPA-1.xlsx", "NORTHSTAR.csv", "NORTHSTAR.xlsx"]
    release = ui_defs.resolve_job_def("quarterly_release").execute_in_process(
        partition_key="2026-04-01", run_config={"resources": {"settings": {"config": {"by": "Bo"}}}}
    )
    assert release.success
    assert sorted(p.name for p in (example_cwd / "mail/2026-Q2").iterdir()) == [
        "EUROPA-1.eml",
        "NORTHSTAR.eml",
    ]


@pytest.mark.slow
def test_the_ui_closes_a_quarter_without_any_config(example_cwd, monkeypatch):
    # The quarterly_close job: pick the partition, launch; the close is in its partitioned config.
    ui_defs = ui_definitions(example_cwd, monkeypatch)
    result = ui_defs.resolve_job_def("quarterly_close").execute_in_process(partition_key="2026-04-01")
    assert result.success
    assert (
        result.dagster_run.tags["rma/quarter"] == "2026-Q2" and result.dagster_run.tags["rma/close"] == "true"
    )
    with duckdb.connect(str(example_cwd / "wh.duckdb"), read_only=True) as con:
        assert con.execute("SELECT state FROM quarter_runs WHERE quarter = '2026-Q2'").fetchone() == (
            "closed",
        )


@pytest.mark.slow
def test_a_refused_ui_run_fails_at_its_first_step_before_reading_anything(example_cwd, monkeypatch):
    ui_defs = ui_definitions(example_cwd, monkeypatch)
    assert ui_defs.resolve_job_def("quarterly_close").execute_in_process(partition_key="2026-07-01").success
    with duckdb.connect(str(example_cwd / "wh.duckdb"), read_only=True) as con:
        staged_before = con.execute("SELECT count(*) FROM ingested_files").fetchone()
    (example_cwd / "data/inbound/rma_cases/late.csv").write_text("rma_number\nR-LATE\n")  # new: would stage

    refused = ui_defs.resolve_job_def("quarterly_reconciliation").execute_in_process(
        partition_key="2026-04-01", raise_on_error=False
    )
    assert not refused.success
    failures = refused.get_step_failure_events()
    assert failures[0].step_failure_data.user_failure_data.description == (
        "cannot run 2026-Q2: it is open and 2026-Q3 is already closed; "
        "late data for 2026-Q2 flows into the first open quarter after 2026-Q3"
    )
    assert [event.step_key for event in refused.get_step_success_events()] == []
    with duckdb.connect(str(example_cwd / "wh.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ingested_files").fetchone() == staged_before
