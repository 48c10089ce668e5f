"""Faults of the machine around a run: a reader holding the warehouse, a full disk, a read-only
file system, a file where a folder should be. Each is one line, and the warehouse stays as the
last complete run left it."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from tests.conftest import EXAMPLE_ARGS

pytestmark = pytest.mark.slow

HOLD_OPEN = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_open(warehouse: Path, seconds: float) -> subprocess.Popen:
    """Another program reading the warehouse (the DuckDB CLI, a BI tool) for some seconds."""
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(warehouse), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout.readline().strip() == "open"
    return reader


def test_a_run_waits_for_a_reader_to_close_the_warehouse(closed_example_cwd, capsys):
    reader = hold_open(closed_example_cwd / "wh.duckdb", 2)
    started = time.monotonic()
    assert main(["run", "2026-Q3", *EXAMPLE_ARGS]) == 0
    assert time.monotonic() - started >= 1.5
    assert "waiting for another program to close wh.duckdb" in capsys.readouterr().err
    reader.wait()


def test_a_reader_that_stays_longer_than_the_timeout_is_one_line(closed_example_cwd, capsys):
    reader = hold_open(closed_example_cwd / "wh.duckdb", 30)
    try:
        assert main(["run", "2026-Q3", "--lock-timeout", "1", *EXAMPLE_ARGS]) == 2
    finally:
        reader.kill()
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("rma-recon: error: the warehouse 'wh.duckdb' is held open by another program (")


def test_status_never_keeps_a_run_out(closed_example_cwd, capsys):
    from core.locking import warehouse_lock

    with warehouse_lock(closed_example_cwd / "wh.duckdb", 0):  # a run holds the warehouse
        assert main(["status", "--warehouse", "wh.duckdb"]) == 2
    assert "a run is using the warehouse 'wh.duckdb'" in capsys.readouterr().err


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB file system of its own (tmpfs), where mounting is allowed (root here and in CI)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def close_args(quarter: str, warehouse: str, statements_dir: str) -> list[str]:
    return [
        "run",
        quarter,
        "--close",
        "--data-dir",
        "data",
        "--warehouse",
        warehouse,
        "--statements-dir",
        statements_dir,
    ]


def test_a_full_disk_is_named_and_the_next_run_completes(example_cwd, small_disk, capsys):
    warehouse = small_disk / "wh.duckdb"
    filler = fill(small_disk)
    args = close_args("2026-Q2", str(warehouse), "out")
    assert main(args) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("rma-recon: error: no space left on the disk at ") and str(small_disk) in error
    filler.unlink()
    assert main(args) == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT state FROM quarter_runs").fetchall() == [("closed",)]


def test_statements_on_a_full_disk_fail_the_run_and_a_rerun_restores_them(
    closed_example_cwd, small_disk, capsys
):
    out = small_disk / "out"
    shutil.copytree(closed_example_cwd / "out", out)
    filler = fill(small_disk)
    args = close_args("2026-Q3", "wh.duckdb", str(out))
    assert main(args) == 1
    assert "no space left on the disk at " in capsys.readouterr().err.strip().splitlines()[-1]
    filler.unlink()
    assert (
        main(
            ["run", "2026-Q3", "--data-dir", "data", "--warehouse", "wh.duckdb", "--statements-dir", str(out)]
        )
        == 0
    )
    files = ["EUROPA-1.csv", "EUROPA-1.xlsx", "NORTHSTAR.csv", "NORTHSTAR.xlsx"]  # the close's, restored
    assert sorted(p.name for p in (out / "2026-Q3").iterdir()) == files
    assert (out / "finance/2026-Q3-journal.csv").exists()


def test_a_read_only_file_system_is_named(closed_example_cwd, small_disk, capsys):
    out = small_disk / "out"
    out.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        before = con.execute("SELECT * FROM quarter_runs ORDER BY ALL").fetchall()
    args = close_args("2026-Q3", "wh.duckdb", str(out))
    assert main(args) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == (
        f"rma-recon: error: the file system is read-only at {out}/2026-Q3: "
        "fix that and run again; the warehouse keeps its last complete state"
    )
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        assert con.execute("SELECT * FROM quarter_runs ORDER BY ALL").fetchall()[:1] == before[:1]
        assert con.execute("SELECT state FROM quarter_runs WHERE quarter = '2026-Q3'").fetchone() != (
            "closed",
        )


def test_a_file_where_the_statements_folder_should_be(closed_example_cwd, capsys):
    args = close_args("2026-Q3", "wh.duckdb", "data/reference/distributors.csv/out")
    assert main(args) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(
        "rma-recon: error: a file stands where a folder is needed at data/reference/distributors.csv/out"
    )
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        assert con.execute("SELECT state FROM quarter_runs WHERE quarter = '2026-Q3'").fetchone() != (
            "closed",
        )
