"""Real subprocesses: SIGKILL mid-run leaves the previous state; two runs at once never corrupt."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core.faults import CRASH_ENV
from pipelines.cli import main
from tests.conftest import EXAMPLE_ARGS

pytestmark = pytest.mark.slow

COMMON = EXAMPLE_ARGS
TABLES = ("claim_outcomes", "sla_status", "exceptions", "distributor_credits")


@pytest.fixture
def example(closed_example_with_draft_cwd):
    """The worked example with 2026-Q2 closed and a draft of 2026-Q3."""
    return closed_example_with_draft_cwd


def cli(
    example: Path, *args: str, crash: str | None = None, tmpdir: Path | None = None
) -> subprocess.CompletedProcess:
    env = (
        {**os.environ, CRASH_ENV: crash} if crash else {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    )
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", *args, *COMMON],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def snapshot(example: Path, quarter: str = "2026-Q3") -> dict:
    with duckdb.connect(str(example / "wh.duckdb"), read_only=True) as con:
        tables = {
            t: con.execute(f"SELECT * FROM {t} WHERE quarter = ? ORDER BY ALL", [quarter]).fetchall()
            for t in TABLES
        }
        state = con.execute("SELECT state, as_of FROM quarter_runs WHERE quarter = ?", [quarter]).fetchone()
    statements = {p.name: p.read_bytes() for p in (example / "out" / quarter).glob("*.xlsx")}
    return {"tables": tables, "state": state, "statements": statements}


def add_late_claim(example: Path) -> None:
    (example / "data/inbound/fulfillment_reports/NORTHSTAR/2026-08.csv").write_text(
        "rma_number,fulfilled_on,defective_serial,replacement_serial\nR26-0999,2026-08-02,SN-X,SN-Y\n"
    )


def test_kill_during_reconciliation_keeps_the_previous_quarter(example):
    before = snapshot(example)
    add_late_claim(example)
    killed = cli(example, "2026-Q3", crash="reconcile-before-commit")
    assert killed.returncode == -9
    assert snapshot(example) == before
    assert cli(example, "2026-Q3").returncode == 0
    after = snapshot(example)
    assert len(after["tables"]["claim_outcomes"]) == len(before["tables"]["claim_outcomes"]) + 1


@pytest.mark.parametrize("crash", ["statements-midway", "statements-swap"])
def test_kill_while_writing_statements_keeps_the_previous_files(example, crash):
    before = snapshot(example)
    # A draft as of an earlier day writes different statements (other dates and lines).
    killed = cli(example, "2026-Q3", "--as-of", "2026-07-15", crash=crash)
    assert killed.returncode == -9
    folder = example / "out/2026-Q3"
    kept = folder if folder.exists() else example / "out/.2026-Q3.previous"
    assert {p.name: p.read_bytes() for p in kept.glob("*.xlsx")} == before["statements"]
    assert cli(example, "2026-Q3", "--as-of", "2026-07-15").returncode == 0
    after = snapshot(example)
    assert (
        set(after["statements"]) == set(before["statements"]) and after["statements"] != before["statements"]
    )
    assert (
        not (example / "out/.2026-Q3.previous").exists() and not (example / "out/.2026-Q3.partial").exists()
    )


def test_kill_while_closing_leaves_the_quarter_open(example):
    killed = cli(example, "2026-Q3", "--as-of", "2026-09-30", "--close", crash="close-before-commit")
    assert killed.returncode == -9
    assert snapshot(example)["state"][0] == "draft"
    assert cli(example, "2026-Q3", "--close").returncode == 0
    assert snapshot(example)["state"][0] == "closed"


def test_two_runs_at_once_one_waits_and_both_finish(example):
    expected = snapshot(example)
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", "2026-Q3", *COMMON],
            cwd=example,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0]
    assert any("waiting for another run" in err for _, _, err in results)
    assert snapshot(example) == expected


def test_a_busy_warehouse_fails_cleanly_after_the_timeout(example, capsys):
    handle = os.open("wh.duckdb.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["run", "2026-Q3", "--lock-timeout", "0.5", *COMMON]) == 2
    finally:
        os.close(handle)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("rma-recon: error: another run is using the warehouse")


def test_a_close_killed_while_writing_statements_is_reported_then_restored(example, capsys):
    killed = cli(example, "2026-Q3", "--close", crash="statements-midway")
    assert killed.returncode == -9
    assert snapshot(example)["state"][0] == "closed"  # the close committed; its files were not all written
    assert list((example / "out/2026-Q3").glob(".*.partial"))
    capsys.readouterr()
    assert main(["status", "--warehouse", "wh.duckdb", "--statements-dir", "out"]) == 0
    assert "2026-Q3: its statements on disk do not match the warehouse" in capsys.readouterr().out
    assert cli(example, "2026-Q3").returncode == 0  # re-emits the stored FINAL bytes
    assert not list((example / "out/2026-Q3").glob(".*.partial"))
    assert main(["status", "--warehouse", "wh.duckdb", "--statements-dir", "out"]) == 0
    assert "do not match" not in capsys.readouterr().out


def test_a_kill_while_renaming_leaves_only_complete_files(example, capsys):
    before = snapshot(example)["statements"]
    killed = cli(example, "2026-Q3", "--as-of", "2026-07-15", crash="statements-renaming")
    assert killed.returncode == -9
    after = {p.name: p.read_bytes() for p in (example / "out/2026-Q3").glob("*.xlsx")}
    assert set(after) == set(before)
    assert (
        after["EUROPA-1.xlsx"] != before["EUROPA-1.xlsx"]
        and after["NORTHSTAR.xlsx"] == before["NORTHSTAR.xlsx"]
    )
    assert all(content.startswith(b"PK") for content in after.values())
    capsys.readouterr()
    assert main(["status", "--warehouse", "wh.duckdb", "--statements-dir", "out"]) == 0
    assert "2026-Q3: its statements on disk do not match the warehouse" in capsys.readouterr().out


def test_the_next_run_removes_the_temporary_folder_a_killed_run_left(example, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    assert cli(example, "2026-Q3", crash="reconcile-before-commit", tmpdir=tmpdir).returncode == -9
    left = list(tmpdir.glob("rma-gx-*"))
    assert left, "the validator process of the killed run left its folder"
    assert cli(example, "2026-Q3", tmpdir=tmpdir).returncode == 0
    assert not any(folder.exists() for folder in left)
