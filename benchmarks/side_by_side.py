"""Two checkouts side by side: warm closes of 2026-Q3, alternating, on the same generated data.

Each checkout needs its own `.venv` with the project installed. A data directory made by the
quarter-close benchmark (or `rma-recon generate --start-quarter 2024-Q4 --quarters 8`) is copied
once per checkout; each cold-closes 2026-Q2 with the later months held back, then the months
arrive and 2026-Q3 is closed from that saved state, alternating base and new, `--pairs` times.

    python -m benchmarks.side_by_side --base ../before --new . --data /tmp/rma-benchmark/1000000/data
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.quarter_close import SETUP_QUARTER, TARGET_QUARTER, hold_back_later_months
from core.quarters import Quarter


def close(tree: Path, folder: Path, quarter: str) -> tuple[float, float]:
    """(wall seconds, seconds until the first step ended) of `rma-recon run QUARTER --close`."""
    command = [str(tree / ".venv/bin/python"), "-m", "pipelines.cli", "run", quarter, "--close"]
    command += ["--data-dir", str(folder / "data"), "--warehouse", str(folder / "wh.duckdb")]
    command += ["--statements-dir", str(folder / "statements")]
    environment = {**os.environ, "RMA_OUTBOX_DIR": str(folder / "outbox"), "GX_ANALYTICS_ENABLED": "false"}
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=tree, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    first_step = None
    for line in child.stderr:
        if first_step is None and " done " in line:
            first_step = time.perf_counter() - started
    if child.wait() != 0:
        raise SystemExit(f"{tree}: rma-recon run {quarter} --close failed")
    return time.perf_counter() - started, first_step or 0.0


def prepare(tree: Path, data: Path, folder: Path) -> None:
    """A private copy of the data, 2026-Q2 cold-closed by `tree`, the later months arrived."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(data, folder / "data")
    arriving = hold_back_later_months(folder / "data", folder / "arriving", Quarter.parse(SETUP_QUARTER))
    wall, _ = close(tree, folder, SETUP_QUARTER)
    print(f"{tree}: cold close of {SETUP_QUARTER} {wall:.1f} s", flush=True)
    for relative in arriving:
        (folder / "data" / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder / "arriving" / relative, folder / "data" / relative)
    shutil.copyfile(folder / "wh.duckdb", folder / "before-close.duckdb")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--new", type=Path, required=True, help="the checkout under test")
    parser.add_argument("--data", type=Path, required=True, help="a generated data directory (not changed)")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/rma-side-by-side"))
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "new": args.new.resolve()}
    for name, tree in trees.items():
        prepare(tree, args.data, args.work_dir / name)
    walls: dict[str, list[float]] = {name: [] for name in trees}
    for pair in range(args.pairs):
        for name in ("base", "new") if pair % 2 == 0 else ("new", "base"):
            folder = args.work_dir / name
            shutil.copyfile(folder / "before-close.duckdb", folder / "wh.duckdb")
            wall, first_step = close(trees[name], folder, TARGET_QUARTER)
            walls[name].append(wall)
            print(f"pair {pair} {name}: {wall:.2f} s (first step done at {first_step:.2f} s)", flush=True)
    for name, values in walls.items():
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(f"{name}: median {statistics.median(values):.2f} s ({spread}) over {len(values)} closes")


if __name__ == "__main__":
    main()
