from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.resources import RunSettings
from pipelines.resources import warehouse_resource


def test_blank_folders_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RMA_DATA_DIR", "/srv/rma/data")
    monkeypatch.setenv("RMA_STATEMENTS_DIR", "/srv/rma/statements")
    settings = RunSettings(close=True)  # what launchpad config for close alone resolves to
    assert (settings.data_path, settings.statements_path) == (
        Path("/srv/rma/data"),
        Path("/srv/rma/statements"),
    )


def test_defaults_and_explicit_folders(monkeypatch):
    monkeypatch.delenv("RMA_DATA_DIR", raising=False)
    monkeypatch.delenv("RMA_STATEMENTS_DIR", raising=False)
    assert RunSettings().data_path == Path("data") and RunSettings().statements_path == Path(
        "data/statements"
    )
    assert RunSettings(data_dir="in", statements_dir="out").statements_path == Path("out")


def test_the_warehouse_stays_open_for_the_run_and_is_checkpointed_after(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    wal = tmp_path / "warehouse.duckdb.wal"
    with dg.build_resources({"duckdb": warehouse_resource(str(path))}) as resources:
        with resources.duckdb.get_connection() as con:
            con.execute("CREATE TABLE t AS SELECT 1 AS x")
        # A step's connection has closed, but the run still holds the database: no checkpoint yet.
        assert wal.exists()
        with resources.duckdb.get_connection() as con:
            assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert not wal.exists()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_failing_step_leaves_no_connection_open(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    resource = warehouse_resource(str(path))
    try:
        with resource.get_connection() as con:
            con.execute("CREATE TABLE t AS SELECT 1 AS x")
            raise RuntimeError("the step failed")
    except RuntimeError as failure:
        kept = failure  # the traceback holds the step's frames, as Dagster's failure event does
    # A connection still open with another configuration would make this one fail.
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    del kept  # only now may the step's frames go


def test_duckdb_gets_a_memory_limit_by_default_and_the_setting_overrides_it(tmp_path, monkeypatch):
    from core.warehouse import default_memory_limit

    monkeypatch.delenv("RMA_DUCKDB_MEMORY_LIMIT", raising=False)
    with warehouse_resource(str(tmp_path / "a.duckdb")).get_connection() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit == {"1024MiB": "1.0 GiB", "512MiB": "512.0 MiB"}.get(default_memory_limit(), limit)
    assert limit.endswith(("GiB", "MiB")) and not limit.startswith(("0", "-"))
    monkeypatch.setenv("RMA_DUCKDB_MEMORY_LIMIT", "3GB")
    with warehouse_resource(str(tmp_path / "b.duckdb")).get_connection() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("2.7 GiB",)


@pytest.mark.parametrize(
    ("ram_gib", "limit"), [(24, "1024MiB"), (8, "1024MiB"), (4, "512MiB"), (1, "256MiB")]
)
def test_the_default_memory_limit_is_an_eighth_of_a_small_machine_and_1_gib_at_most(
    monkeypatch, ram_gib, limit
):
    import os

    from core.warehouse import default_memory_limit

    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": ram_gib * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", pages.__getitem__)
    assert default_memory_limit() == limit
