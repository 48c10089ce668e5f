"""Two checkouts side by side on the same generated data: cold closes of 2026-Q2, then warm closes
of 2026-Q3, each alternating base and new.

Each checkout needs its own `.venv` with the project installed. A data directory made by the
quarter-close benchmark (or `rma-recon generate --start-quarter 2024-Q4 --quarters 8`) is copied
once per checkout with the months after June held back; 2026-Q2 is closed on an empty warehouse
`--cold-pairs` times per checkout; then the months arrive and 2026-Q3 is closed from that saved
state `--pairs` times per checkout.

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


def close(tree: Path, folder: Path, quarter: str) -> float:
    """Wall seconds of `rma-recon run QUARTER --close`."""
    command = [str(tree / ".venv/bin/python"), "-m", "pipelines.cli", "run", quarter, "--close"]
    command += ["--data-dir", str(folder / "data"), "--warehouse", str(folder / "wh.duckdb")]
    command += ["--statements-dir", str(folder / "statements")]
    environment = {**os.environ, "RMA_OUTBOX_DIR": str(folder / "outbox"), "GX_ANALYTICS_ENABLED": "false"}
    started = time.perf_counter()
    child = subprocess.run(
        command, cwd=tree, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    if child.returncode != 0:
        raise SystemExit(f"{tree}: rma-recon run {quarter} --close failed")
    return time.perf_counter() - started


def hold_back(data: Path, folder: Path) -> list[Path]:
    """A private copy of the data with the months after 2026-Q2 held back; the held-back files."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(data, folder / "data")
    return hold_back_later_months(folder / "data", folder / "arriving", Quarter.parse(SETUP_QUARTER))


def cold_close(tree: Path, folder: Path) -> float:
    """Close 2026-Q2 on an empty warehouse (every file staged): the first close of a deployment."""
    for leftover in ("wh.duckdb", "wh.duckdb.wal", "statements", "outbox"):
        path = folder / leftover
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return close(tree, folder, SETUP_QUARTER)


def arrive(folder: Path, arriving: list[Path]) -> None:
    """The held-back months arrive; the cold-closed warehouse is kept to start each warm close from."""
    for relative in arriving:
        (folder / "data" / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder / "arriving" / relative, folder / "data" / relative)
    shutil.copyfile(folder / "wh.duckdb", folder / "before-close.duckdb")


def _alternating(pairs: int, run) -> dict[str, list[float]]:
    walls: dict[str, list[float]] = {"base": [], "new": []}
    for pair in range(pairs):
        for name in ("base", "new") if pair % 2 == 0 else ("new", "base"):
            walls[name].append(run(name))
            print(f"pair {pair} {name}: {walls[name][-1]:.2f} s", flush=True)
    return walls


def _report(kind: str, walls: dict[str, list[float]]) -> None:
    for name, values in walls.items():
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(f"{kind} {name}: median {statistics.median(values):.2f} s ({spread}) over {len(values)} closes")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--new", type=Path, required=True, help="the checkout under test")
    parser.add_argument("--data", type=Path, required=True, help="a generated data directory (not changed)")
    parser.add_argument("--pairs", type=int, default=6, help="warm closes of 2026-Q3, per checkout")
    parser.add_argument("--cold-pairs", type=int, default=1, help="cold closes of 2026-Q2, per checkout")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/rma-side-by-side"))
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "new": args.new.resolve()}
    folders = {name: args.work_dir / name for name in trees}
    arriving = {name: hold_back(args.data, folders[name]) for name in trees}
    cold = _alternating(max(args.cold_pairs, 1), lambda name: cold_close(trees[name], folders[name]))
    for name in trees:
        arrive(folders[name], arriving[name])

    def warm_close(name: str) -> float:
        shutil.copyfile(folders[name] / "before-close.duckdb", folders[name] / "wh.duckdb")
        return close(trees[name], folders[name], TARGET_QUARTER)

    warm = _alternating(args.pairs, warm_close)
    _report(f"cold close of {SETUP_QUARTER}", cold)
    _report(f"warm close of {TARGET_QUARTER}", warm)


if __name__ == "__main__":
    main()
