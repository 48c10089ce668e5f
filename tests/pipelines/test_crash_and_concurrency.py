"""Real subprocesses: SIGKILL mid-run leaves the previous state; two runs at once never corrupt."""

import fcntl
import os
import subprocess
import sys

import duckdb
import pytest

from core.faults import CRASH_ENV
from pipelines.cli import main
from tests.pipelines.crashing import COMMON, add_late_claim, cli, rerun, snapshot

pytestmark = pytest.mark.slow


def test_kill_during_reconciliation_keeps_the_previous_quarter(example, tmp_path, monkeypatch):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    before = snapshot(example)
    add_late_claim(example)
    killed = cli(example, "2026-Q3", crash="reconcile-before-commit", tmpdir=tmpdir)
    assert killed.returncode == -9
    assert snapshot(example) == before
    left = list(tmpdir.glob("rma-gx-*"))
    assert left, "the validator process of the killed run left its folder"
    monkeypatch.setattr("tempfile.tempdir", str(tmpdir))  # where the killed run's process made it
    assert rerun("2026-Q3") == 0
    after = snapshot(example)
    assert len(after["tables"]["claim_outcomes"]) == len(before["tables"]["claim_outcomes"]) + 1
    assert not any(folder.exists() for folder in left)  # the next run removed it


def test_kill_while_closing_leaves_the_quarter_open(example):
    killed = cli(example, "2026-Q3", "--as-of", "2026-09-30", "--close", crash="close-before-commit")
    assert killed.returncode == -9
    assert snapshot(example)["state"][0] == "draft"
    assert rerun("2026-Q3", "--close") == 0
    assert snapshot(example)["state"][0] == "closed"


def test_kill_after_a_part_of_the_files_is_stored_leaves_the_quarter_open_and_the_next_close_clears_it(
    example,
):
    killed = cli(example, "2026-Q3", "--as-of", "2026-09-30", "--close", crash="close-part-stored")
    assert killed.returncode == -9
    assert snapshot(example)["state"][0] == "draft"
    assert _tables_like(example, "closing_statements%") == ["closing_statements_1"]
    assert _tables_like(example, "closed_statements_2026_q3%") == []
    assert rerun("2026-Q3", "--close") == 0
    assert snapshot(example)["state"][0] == "closed"
    assert _tables_like(example, "closing_statements%") == []
    assert _tables_like(example, "closed_statements_2026_q3%") == ["closed_statements_2026_q3"]


def _tables_like(example, pattern: str) -> list[str]:
    with duckdb.connect(str(example / "wh.duckdb"), read_only=True) as con:
        found = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE ? ORDER BY 1", [pattern]
        )
        return [name for (name,) in found.fetchall()]


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
