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
    ("ram_gib", "input_gib", "limit"),
    [
        (24, 0, "1024MiB"),
        (24, 0.4, "1024MiB"),  # a million cases: 1 GiB
        (24, 4, "4096MiB"),  # ten million: as much as the inputs take
        (24, 10, "6144MiB"),  # never more than a quarter of RAM
        (8, 0, "1024MiB"),
        (4, 0, "512MiB"),
        (4, 3, "1024MiB"),
        (1, 0, "256MiB"),
    ],
)
def test_the_default_memory_limit_scales_with_the_inputs_and_the_machine(
    monkeypatch, ram_gib, input_gib, limit
):
    import os

    from core.warehouse import default_memory_limit

    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": ram_gib * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", pages.__getitem__)
    assert default_memory_limit(int(input_gib * 2**30)) == limit


def test_the_warehouse_limit_counts_the_input_files_of_the_run(tmp_path, monkeypatch):
    import os

    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 24 * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", pages.__getitem__)
    monkeypatch.delenv("RMA_DUCKDB_MEMORY_LIMIT", raising=False)
    data = tmp_path / "data"
    for folder, size in (("inbound/rma_cases", 1536), ("reference", 512), ("elsewhere", 4096)):
        (data / folder).mkdir(parents=True)
        with open(data / folder / "file.csv", "wb") as file:
            file.truncate(size * 2**20)  # sparse: no disk used
    with warehouse_resource(str(tmp_path / "w.duckdb"), str(data)).get_connection() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("2.0 GiB",)
