"""Build a quarter's statements from the warehouse, freeze them on close, put them on disk."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.warehouse import in_transaction
from pipelines.faults import crash_point
from assets.workbook import ClaimLine, Statement, build_statement, statement_file_name
from pipelines.quarters import Quarter


@dataclass(frozen=True)
class StatementFile:
    file_name: str
    distributor_id: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


_LINE_COLUMNS = """rma_number, fulfilled_on, reason, defective_serial, replacement_serial, replacement_sku,
    claimed_amount, credit_amount, amount_variance, due_quarter, late, source_file, source_line"""


def load_statements(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, as_of: dt.date, final: bool, vendor: str = "Vendor"
) -> list[Statement]:
    """One statement per distributor with claims in scope, from the quarter's public tables."""
    credits = con.execute(
        """SELECT c.distributor_id, d.name, c.currency, c.credit_total
        FROM distributor_credits c LEFT JOIN stg_distributors d USING (distributor_id)
        WHERE c.quarter = ? ORDER BY c.distributor_id""",
        [str(quarter)],
    ).fetchall()
    lines: dict[tuple[str, str], list[ClaimLine]] = {}
    for row in con.execute(
        f"""SELECT distributor_id, outcome, {_LINE_COLUMNS} FROM claim_outcomes
        WHERE quarter = ? ORDER BY distributor_id, source_file, source_line""",
        [str(quarter)],
    ).fetchall():
        lines.setdefault((row[0], row[1]), []).append(ClaimLine(*row[2:]))
    statement_date = quarter.last_day if final else as_of
    return [
        Statement(
            distributor_id=distributor_id,
            distributor_name=name,
            currency=currency,
            quarter=str(quarter),
            final=final,
            as_of=as_of,
            statement_date=statement_date,
            credit_total=credit_total,
            credited=lines.get((distributor_id, "credited"), []),
            held=lines.get((distributor_id, "held"), []),
            rejected=lines.get((distributor_id, "rejected"), []),
            vendor=vendor,
        )
        for distributor_id, name, currency, credit_total in credits
    ]


# Rendering costs about 30 µs per line and 13 ms per workbook (about 400 lines' worth); a
# worker process takes about 0.5 s to start. Below this much work, one process is faster.
PARALLEL_FROM_LINES = 50_000
LINES_PER_WORKBOOK = 400


def render_statements(statements: list[Statement]) -> list[StatementFile]:
    """XLSX bytes of every statement; big quarters are rendered on every core (XlsxWriter is pure Python)."""
    work = sum(LINES_PER_WORKBOOK + len(s.credited) + len(s.held) + len(s.rejected) for s in statements)
    workers = min(os.cpu_count() or 1, len(statements))
    if work < PARALLEL_FROM_LINES or workers < 2:
        contents = [build_statement(s) for s in statements]
    else:
        # spawn, not fork: the parent holds DuckDB threads and locks that a fork would copy mid-use.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            contents = list(pool.map(build_statement, statements, chunksize=max(1, len(statements) // (workers * 4))))
    return [StatementFile(statement_file_name(s.distributor_id), s.distributor_id, content) for s, content in zip(statements, contents)]


def freeze_statements(con: duckdb.DuckDBPyConnection, quarter: Quarter, files: list[StatementFile]) -> None:
    """Store the final bytes and mark the quarter closed, in one transaction."""
    in_transaction(
        con,
        [("DELETE FROM closed_statements WHERE quarter = ?", [str(quarter)])]
        + [
            (
                "INSERT INTO closed_statements VALUES (?, ?, ?, ?, ?)",
                [str(quarter), f.file_name, f.distributor_id, f.content, f.sha256],
            )
            for f in files
        ]
        + [
            (
                "UPDATE quarter_runs SET state = 'closed', closed_at = ? WHERE quarter = ?",
                [dt.datetime.now(dt.UTC).replace(tzinfo=None), str(quarter)],
            )
        ],
        name="close",
    )


def frozen_statements(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[StatementFile]:
    rows = con.execute(
        "SELECT file_name, distributor_id, content FROM closed_statements WHERE quarter = ? ORDER BY file_name",
        [str(quarter)],
    ).fetchall()
    return [StatementFile(name, distributor_id, bytes(content)) for name, distributor_id, content in rows]


def write_statement_files(statements_dir: Path, quarter: Quarter, files: list[StatementFile]) -> list[Path]:
    """Write the quarter's statements into a folder aside, then swap it in for the old one.

    A run killed at any point leaves the previous folder (or, between the two renames, its
    copy `.<quarter>.previous`, which the next run puts back first).
    """
    statements_dir = Path(statements_dir)
    statements_dir.mkdir(parents=True, exist_ok=True)
    folder = statements_dir / str(quarter)
    previous = statements_dir / f".{quarter}.previous"
    partial = statements_dir / f".{quarter}.partial"
    if previous.exists() and not folder.exists():
        os.replace(previous, folder)  # a swap was interrupted: restore the last complete set
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    real_partial = os.path.realpath(partial)
    for index, statement_file in enumerate(files):
        target = partial / statement_file.file_name
        if os.path.dirname(os.path.realpath(target)) != real_partial:
            raise ValueError(f"statement file name {statement_file.file_name!r} would leave {folder}")
        target.write_bytes(statement_file.content)
        if index == len(files) // 2:
            crash_point("statements-midway")
    if folder.exists():
        os.replace(folder, previous)
    crash_point("statements-swap")
    os.replace(partial, folder)
    shutil.rmtree(previous, ignore_errors=True)
    return [folder / statement_file.file_name for statement_file in files]
