"""Fault injection: kill the CLI with SIGKILL at many moments of a close, run it again, and compare
the outcome with an uninterrupted close: every table, and the SHA-256 of every statement.

Two closes of a generated data set (20k cases): 2026-Q2 on an empty warehouse, then 2026-Q3 after
2026-Q2 is closed (2026-Q2 must never change); then the release of 2026-Q2, which sends its
e-mails. Each is killed at every named crash point on its way and at fractions of its
uninterrupted wall time. Too slow for the test suite (about six minutes), so CI runs it on its
own (`.ci/run`):

    python -m tests.fault_injection [--cases 20000] [--work-dir /tmp/rma-fault-injection]

Exit status 0 when every interrupted-then-rerun close or release ends exactly as the uninterrupted
one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

CLOSE_CRASH_POINTS = [
    "staging rma_cases-before-commit",
    "staging fulfillment_reports-before-commit",
    "reconcile-before-commit",
    "close-part-stored",
    "close-before-commit",
    "statements-midway",
    "statements-swap",
    "statements-renaming",
    "statement files-before-commit",
]
RELEASE_CRASH_POINTS = ["release-before-commit", "delivery-before-commit"]
TIME_FRACTIONS = [0.15, 0.35, 0.55, 0.75, 0.9]
# Columns that say when, not what: they differ between any two runs.
WHEN_COLUMNS = {
    "quarter_runs": ["closed_at", "released_at", "run_at"],
    "audit_log": ["happened_at"],
    "delivery_log": ["last_attempt_at"],
    "ingested_files": ["stat_key"],  # the files' times and inodes on disk: each run here has a fresh copy
}
CACHES = {"suite_batches", "suite_batch_files"}  # GX results kept by file: a cache, rebuilt as needed


def cli(work: Path, *args: str, crash: str | None = None, kill_after: float | None = None) -> int:
    """`rma-recon <args>` in `work`; killed at a crash point or after some seconds. Its exit code."""
    environment = {key: value for key, value in os.environ.items() if key != "RMA_CRASH_AT"}
    environment.update(GX_ANALYTICS_ENABLED="false", RMA_OUTBOX_DIR=str(work / "outbox"))
    if crash:
        environment["RMA_CRASH_AT"] = crash
    common = ["--data-dir", "data", "--warehouse", "wh.duckdb", "--statements-dir", "out"]
    child = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args, *common],
        cwd=work,
        env={**environment, "PYTHONPATH": str(Path(__file__).parents[1])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
    _, stderr = child.communicate()
    if child.returncode not in (0, -signal.SIGKILL):
        raise SystemExit(
            f"rma-recon {' '.join(args)} failed ({child.returncode}):\n{stderr.decode()[-2000:]}"
        )
    return child.returncode


def snapshot(work: Path) -> dict[str, str]:
    """A digest of every table (but the caches, and the columns that say when) and every file the
    runs wrote (statements, finance summaries; e-mails by name, as each has its own date and id)."""
    digests = {}
    with duckdb.connect(str(work / "wh.duckdb"), read_only=True) as con:
        tables = [
            row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        ]
        for table in tables:
            if table in CACHES:
                continue
            excluded = WHEN_COLUMNS.get(table)
            columns = f"* EXCLUDE ({', '.join(excluded)})" if excluded else "*"
            rows = con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
            digests[f"table {table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    for path in sorted((work / "out").rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            digests[f"file {path.relative_to(work)}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    for path in sorted((work / "outbox").rglob("*.eml")):
        digests[f"file {path.relative_to(work)}"] = "an e-mail"
    return digests


def quarter_rows(work: Path, quarter: str) -> dict[str, str]:
    """A digest of one quarter's rows in the tables that hold quarters."""
    digests = {}
    with duckdb.connect(str(work / "wh.duckdb"), read_only=True) as con:
        for table in (
            "claim_outcomes",
            "sla_status",
            "exceptions",
            "distributor_credits",
            "closed_statements",
        ):
            rows = con.execute(f"SELECT * FROM {table} WHERE quarter = ? ORDER BY ALL", [quarter]).fetchall()
            digests[f"{quarter} rows of {table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def differences(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    return [
        f"{name}: {'missing' if name not in found else 'extra' if name not in expected else 'differs'}"
        for name in sorted(set(expected) | set(found))
        if expected.get(name) != found.get(name)
    ]


def fresh_copy(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    return target


def scenario(
    name: str,
    start: Path,
    root: Path,
    args: list[str],
    crash_points: list[str],
    unchanged: str | None = None,
) -> tuple[dict[str, str], Path, list[str]]:
    """Run `args` from `start` uninterrupted, then killed at every moment and run again: the digests
    of the uninterrupted run, a copy of its folder, and the failures. The rows of quarter
    `unchanged` must stay as they were in `start`."""
    kept = quarter_rows(start, unchanged) if unchanged else {}
    # Every run in the same folder: the delivery log names the outbox path.
    reference = fresh_copy(start, root / "run")
    started = time.perf_counter()
    assert cli(reference, *args) == 0
    wall = time.perf_counter() - started
    expected = snapshot(reference)
    finished = fresh_copy(reference, root / f"{name} done")
    print(f"{name}: uninterrupted {wall:.1f} s, {len(expected)} tables and files", flush=True)
    moments = [(f"at {point}", {"crash": point}) for point in crash_points]
    moments += [
        (f"after {fraction * wall:.1f} s", {"kill_after": fraction * wall}) for fraction in TIME_FRACTIONS
    ]
    failures = []
    for label, kill in moments:
        work = fresh_copy(start, root / "run")
        code = cli(work, *args, **kill)
        verdict = "killed" if code == -signal.SIGKILL else "finished before the kill"
        cli(work, *args)
        found = differences(expected, snapshot(work))
        found += differences(kept, quarter_rows(work, unchanged)) if unchanged else []
        print(f"  {label}: {verdict}; after a re-run {'identical' if not found else 'DIFFERENT'}", flush=True)
        failures += [f"{name}, killed {label}: {difference}" for difference in found]
    shutil.rmtree(root / "run")
    return expected, finished, failures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/rma-fault-injection"))
    args = parser.parse_args()
    root = args.work_dir
    shutil.rmtree(root, ignore_errors=True)
    empty = root / "empty"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "generate",
            "--out",
            str(empty / "data"),
            "--cases",
            str(args.cases),
            "--distributors",
            "20",
            "--seed",
            "5",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=Path(__file__).parents[1],
    )
    (empty / "out").mkdir()
    q2, closed_q2, failures = scenario(
        "close of 2026-Q2 on an empty warehouse",
        empty,
        root,
        ["run", "2026-Q2", "--close", "--by", "closer"],
        CLOSE_CRASH_POINTS,
    )
    q3, _, more = scenario(
        "close of 2026-Q3 after 2026-Q2",
        closed_q2,
        root,
        ["run", "2026-Q3", "--close", "--by", "closer"],
        CLOSE_CRASH_POINTS,
        "2026-Q2",
    )
    failures += more
    released, _, more = scenario(
        "release of 2026-Q2",
        closed_q2,
        root,
        ["release", "2026-Q2", "--by", "releaser"],
        RELEASE_CRASH_POINTS,
        "2026-Q2",
    )
    failures += more
    e_mails = [name for name in released if name.startswith("file outbox/2026-Q2/")]
    if not e_mails:
        failures.append("the release of 2026-Q2 wrote no e-mail")
    # 2026-Q2 never changes: its rows are in the tables compared above; its files are compared here.
    failures += [
        f"2026-Q2 changed when 2026-Q3 was closed: {name}"
        for name, digest in q2.items()
        if name.startswith("file out/2026-Q2/") and q3.get(name) != digest
    ]
    print(
        "\n".join(failures)
        if failures
        else "every killed close or release, run again, ended as the uninterrupted one"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
