"""Benchmark: the quarter close as finance runs it, at growing sizes, through the same code as the CLI.

For each size it generates a history of 8 quarters (2024-Q4 .. 2026-Q3) and measures three runs
in child processes, each several times from the same state (the median counts): the cold close
of 2026-Q2 on an empty warehouse with the files up to June; the draft of 2026-Q3 as of 08-31 once
July's and August's files arrived; the warm close of 2026-Q3 once September's arrived. For each:
wall time, peak RSS of the whole process tree, and the time and peak RSS of every stage (from the
CLI's progress lines). It then re-runs the closed quarter and compares the statement bytes, and
races the reconcile SQL against a pandas implementation of the claim rules, asserting identical
outcomes.

    python -m benchmarks.quarter_close                     # 10k, 100k and 1M cases
    python -m benchmarks.quarter_close --sizes 1000000     # one size
    python -m benchmarks.quarter_close --sizes 10000000 --closes 1   # no pandas race above 1M
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd

from assets.ingest.sources import input_bytes
from assets.reconcile.rules import RunParameters, compute_quarter
from benchmarks.pandas_rules import claim_outcomes, load_inputs
from core.quarters import Quarter
from core.warehouse import default_memory_limit

SETUP_QUARTER = "2026-Q2"
TARGET_QUARTER = "2026-Q3"
INGEST_STEPS = {
    "distributors", "report_formats", "price_list", "vendor", "gl_accounts", "reason_code_map", "rma_cases",
    "receiving_logs", "fulfillment_reports", "quarantine",
}  # fmt: skip
STATEMENT_STEPS = {"credit_statements", "finance_summary", "statement_delivery"}
STAGES = ("ingest", "reconcile", "checks", "statements")
PROGRESS_LINE = re.compile(r"^\s+(.+?)\s+done\s+([\d.]+)s$")
FILE_MONTH = re.compile(r"(\d{4})-(\d{2})")


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc (MiB).

    A child forked but not yet turned into a new program (a spawned worker, for a moment) shows
    its parent's pages as its own resident memory; they are shared, so it is not counted. It is
    known by its command line, still its parent's.
    """
    total, pending = 0, [(pid, None)]
    while pending:
        current, parent_command = pending.pop()
        try:
            command = Path(f"/proc/{current}/cmdline").read_bytes()
            if command == parent_command:
                continue
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [(int(child), command) for child in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue  # gone meanwhile, or a zombie without memory
    return total / 1024


class StepPeaks:
    """Peak RSS per step: the samples since the last step ended count for the next to end.

    The CLI runs its steps one after another and prints a progress line as each ends, so the
    samples between two lines belong to the step of the second one.
    """

    def __init__(self) -> None:
        self.by_step: dict[str, float] = {}
        self.overall = 0.0
        self._window = 0.0
        self._lock = threading.Lock()

    def sample(self, rss_mib: float) -> None:
        with self._lock:
            self._window = max(self._window, rss_mib)
            self.overall = max(self.overall, rss_mib)

    def line(self, text: str) -> None:
        match = PROGRESS_LINE.match(text)
        if match:
            with self._lock:
                self.by_step[match.group(1)] = self._window
                self._window = 0.0


def cli(folder: Path, *args: str) -> tuple[float, float, str, dict[str, float]]:
    """Run rma-recon in a child process: (wall seconds, peak RSS in MiB, stderr, peak RSS by step).

    The peak is the sum over the child and its workers, sampled every 50 ms. (The rusage of
    a child is no good here: Linux carries the parent's peak over into a forked child.)
    """
    command = [sys.executable, "-m", "pipelines.cli", *args]
    environment = {**os.environ, "RMA_OUTBOX_DIR": str(folder / "outbox"), "GX_ANALYTICS_ENABLED": "false"}
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment, text=True
    )
    peaks = StepPeaks()
    finished = threading.Event()

    def sample() -> None:
        while not finished.wait(0.05):
            peaks.sample(tree_rss_mib(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = []
    for line in child.stderr:  # progress lines arrive as the steps end
        peaks.line(line)
        lines.append(line)
    child.wait()
    wall = time.perf_counter() - started
    finished.set()
    sampler.join()
    stderr = "".join(lines)
    if child.returncode != 0:
        raise SystemExit(f"rma-recon {' '.join(args)} failed ({child.returncode}):\n{stderr[-3000:]}")
    return wall, peaks.overall, stderr, peaks.by_step


def stage_of(step: str) -> str:
    if step in INGEST_STEPS:
        return "ingest"
    if step == "reconcile":
        return "reconcile"
    return "statements" if step in STATEMENT_STEPS else "checks"


def stage_times(stderr: str) -> dict[str, float]:
    stages = dict.fromkeys(STAGES, 0.0)
    for line in stderr.splitlines():
        match = PROGRESS_LINE.match(line)
        if match:
            stages[stage_of(match.group(1))] += float(match.group(2))
    return stages


def stage_peaks(step_peaks: dict[str, float]) -> dict[str, float]:
    """Peak RSS by stage (MiB); the ingest's includes the process start and the imports."""
    stages = dict.fromkeys(STAGES, 0.0)
    for step, peak in step_peaks.items():
        stages[stage_of(step)] = max(stages[stage_of(step)], peak)
    return stages


def hold_back_later_months(data: Path, hold: Path, quarter: Quarter) -> list[str]:
    """Move the files of months after `quarter` out of `data`; their paths, relative to it."""
    held = []
    for path in sorted(data.rglob("*")):
        match = FILE_MONTH.search(path.name)
        if (
            path.is_file()
            and match
            and (int(match.group(1)), int(match.group(2))) > (quarter.year, quarter.last_day.month)
        ):
            relative = path.relative_to(data).as_posix()
            (hold / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, hold / relative)
            held.append(relative)
    return held


def digest_folder(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.xlsx"))
    }


def disagreements(sql: pd.DataFrame, in_pandas: pd.DataFrame) -> pd.DataFrame:
    """The claims (by source file and line) whose outcome, reason or credit differ between the two,
    a claim only one of them has included."""
    merged = sql.merge(
        in_pandas, on=["source_file", "source_line"], how="outer", suffixes=("_sql", "_pandas")
    )
    compared = ["outcome", "reason", "credit_amount"]

    def text(columns: list[str]):  # missing as "", whatever missing value either side holds
        return merged[columns].map(lambda value: "" if pd.isna(value) else str(value)).to_numpy()

    differ = (text([f"{c}_sql" for c in compared]) != text([f"{c}_pandas" for c in compared])).any(axis=1)
    return merged[differ]


def race_reconcile(warehouse: Path) -> dict[str, float]:
    """The reconcile SQL against pandas on the target quarter's inputs; outcomes must be identical."""
    quarter = Quarter.parse(TARGET_QUARTER)
    copy = warehouse.with_name("race.duckdb")
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        # The target quarter is closed now; reopen it in the copy so both sides see the same scope.
        con.execute("DELETE FROM quarter_runs WHERE quarter = ?", [str(quarter)])
        started = time.perf_counter()
        compute_quarter(con, RunParameters(quarter, quarter.last_day))
        sql_seconds = time.perf_counter() - started
        sql = con.execute(
            """SELECT source_file, source_line, outcome, reason,
                CAST(credit_amount AS VARCHAR) AS credit_amount
            FROM quarter_claim_outcomes ORDER BY source_file, source_line"""
        ).df()
        started = time.perf_counter()
        inputs = load_inputs(con, quarter)
        loaded = time.perf_counter()
        in_pandas = claim_outcomes(inputs, quarter.last_day)
        done = time.perf_counter()
    copy.unlink()
    in_pandas["credit_amount"] = (
        in_pandas["credit_amount"].astype(object).where(in_pandas["credit_amount"].notna(), None)
    )
    sql["credit_amount"] = sql["credit_amount"].astype(object).where(sql["credit_amount"].notna(), None)
    differing = disagreements(sql, in_pandas)
    if len(differing):
        raise AssertionError(
            f"pandas and SQL disagree on {len(differing)} of {len(sql)} claims, e.g.\n{differing.head(5)}"
        )
    return {
        "claims": len(sql),
        "sql": sql_seconds,
        "pandas_load": loaded - started,
        "pandas_rules": done - loaded,
    }


def generate(data: Path, size: int, distributors: int) -> dict[str, int]:
    """`rma-recon generate` in a child process, so its arrays never swell this process."""
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "generate",
        "--out",
        str(data),
        "--cases",
        str(size),
        "--distributors",
        str(distributors),
        "--start-quarter",
        "2024-Q4",
        "--quarters",
        "8",
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    counted = output.strip().rsplit(": ", 1)[1]  # "case versions 2054526, receipts 565362, ..."
    return {name: int(count) for name, count in (item.rsplit(" ", 1) for item in counted.split(", "))}


def _arrive(data: Path, hold: Path, held: list[str], last_month: int) -> list[str]:
    """Move the held-back files of 2026 months up to `last_month` into `data`; their paths."""
    arrived = []
    for relative in held:
        match = FILE_MONTH.search(Path(relative).name)
        held_back = (hold / relative).exists()
        if held_back and match and (int(match.group(1)), int(match.group(2))) <= (2026, last_month):
            (data / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(hold / relative, data / relative)
            arrived.append(relative)
    return arrived


def _median(runs: list[tuple]) -> tuple:
    return sorted(runs, key=lambda run: run[0])[len(runs) // 2]


def bench(
    size: int, root: Path, distributors: int, race: bool = True, closes_wanted: int = 3, reuse: bool = False
) -> dict:
    """Issue 22's three runs, each `closes_wanted` times from the same state (the median counts):
    the cold close of 2026-Q2 on an empty warehouse with the files up to June; the draft of 2026-Q3
    as of 08-31 once July and August arrived; the warm close of 2026-Q3 once September arrived."""
    folder = root / f"{size}"
    data, warehouse, statements = folder / "data", folder / "warehouse.duckdb", folder / "statements"
    hold = folder / "arriving"
    generated = folder / "generated.json"  # the generator's counts, written once its data is whole
    if reuse and generated.exists() and json.loads(generated.read_text())["distributors"] == distributors:
        counts, generate_seconds = json.loads(generated.read_text()), None
        _arrive(data, hold, [p.relative_to(hold).as_posix() for p in hold.rglob("*") if p.is_file()], 12)
        for leftover in folder.iterdir():
            if leftover not in (data, generated):
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        counts = generate(data, size, distributors)
        generate_seconds = time.perf_counter() - started
        generated.write_text(json.dumps(counts))
    common = ["--data-dir", str(data), "--warehouse", str(warehouse), "--statements-dir", str(statements)]
    held = hold_back_later_months(data, hold, Quarter.parse(SETUP_QUARTER))
    # The machine is shared and its speed drifts: each run several times from the same state.
    colds = []
    for _ in range(closes_wanted):
        for leftover in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(statements, ignore_errors=True)
        shutil.rmtree(folder / "outbox", ignore_errors=True)
        colds.append(cli(folder, "run", SETUP_QUARTER, "--close", *common))
    assert not warehouse.with_name(warehouse.name + ".wal").exists(), "the cold close left a WAL behind"
    arrived = _arrive(data, hold, held, 8)
    before_draft = folder / "warehouse.before-draft.duckdb"
    shutil.copyfile(warehouse, before_draft)
    drafts = []
    for attempt in range(closes_wanted):
        if attempt:
            shutil.copyfile(before_draft, warehouse)
        drafts.append(cli(folder, "run", TARGET_QUARTER, "--as-of", "2026-08-31", *common))
    before_draft.unlink()
    arrived += _arrive(data, hold, held, 9)
    before_close = folder / "warehouse.before-close.duckdb"
    shutil.copyfile(warehouse, before_close)
    closes, digests = [], []
    for attempt in range(closes_wanted):
        if attempt:
            shutil.copyfile(before_close, warehouse)
        closes.append(cli(folder, "run", TARGET_QUARTER, "--close", *common))
        digests.append(digest_folder(statements / TARGET_QUARTER))
        assert digests[-1] == digests[0], (
            f"closing {TARGET_QUARTER} again from the same state changed its statements"
        )
    before_close.unlink()
    first = digests[0]
    runs = {"cold": colds, "draft": drafts, "warm": closes}
    rss = {name: max(run[1] for run in attempts) for name, attempts in runs.items()}
    stage_rss = {
        name: {stage: max(stage_peaks(run[3])[stage] for run in attempts) for stage in STAGES}
        for name, attempts in runs.items()
    }
    rerun_wall, _, _, _ = cli(folder, "run", TARGET_QUARTER, *common)
    identical = digest_folder(statements / TARGET_QUARTER) == first
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows_read = con.execute("SELECT sum(rows_read) FROM ingest_log").fetchone()[0]
        rows_arrived = con.execute(
            "SELECT sum(rows_read) FROM ingested_files WHERE source_file IN (SELECT unnest(?))", [arrived]
        ).fetchone()[0]
        in_scope, credit_type = con.execute(
            "SELECT count(*), any_value(typeof(credit_amount)) FROM claim_outcomes WHERE quarter = ?",
            [TARGET_QUARTER],
        ).fetchone()
        total = con.execute(
            "SELECT sum(credit_total) FROM distributor_credits WHERE quarter = ?", [TARGET_QUARTER]
        ).fetchone()[0]
    race = race_reconcile(warehouse) if race else None
    return {
        "size": size,
        "memory_limit": os.environ.get("RMA_DUCKDB_MEMORY_LIMIT")
        or f"{default_memory_limit(input_bytes(data))} (default)",
        "counts": counts,
        "generate": generate_seconds,
        "walls": {name: sorted(run[0] for run in attempts) for name, attempts in runs.items()},
        "wall": {name: _median(attempts)[0] for name, attempts in runs.items()},
        "stages": {name: stage_times(_median(attempts)[2]) for name, attempts in runs.items()},
        "rss": rss,
        "stage_rss": stage_rss,
        "rows_read": rows_read,
        "rows_arrived": rows_arrived,
        "files_arrived": len(arrived),
        "in_scope": in_scope,
        "statements": len(first),
        "identical": identical,
        "rerun": rerun_wall,
        "credit_type": credit_type,
        "credit_total": total,
        "race": race,
    }


RUN_NAMES = {
    "cold": f"cold close of {SETUP_QUARTER} (empty warehouse, the files up to 2026-06)",
    "draft": f"draft of {TARGET_QUARTER} as of 2026-08-31 (July and August arrived)",
    "warm": f"warm close of {TARGET_QUARTER} (September arrived)",
}


def report(result: dict) -> None:
    size, race = result["size"], result["race"]
    counts = result["counts"]
    print(
        f"\n== {size:,} cases: {counts['case versions']:,} case versions, {counts['claims']:,} claim lines, "
        f"{counts['receipts']:,} receipts, {counts['distributors']} distributors "
        + (
            "(generated before)"
            if result["generate"] is None
            else f"(generated in {result['generate']:.1f} s)"
        )
        + f"; DuckDB memory limit {result['memory_limit']}"
    )
    for name, title in RUN_NAMES.items():
        walls, stages = result["walls"][name], result["stages"][name]
        other = result["wall"][name] - sum(stages.values())
        print(
            f"   {title}: {result['wall'][name]:.1f} s wall "
            f"(median of {', '.join(f'{w:.1f}' for w in walls)} s), "
            f"peak tree RSS {result['rss'][name]:,.0f} MiB"
        )
        for stage, seconds in stages.items():
            print(
                f"      {stage:<11} {seconds:7.1f} s  peak RSS {result['stage_rss'][name][stage]:7,.0f} MiB"
            )
        print(f"      {'other':<11} {other:7.1f} s  (process start, imports, Dagster)")
    print(
        f"   the warm close: {result['in_scope']:,} claims in scope, {result['statements']} statements; "
        f"{result['files_arrived']:,} files with {result['rows_arrived']:,} rows arrived after June, "
        f"{result['rows_read']:,} rows in the warehouse"
    )
    print(
        f"   money: credit_amount is {result['credit_type']}, total {result['credit_total']}; "
        f"re-run of the closed quarter in {result['rerun']:.1f} s, "
        f"statements byte-identical: {result['identical']}"
    )
    if race is None:
        print("   reconcile against pandas: not run at this size (--race-up-to)")
        return
    pandas_total = race["pandas_load"] + race["pandas_rules"]
    print(
        f"   reconcile SQL {race['sql']:.2f} s vs pandas {pandas_total:.2f} s "
        f"({race['pandas_load']:.2f} s load + {race['pandas_rules']:.2f} s rules) "
        f"on {race['claims']:,} claims: "
        f"identical outcomes, SQL {pandas_total / race['sql']:.1f}x faster "
        f"({race['pandas_rules'] / race['sql']:.1f}x on the rules alone)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--distributors", type=int, default=300)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/rma-benchmark"))
    parser.add_argument(
        "--closes",
        type=int,
        default=3,
        metavar="N",
        help="each run (cold, draft, warm) N times from the same state; the median counts (default: 3)",
    )
    parser.add_argument(
        "--race-up-to",
        type=int,
        default=1_000_000,
        metavar="CASES",
        help="race the reconcile SQL against pandas up to this size (default: 1M)",
    )
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="use the data a previous run generated for a size, if whole (generating 10M takes minutes)",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as each size finishes
    print(
        f"benchmark {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, "
        f"DuckDB memory limit {os.environ.get('RMA_DUCKDB_MEMORY_LIMIT') or 'the default (scaled to inputs)'}"
    )
    results = []
    for size in args.sizes:
        results.append(
            bench(
                size,
                args.work_dir,
                args.distributors,
                race=size <= args.race_up_to,
                closes_wanted=args.closes,
                reuse=args.reuse_data,
            )
        )
        report(results[-1])
    if len(results) > 1:
        print("\n   scaling (time of the close per million input rows):")
        for result in results:
            print(
                f"   {result['size']:>12,} cases  "
                f"{result['wall']['warm'] / result['rows_read'] * 1e6:8.1f} s per million rows read"
            )
    for result in results:
        assert result["identical"], f"statements of the closed quarter changed at {result['size']} cases"


if __name__ == "__main__":
    main()
