"""Build a quarter's statements from the warehouse, freeze them on close, put them on disk."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.ingest.reference import Vendor
from assets.reconcile.rules import ACCRUED_LIABILITY_SQL, CLAIM_RULES
from assets.statements.sheet_rows import SHEET_ROWS, SheetRows, install_sql_macros
from assets.statements.workbook import (
    LINE_COLUMNS,
    LINE_SHEETS,
    TOTALLED_FIELDS,
    Statement,
    build_statement,
    line_row_sql,
    statement_file_name,
)
from core.quarters import Quarter
from core.warehouse import drop_waiting_files, move_waiting_files, store_waiting_files, transaction


@dataclass(frozen=True)
class StatementFile:
    file_name: str
    distributor_id: str
    content: bytes

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class StatementTooLong(ValueError):
    """A statement sheet would hold more lines than Excel can open."""


# Lines whose XML DuckDB writes in one go; bounds the XML held in Python at a time.
BATCH_LINES = 200_000


def load_statements(
    con: duckdb.DuckDBPyConnection,
    quarter: Quarter,
    as_of: dt.date,
    final: bool,
    vendor: Vendor | None = None,
    credit_memos: dict[str, str] | None = None,
) -> Iterator[Statement]:
    """One statement per distributor with claims in scope, from the quarter's public tables.

    DuckDB writes the claim lines as sheet XML (sheet_rows.py), a batch of distributors
    at a time; no line passes through Python one value at a time.
    """
    too_long = con.execute(
        """SELECT distributor_id, sheet, lines FROM distributor_credits
        UNPIVOT (lines FOR sheet IN (
            credited_count AS 'Credited', held_count AS 'Held', rejected_count AS 'Rejected'))
        WHERE quarter = ? AND lines > ? ORDER BY distributor_id, sheet""",
        [str(quarter), SHEET_ROWS - 1],
    ).fetchone()
    if too_long:
        distributor_id, sheet, lines = too_long
        raise StatementTooLong(
            f"{distributor_id}'s {quarter} statement would have {lines:,} lines on its {sheet} sheet; "
            f"an Excel sheet holds {SHEET_ROWS - 1:,} under its header row"
        )
    credits = con.execute(
        f"""WITH held_value AS ({ACCRUED_LIABILITY_SQL})
        SELECT c.distributor_id, d.name, d.address, c.currency, c.credit_total,
            coalesce(h.accrued_liability, 0) AS accrued_liability,
            c.credited_count + c.held_count + c.rejected_count AS lines
        FROM distributor_credits c LEFT JOIN stg_distributors d USING (distributor_id)
        LEFT JOIN held_value h USING (distributor_id)
        WHERE c.quarter = $quarter ORDER BY c.distributor_id""",
        {"quarter": str(quarter)},
    ).fetchall()
    credit_memos = credit_memos or {}
    install_sql_macros(con)
    statement_date = quarter.last_day if final else as_of
    for batch in line_batches(credits, BATCH_LINES):
        line_rows, line_sums = _line_rows(con, quarter, final, [row[0] for row in batch])
        for distributor_id, name, address, currency, credit_total, accrued, _ in batch:
            yield Statement(
                distributor_id=distributor_id,
                distributor_name=name,
                currency=currency,
                quarter=str(quarter),
                final=final,
                as_of=as_of,
                statement_date=statement_date,
                credit_total=credit_total,
                vendor=vendor,
                distributor_address=address,
                credit_memo=credit_memos.get(distributor_id),
                accrued_liability=accrued,
                line_rows={
                    sheet: line_rows.get(
                        (distributor_id, outcome), SheetRows(b"", 1, len(LINE_COLUMNS[sheet]))
                    )
                    for sheet, outcome in LINE_SHEETS.items()
                },
                line_sums={
                    sheet: line_sums.get((distributor_id, outcome), {})
                    for sheet, outcome in LINE_SHEETS.items()
                },
            )


def line_batches(rows: list[tuple], max_lines: int) -> Iterator[list[tuple]]:
    """Consecutive rows (a distributor's, each with its line count last) in batches of at most
    `max_lines` lines, or one row where it alone has more."""
    batch, lines = [], 0
    for row in rows:
        if batch and lines + row[-1] > max_lines:
            yield batch
            batch, lines = [], 0
        batch.append(row)
        lines += row[-1]
    if batch:
        yield batch


def _line_rows(
    con, quarter: Quarter, final: bool, distributor_ids: list[str]
) -> tuple[dict[tuple[str, str], SheetRows], dict[tuple[str, str], dict[str, Decimal | None]]]:
    """(distributor, outcome) -> the sheet's rows from row 2 on, in source file and line order;
    and (distributor, outcome) -> the sums of its money columns."""
    row_number = "CAST(row_number AS VARCHAR)"
    rows = con.execute(
        f"""WITH lines AS (
            SELECT c.*, m.meaning,
                row_number() OVER (
                    PARTITION BY distributor_id, outcome ORDER BY source_file, source_line
                ) + 1 AS row_number
            FROM claim_outcomes c
            LEFT JOIN (SELECT unnest(?) AS reason, unnest(?) AS meaning) m USING (reason)
            WHERE c.quarter = ? AND c.distributor_id IN (SELECT unnest(?))
        )
        SELECT distributor_id, outcome, max(row_number),
            encode(string_agg(CASE outcome
                WHEN 'credited' THEN {line_row_sql("Credited", final, row_number)}
                ELSE {line_row_sql("Held", final, row_number)} END, '' ORDER BY row_number)),
            {", ".join(f"sum({name})" for name in TOTALLED_FIELDS)}
        FROM lines GROUP BY distributor_id, outcome""",
        [
            [rule.reason for rule in CLAIM_RULES],
            [rule.meaning for rule in CLAIM_RULES],
            str(quarter),
            distributor_ids,
        ],
    ).fetchall()
    sheet_of = {outcome: sheet for sheet, outcome in LINE_SHEETS.items()}
    line_rows = {
        (distributor_id, outcome): SheetRows(xml, last_row, len(LINE_COLUMNS[sheet_of[outcome]]))
        for distributor_id, outcome, last_row, xml, *_ in rows
    }
    line_sums = {
        (distributor_id, outcome): dict(zip(TOTALLED_FIELDS, sums, strict=True))
        for distributor_id, outcome, _, _, *sums in rows
    }
    return line_rows, line_sums


# Rendering costs about 13 ms per workbook plus compressing its XML; a worker process takes
# about a second to start. Below this much work, one process is faster.
PARALLEL_FROM_LINES = 50_000
LINES_PER_WORKBOOK = 400
IN_FLIGHT_PER_WORKER = 4  # statements handed to a worker ahead: bounds the XML waiting in queues


def rendering_work(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> int:
    """The quarter's statements' work in lines, each workbook counted as LINES_PER_WORKBOOK more."""
    return con.execute(
        f"""SELECT coalesce(sum(credited_count + held_count + rejected_count + {LINES_PER_WORKBOOK}), 0)
        FROM distributor_credits WHERE quarter = ?""",
        [str(quarter)],
    ).fetchone()[0]


def render_statements(statements: Iterable[Statement], work: int | None = None) -> list[StatementFile]:
    """XLSX bytes of every statement, in order (see `rendered_statements`)."""
    return list(rendered_statements(statements, work))


def rendered_statements(statements: Iterable[Statement], work: int | None = None) -> Iterator[StatementFile]:
    """XLSX bytes of every statement, in order, as each is done. A big quarter (`work` as
    rendering_work counts it) is rendered on every core: XlsxWriter and zlib run in Python's one
    thread."""
    if work is None:
        statements = list(statements)
        work = sum(LINES_PER_WORKBOOK + sum(s.line_count(sheet) for sheet in LINE_SHEETS) for s in statements)
    workers = os.cpu_count() or 1
    if work < PARALLEL_FROM_LINES or workers < 2:
        for statement in statements:
            yield _statement_file(statement.distributor_id, build_statement(statement))
        return
    pending: deque = deque()
    # spawn, not fork: the parent holds DuckDB threads and locks that a fork would copy mid-use.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for statement in statements:
            pending.append((statement.distributor_id, pool.submit(build_statement, statement)))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                distributor_id, future = pending.popleft()
                yield _statement_file(distributor_id, future.result())
        while pending:
            distributor_id, future = pending.popleft()
            yield _statement_file(distributor_id, future.result())


def _statement_file(distributor_id: str, content: bytes) -> StatementFile:
    return StatementFile(statement_file_name(distributor_id), distributor_id, content)


@dataclass(frozen=True)
class StoredFile:
    """A FINAL file of a closed quarter as kept in closed_statements, without its bytes: a close
    never holds every statement and remittance file in memory at once (`StoredContents` reads them)."""

    file_name: str
    distributor_id: str
    sha256: str


@dataclass(frozen=True)
class StoredContents:
    """A closed quarter's stored files with their bytes, read by one query one file at a time as
    they are iterated, in the order they were stored. (A query per file scanned every stored
    file's bytes; sorting them by name held them all in memory.)"""

    con: duckdb.DuckDBPyConnection
    quarter: str
    count: int

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[StatementFile]:
        return stored_contents(self.con, self.quarter)


def stored_contents(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> Iterator[StatementFile]:
    """A closed quarter's stored files with their bytes, one at a time, in the order stored.
    Streamed: the caller must not use the connection until the last file is read."""
    result = con.execute(
        "SELECT file_name, distributor_id, content FROM closed_statements WHERE quarter = ?", [str(quarter)]
    )
    while (row := result.fetchone()) is not None:
        yield StatementFile(row[0], row[1], bytes(row[2]))


@dataclass(frozen=True)
class SpooledFile:
    """A file made for the close and kept on disk until the close stores it."""

    file_name: str
    distributor_id: str
    path: Path

    @property
    def content(self) -> bytes:
        return self.path.read_bytes()


def spool(files: Iterable[StatementFile], folder: Path) -> Iterator[SpooledFile]:
    """Put each file on disk in `folder` as it is made: a ten-million-case quarter's statements and
    remittance files take gigabytes, which neither fit in memory together nor beside what DuckDB
    needs while it makes the next ones."""
    for index, made in enumerate(files):
        path = Path(folder) / f"{index:06d}"
        path.write_bytes(made.content)
        yield SpooledFile(made.file_name, made.distributor_id, path)


class _Stop(Exception):
    """The caller stopped making files: the storing thread gives up."""


def _store_as_made(
    con: duckdb.DuckDBPyConnection, quarter: str, files: Iterable
) -> tuple[list[StoredFile], int]:
    """Store the files in waiting parts (`store_waiting_files`) while the caller's iterable makes
    them: the storing runs in a thread, on a cursor of its own, so that compressing and writing a
    file's bytes overlaps the making of the next (SQL on `con`, statement workers). The files go
    over a queue as the iterable yields them (`spool` yields paths, not bytes). (stored, parts).

    Whatever happens (the making or the store fails, Ctrl-C, Dagster's termination), the thread
    is told to stop and waited for before this returns or raises: its cursor must not be closed,
    nor the parts dropped, while it still writes. The first error is the one raised."""
    handed: queue.SimpleQueue = queue.SimpleQueue()
    stop, stored_all = threading.Event(), threading.Event()
    stored: list[StoredFile] = []
    outcome: dict[str, object] = {}

    def rows() -> Iterator[tuple]:
        while (f := handed.get()) is not None:
            if stop.is_set():
                raise _Stop
            content = f.content
            digest = hashlib.sha256(content).hexdigest()
            stored.append(StoredFile(f.file_name, f.distributor_id, digest))
            yield quarter, f.file_name, f.distributor_id, content, digest

    def store(cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            outcome["parts"] = store_waiting_files(cursor, rows())
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error
        finally:
            stored_all.set()

    drop_waiting_files(con)  # a killed close's, before another connection writes
    cursor = con.cursor()
    storing = threading.Thread(target=store, args=(cursor,), name="rma-close-store")
    storing.start()
    first_error: BaseException | None = None
    try:
        for f in files:
            if "error" in outcome:
                break
            handed.put(f)
    except BaseException as error:
        first_error = error
        stop.set()
    handed.put(None)
    while not stored_all.is_set():
        try:  # not Thread.join: an interrupted join in Python 3.11 forgets the thread
            stored_all.wait()
        except BaseException as error:
            first_error = first_error or error
            stop.set()
    storing.join()
    cursor.close()
    error = first_error or outcome.pop("error", None)
    if error is not None:
        raise error
    return stored, outcome["parts"]


def freeze_statements(
    con: duckdb.DuckDBPyConnection,
    quarter: Quarter,
    files: Iterable[StatementFile | SpooledFile],
    journal: bytes,
    credit_memos: dict[str, str],
    closed_by: str,
) -> list[StoredFile]:
    """Close the quarter in one transaction: store the FINAL bytes (statements, remittance files,
    the journal), give the credit memo numbers, record who closed, mark earlier drafts
    superseded, and write the close to the audit log. Each file's bytes are read once, as it is
    stored (`SpooledFile` reads them from disk), into parts committed before the close's
    transaction (`store_waiting_files`), which makes them the quarter's files or drops them.
    `files` may make them as they are iterated (`spool`): each is stored while the next is made."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    q = str(quarter)
    try:
        stored, parts = _store_as_made(con, q, files)
        with transaction(con, "close"):
            move_waiting_files(con, q, parts)
            con.execute("DELETE FROM closed_journals WHERE quarter = ?", [q])
            con.execute(
                "INSERT INTO closed_journals VALUES (?, ?, ?)",
                [q, journal, hashlib.sha256(journal).hexdigest()],
            )
            if credit_memos:
                memos = [list(credit_memos), list(credit_memos.values())]
                con.execute(
                    """INSERT INTO credit_memos
                    SELECT m.credit_memo, c.quarter, c.distributor_id, c.currency, c.credit_total
                    FROM (SELECT unnest(?) AS distributor_id, unnest(?) AS credit_memo) m
                    JOIN distributor_credits c USING (distributor_id) WHERE c.quarter = ?""",
                    [*memos, q],
                )
                con.execute(
                    """UPDATE distributor_credits c SET credit_memo = m.credit_memo
                    FROM (SELECT unnest(?) AS distributor_id, unnest(?) AS credit_memo) m
                    WHERE c.distributor_id = m.distributor_id AND c.quarter = ?""",
                    [*memos, q],
                )
            con.execute(
                "UPDATE quarter_runs SET state = 'closed', closed_at = ?, closed_by = ? WHERE quarter = ?",
                [now, closed_by, q],
            )
            # Rulebook §5: drafts of earlier quarters are settled in this quarter's scope.
            con.execute(
                "UPDATE quarter_runs SET state = 'superseded' WHERE quarter < ? AND state = 'draft'", [q]
            )
            con.execute(
                "INSERT INTO audit_log VALUES (?, ?, 'close', ?, 'closed', ?)",
                [now, closed_by, q, f"{len(credit_memos)} credit memo(s), {len(stored)} file(s)"],
            )
    except BaseException:
        # A commit leaves none; a failed close's parts go (quietly: the first error says why).
        with contextlib.suppress(duckdb.Error):
            drop_waiting_files(con)
        raise
    return stored


def stored_files(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[StoredFile]:
    """A closed quarter's stored files, in name order, without their bytes."""
    rows = con.execute(
        "SELECT file_name, distributor_id, sha256 FROM closed_statements "
        "WHERE quarter = ? ORDER BY file_name",
        [str(quarter)],
    ).fetchall()
    return [StoredFile(name, distributor_id, digest) for name, distributor_id, digest in rows]


def file_kind(file_name: str) -> str:
    """What a stored file is, by its suffix: xlsx (the statement) or csv (the remittance file)."""
    return file_name.rsplit(".", 1)[-1]


def by_distributor(files: Iterable[StatementFile]) -> Iterator[tuple[str, dict[str, StatementFile]]]:
    """Files in memory, each distributor's together ({kind: file}), in distributor order."""
    grouped: dict[str, dict[str, StatementFile]] = {}
    for f in files:
        grouped.setdefault(f.distributor_id, {})[file_kind(f.file_name)] = f
    return iter(sorted(grouped.items()))


def stored_by_distributor(
    con: duckdb.DuckDBPyConnection, quarter: Quarter
) -> Iterator[tuple[str, dict[str, StatementFile]]]:
    """A closed quarter's stored files, each distributor's together ({kind: file}), in distributor
    order, read as they are needed: one stream per kind (a close stores every statement, then
    every remittance file), on cursors of their own, so `con` stays free for the caller. A file
    that comes before its turn waits in memory; in a close's order none does. (A ten-million-case
    quarter's 1.8 GB of files, all read at once, took a delivery to 3.2 GB.)"""
    q = str(quarter)
    wanted: dict[str, list[str]] = {}
    for distributor_id, file_name in con.execute(
        "SELECT distributor_id, file_name FROM closed_statements WHERE quarter = ? ORDER BY ALL", [q]
    ).fetchall():
        wanted.setdefault(distributor_id, []).append(file_kind(file_name))
    kinds = sorted({kind for distributor_kinds in wanted.values() for kind in distributor_kinds})
    cursors = {kind: con.cursor() for kind in kinds}
    try:
        streams = {
            kind: cursor.execute(
                "SELECT file_name, distributor_id, content FROM closed_statements "
                "WHERE quarter = ? AND suffix(file_name, ?)",
                [q, f".{kind}"],
            )
            for kind, cursor in cursors.items()
        }
        early: dict[tuple[str, str], StatementFile] = {}
        for distributor_id in sorted(wanted):
            files = {}
            for kind in wanted[distributor_id]:
                while (kind, distributor_id) not in early:
                    row = streams[kind].fetchone()
                    if row is None:
                        raise RuntimeError(f"{q}: the stored {kind} file of {distributor_id} went missing")
                    early[(kind, row[1])] = StatementFile(row[0], row[1], bytes(row[2]))
                files[kind] = early.pop((kind, distributor_id))
            yield distributor_id, files
    finally:
        for cursor in cursors.values():
            cursor.close()


def frozen_journal(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> bytes | None:
    """The journal a closed quarter's close wrote, or None."""
    row = con.execute("SELECT content FROM closed_journals WHERE quarter = ?", [str(quarter)]).fetchone()
    return bytes(row[0]) if row else None
