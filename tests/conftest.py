"""Shared fixtures. The worked example is built once per test session (per xdist worker) and
copied into each test that needs it: a staged and reconciled warehouse, and the example folder
with 2026-Q2 closed through the CLI."""

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def example_q2_warehouse(tmp_path_factory) -> Path:
    """A warehouse file with the worked example staged and 2026-Q2 reconciled, built once."""
    from assets.ingest.sources import SOURCES
    from assets.ingest.staging import stage_source
    from assets.reconcile.rules import RunParameters, reconcile_quarter
    from core.quarters import Quarter

    path = tmp_path_factory.mktemp("example_q2") / "wh.duckdb"
    with duckdb.connect(str(path)) as built:
        for source in SOURCES.values():
            stage_source(built, EXAMPLE_DATA, source)
        reconcile_quarter(built, RunParameters(Quarter(2026, 2), dt.date(2026, 6, 30)))
    return path


@pytest.fixture
def example_q2(con, example_q2_warehouse):
    """An in-memory warehouse with the worked example staged and 2026-Q2 reconciled (a copy)."""
    from core.warehouse import prepare

    quoted = str(example_q2_warehouse).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS built (READ_ONLY)")
    con.execute("COPY FROM DATABASE built TO memory")
    con.execute("DETACH built")
    prepare(con)  # this connection's macros, as staging left them
    return con


@contextlib.contextmanager
def _clean_environment() -> Iterator[None]:
    """No RMA_* setting or DAGSTER_HOME of whichever test asked first leaks into a shared build."""
    saved = {
        name: value for name, value in os.environ.items() if name.startswith("RMA_") or name == "DAGSTER_HOME"
    }
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


def _run_cli(folder: Path, *args: str) -> None:
    from pipelines.cli import main

    with _clean_environment(), contextlib.chdir(folder):
        assert main([*args, *EXAMPLE_ARGS]) == 0


@pytest.fixture(scope="session")
def closed_example(tmp_path_factory) -> Path:
    """The worked example folder after `run 2026-Q2 --close`, built once: do not change it."""
    folder = tmp_path_factory.mktemp("closed_example") / "example"
    shutil.copytree(FIXTURES / "example", folder)
    _run_cli(folder, "run", "2026-Q2", "--close")
    return folder


@pytest.fixture(scope="session")
def closed_example_with_draft(closed_example, tmp_path_factory) -> Path:
    """`closed_example` followed by a draft run of 2026-Q3, built once: do not change it."""
    folder = tmp_path_factory.mktemp("closed_example_with_draft") / "example"
    shutil.copytree(closed_example, folder)
    _run_cli(folder, "run", "2026-Q3")
    return folder


def _private_copy(built: Path, tmp_path: Path, monkeypatch) -> Path:
    target = tmp_path / "example"
    shutil.copytree(built, target)
    monkeypatch.chdir(target)
    return target


@pytest.fixture
def closed_example_cwd(closed_example, tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the worked example with 2026-Q2 closed, made the working directory."""
    return _private_copy(closed_example, tmp_path, monkeypatch)


@pytest.fixture
def closed_example_with_draft_cwd(closed_example_with_draft, tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the worked example with 2026-Q2 closed and a 2026-Q3 draft, made the
    working directory."""
    return _private_copy(closed_example_with_draft, tmp_path, monkeypatch)
