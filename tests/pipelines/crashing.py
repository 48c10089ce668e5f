"""Running the real CLI in a subprocess that can be killed, and what a run leaves behind."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from core.faults import CRASH_ENV
from tests.conftest import EXAMPLE_ARGS

COMMON = EXAMPLE_ARGS
TABLES = ("claim_outcomes", "sla_status", "exceptions", "distributor_credits")


def cli(
    example: Path, *args: str, crash: str | None = None, tmpdir: Path | None = None, command: str = "run"
) -> subprocess.CompletedProcess:
    env = (
        {**os.environ, CRASH_ENV: crash} if crash else {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    )
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", command, *args, *COMMON],
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


def rerun(*args: str, command: str = "run") -> int:
    """The run after a kill, in this process (the example is the working directory): only the
    killed run needs a process of its own."""
    from pipelines.cli import main

    return main([command, *args, *COMMON])
