import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE_DATA = FIXTURES / "example/data"
# The worked example's CLI options, relative to a copy of the example folder.
EXAMPLE_ARGS = ["--data-dir", "data", "--warehouse", "wh.duckdb", "--statements-dir", "out"]


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection


@pytest.fixture
def example_cwd(tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the worked example, made the working directory."""
    target = tmp_path / "example"
    shutil.copytree(FIXTURES / "example", target)
    monkeypatch.chdir(target)
    return target


@pytest.fixture
def example_q2(con):
    """An in-memory warehouse with the worked example staged and 2026-Q2 reconciled."""
    from assets.ingest.sources import SOURCES
    from assets.ingest.staging import stage_source
    from assets.reconcile.rules import RunParameters, reconcile_quarter
    from core.quarters import Quarter

    for name in ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports"):
        stage_source(con, EXAMPLE_DATA, SOURCES[name])
    reconcile_quarter(con, RunParameters(Quarter(2026, 2), dt.date(2026, 6, 30)))
    return con
