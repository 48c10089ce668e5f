import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.definitions import defs

ROOT = Path(__file__).parents[2]


def test_asset_graph_grouped_by_stage():
    groups = {
        key.to_user_string(): spec.group_name
        for key, spec in ((s.key, s) for s in defs.resolve_all_asset_specs())
    }
    assert groups == {
        "distributors": "ingest",
        "price_list": "ingest",
        "rma_cases": "ingest",
        "receiving_logs": "ingest",
        "fulfillment_reports": "ingest",
        "claim_outcomes": "reconcile",
        "sla_status": "reconcile",
        "exceptions": "reconcile",
        "distributor_credits": "reconcile",
        "credit_statements": "statements",
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
