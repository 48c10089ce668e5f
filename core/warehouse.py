"""The warehouse's public tables (rulebook §6) and the SQL macros the rules share."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from core.faults import crash_point

MONEY = "DECIMAL(18,2)"

PUBLIC_TABLES_DDL = f"""
CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR, source_file VARCHAR, source_line INTEGER, reason VARCHAR, raw VARCHAR,
    detail VARCHAR, rma_number VARCHAR, line_span INTEGER
);
CREATE TABLE IF NOT EXISTS claim_outcomes (
    quarter VARCHAR, distributor_id VARCHAR, rma_number VARCHAR, source_file VARCHAR,
    source_line INTEGER, fulfilled_on DATE, outcome VARCHAR, reason VARCHAR,
    credit_amount {MONEY}, currency VARCHAR, due_quarter VARCHAR, late BOOLEAN,
    claimed_amount {MONEY}, amount_variance {MONEY},
    rule_number INTEGER, defective_serial VARCHAR, replacement_serial VARCHAR,
    replacement_sku VARCHAR, product_sku VARCHAR
);
CREATE TABLE IF NOT EXISTS sla_status (
    quarter VARCHAR, rma_number VARCHAR, clock_start TIMESTAMP, due_on DATE, resolved_on DATE,
    status VARCHAR, days_late INTEGER, incoterm VARCHAR,
    disposition VARCHAR, ship_to_country VARCHAR, customer_name VARCHAR
);
CREATE TABLE IF NOT EXISTS distributor_credits (
    quarter VARCHAR, distributor_id VARCHAR, currency VARCHAR, credited_count INTEGER,
    credit_total {MONEY}, held_count INTEGER, rejected_count INTEGER, credit_memo VARCHAR
);
CREATE TABLE IF NOT EXISTS exceptions (
    quarter VARCHAR, kind VARCHAR, source_file VARCHAR, source_line INTEGER,
    rma_number VARCHAR, detail VARCHAR
);
CREATE TABLE IF NOT EXISTS ingest_log (
    source VARCHAR PRIMARY KEY, files INTEGER, rows_read BIGINT
);
-- What is staged from each input file: its content hash, its rows and the staging logic used.
CREATE TABLE IF NOT EXISTS ingested_files (
    source VARCHAR, source_file VARCHAR, sha256 VARCHAR, rows_read BIGINT, staging VARCHAR,
    lines BIGINT, header_lines BIGINT, blank_lines BIGINT, stat_key VARCHAR
);
CREATE TABLE IF NOT EXISTS quarter_runs (
    quarter VARCHAR PRIMARY KEY, state VARCHAR, as_of DATE, closed_at TIMESTAMP,
    closed_by VARCHAR, released_by VARCHAR, released_at TIMESTAMP, four_eyes BOOLEAN, run_at TIMESTAMP
);
-- Rulebook §7.2: one gap-free sequence of credit memo numbers per warehouse, never reused.
CREATE TABLE IF NOT EXISTS credit_memos (
    credit_memo VARCHAR PRIMARY KEY, quarter VARCHAR, distributor_id VARCHAR, currency VARCHAR,
    amount {MONEY}
);
-- Rulebook §7.3: a closed quarter's journal, re-emitted byte for byte.
CREATE TABLE IF NOT EXISTS closed_journals (quarter VARCHAR PRIMARY KEY, content BLOB, sha256 VARCHAR);
-- Rulebook §7.1: what a release approved; delivery sends only these bytes.
CREATE TABLE IF NOT EXISTS released_files (
    quarter VARCHAR, file_name VARCHAR, sha256 VARCHAR, PRIMARY KEY (quarter, file_name)
);
-- Rulebook §7.1: every close, release, refused release and delivery attempt. Append only.
CREATE TABLE IF NOT EXISTS audit_log (
    happened_at TIMESTAMP, who VARCHAR, action VARCHAR, quarter VARCHAR, outcome VARCHAR, detail VARCHAR
);
CREATE TABLE IF NOT EXISTS delivery_log (
    quarter VARCHAR, distributor_id VARCHAR, file_name VARCHAR, sha256 VARCHAR, recipient VARCHAR,
    status VARCHAR, attempts INTEGER, last_attempt_at TIMESTAMP, detail VARCHAR,
    PRIMARY KEY (quarter, distributor_id, sha256)
);
-- The statement files the latest run of each quarter wrote (the rest of a quarter's folder is
-- the user's).
CREATE TABLE IF NOT EXISTS statement_files (
    quarter VARCHAR, file_name VARCHAR, distributor_id VARCHAR, sha256 VARCHAR,
    PRIMARY KEY (quarter, file_name)
);
-- closed_statements, a closed quarter's FINAL files byte for byte (§7.1), is a view over one
-- table per quarter: see closed_files_table.
"""

# White space as the rulebook means it (Unicode, the no-break space included): Python's isspace().
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Copy-paste leaves these in RMA and serial numbers; they are compared without them.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# No value but customer_name may hold one of these (rulebook §2).
LINE_BREAKS = "\n\r\x85\u2028\u2029"


def regex_class(characters: str) -> str:
    """A regular-expression character class of these characters, for DuckDB (RE2) SQL."""
    return "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in characters) + "]"


_WHITESPACE_SQL = " || ".join(f"chr({ord(c)})" for c in WHITESPACE)
_EDGE_WHITESPACE = f"^{regex_class(WHITESPACE)}|{regex_class(WHITESPACE)}$"
_ZERO_WIDTH_CLASS = regex_class(ZERO_WIDTH)
# Dates outside this range are typing errors, not business events: BAD_VALUE.
EARLIEST = "2000-01-01"
LATEST_EXCLUSIVE = "2100-01-01"
_TIMESTAMP_PATTERN = r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:\d{2})?)?$"

MACROS_SQL = f"""
-- trim() with a character set is slow; most values need none, and a regex tells which do.
-- Most values start and end with a printable ASCII character, which no white space is: they skip
-- the regular expression (8 % of judging the case versions).
CREATE OR REPLACE TEMP MACRO rma_clean(s) AS CASE
    WHEN ascii(s) BETWEEN 33 AND 126 AND ascii(right(s, 1)) BETWEEN 33 AND 126 THEN s
    WHEN regexp_matches(s, '{_EDGE_WHITESPACE}') THEN nullif(trim(s, {_WHITESPACE_SQL}), '')
    ELSE nullif(s, '')
END;
CREATE OR REPLACE TEMP MACRO rma_without_zero_width(s) AS CASE
    WHEN regexp_matches(s, '{_ZERO_WIDTH_CLASS}') THEN regexp_replace(s, '{_ZERO_WIDTH_CLASS}', '', 'g')
    ELSE s
END;
CREATE OR REPLACE TEMP MACRO rma_has_line_break(s) AS regexp_matches(s, '{regex_class(LINE_BREAKS)}');
CREATE OR REPLACE TEMP MACRO rma_offset_minutes(z) AS CASE
    WHEN z IN ('', 'Z') THEN 0
    WHEN CAST(z[2:3] AS INTEGER) > 23 OR CAST(z[5:6] AS INTEGER) > 59 THEN NULL
    ELSE (CASE WHEN z[1] = '-' THEN -1 ELSE 1 END)
         * (CAST(z[2:3] AS INTEGER) * 60 + CAST(z[5:6] AS INTEGER))
END;
CREATE OR REPLACE TEMP MACRO rma_timestamp_from_parts(p) AS CASE WHEN p.d <> '' THEN
    try_cast(p.d || ' ' || CASE WHEN p.t = '' THEN '00:00:00' ELSE p.t END AS TIMESTAMP)
    - to_minutes(rma_offset_minutes(p.z))
END;
CREATE OR REPLACE TEMP MACRO rma_plausible(t) AS CASE
    WHEN t >= TIMESTAMP '{EARLIEST}' AND t < TIMESTAMP '{LATEST_EXCLUSIVE}' THEN t
END;
CREATE OR REPLACE TEMP MACRO rma_parse_timestamp(s) AS
    rma_plausible(rma_timestamp_from_parts(regexp_extract(s, '{_TIMESTAMP_PATTERN}', ['d', 't', 'z'])));
CREATE OR REPLACE TEMP MACRO rma_parse_date(s) AS CASE
    WHEN regexp_full_match(s, '\\d{{4}}-\\d{{2}}-\\d{{2}}')
        THEN CAST(rma_plausible(try_cast(s AS DATE)) AS DATE)
END;
CREATE OR REPLACE TEMP MACRO rma_parse_flag(s) AS CASE
    WHEN lower(s) IN ('true', 'yes', 'y', '1') THEN true
    WHEN lower(s) IN ('false', 'no', 'n', '0') THEN false
END;
CREATE OR REPLACE TEMP MACRO rma_parse_money(s) AS CASE
    WHEN regexp_full_match(s, '[+-]?\\d{{1,16}}(\\.\\d{{1,2}})?') THEN CAST(s AS {MONEY})
END;
-- A distributor's own formats (rulebook §2.5): amounts with its separators, dates in its order.
CREATE OR REPLACE TEMP MACRO rma_parse_local_money(s, pattern, thousands, decimal_mark) AS CASE
    WHEN regexp_full_match(s, pattern) THEN rma_parse_money(replace(
        CASE WHEN thousands IS NULL THEN s ELSE regexp_replace(s, thousands, '', 'g') END, decimal_mark, '.'))
END;
CREATE OR REPLACE TEMP MACRO rma_date_from_parts(p) AS CASE
    WHEN p.y <> '' THEN rma_parse_date(p.y || '-' || lpad(p.m, 2, '0') || '-' || lpad(p.d, 2, '0'))
END;
CREATE OR REPLACE TEMP MACRO rma_parse_local_date(s, date_format) AS rma_date_from_parts(CASE date_format
    WHEN 'dd.mm.yyyy' THEN regexp_extract(s, '^(\\d{{2}})\\.(\\d{{2}})\\.(\\d{{4}})$', ['d', 'm', 'y'])
    WHEN 'dd/mm/yyyy' THEN regexp_extract(s, '^(\\d{{2}})/(\\d{{2}})/(\\d{{4}})$', ['d', 'm', 'y'])
    WHEN 'mm/dd/yyyy' THEN regexp_extract(s, '^(\\d{{2}})/(\\d{{2}})/(\\d{{4}})$', ['m', 'd', 'y'])
    WHEN 'd.m.yyyy' THEN regexp_extract(s, '^(\\d{{1,2}})\\.(\\d{{1,2}})\\.(\\d{{4}})$', ['d', 'm', 'y'])
END);
CREATE OR REPLACE TEMP MACRO rma_quarter(d) AS
    CAST(year(d) AS VARCHAR) || '-Q' || CAST(quarter(d) AS VARCHAR);
"""


# Columns added since a table was first created: a warehouse of an earlier version gets them.
MIGRATIONS_SQL = """
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS rma_number VARCHAR;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS line_span INTEGER;
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS lines BIGINT;
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS header_lines BIGINT;
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS blank_lines BIGINT;
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS stat_key VARCHAR;
ALTER TABLE distributor_credits ADD COLUMN IF NOT EXISTS credit_memo VARCHAR;
ALTER TABLE quarter_runs ADD COLUMN IF NOT EXISTS closed_by VARCHAR;
ALTER TABLE quarter_runs ADD COLUMN IF NOT EXISTS released_by VARCHAR;
ALTER TABLE quarter_runs ADD COLUMN IF NOT EXISTS released_at TIMESTAMP;
ALTER TABLE quarter_runs ADD COLUMN IF NOT EXISTS four_eyes BOOLEAN;
ALTER TABLE quarter_runs ADD COLUMN IF NOT EXISTS run_at TIMESTAMP;
"""


_DUCKDB_MAGIC = (8, b"DUCK")  # where and what a DuckDB database file says it is


def warehouse_problem(path: Path) -> str | None:
    """Why `path` cannot be the warehouse, in one line; None for a DuckDB file or a new path.
    (DuckDB would open a CSV file as a database of its own and lose every write.)"""
    if not path.exists():
        return None
    if path.is_dir():
        return f"the warehouse {str(path)!r} is a folder, not a DuckDB file"
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        return f"cannot read the warehouse {str(path)!r}: {error.strerror or error}"
    offset, magic = _DUCKDB_MAGIC
    if head and head[offset : offset + len(magic)] != magic:
        return (
            f"the warehouse {str(path)!r} exists and is not a DuckDB database; "
            "name a new file or the right one"
        )
    return None


def clear_empty_warehouse(path: Path) -> None:
    """An empty file is what DuckDB leaves when it cannot create a database (a full disk); it holds
    nothing, and DuckDB refuses to open it, so it goes before the next attempt."""
    if path.is_file() and path.stat().st_size == 0:
        path.unlink()


# What the operating system (or DuckDB, quoting it) says, and what it means for the user.
_FAULTS = (
    ("No space left on device", "no space left on the disk"),
    ("Disk quota exceeded", "the disk quota is used up"),
    ("Read-only file system", "the file system is read-only"),
    ("Permission denied", "permission denied"),
    ("Not a directory", "a file stands where a folder is needed"),
)
_QUOTED_PATH = re.compile(r"""['"](/[^'"]+|[^'"]*/[^'"]*)['"]""")


def fault_message(text: str) -> str | None:
    """One line for a fault of the disk or its permissions in an error's text, naming the path;
    None when the text is about something else."""
    for words, meaning in _FAULTS:
        if words in text:
            path = _QUOTED_PATH.search(text)
            where = f" at {path.group(1)}" if path else ""
            return f"{meaning}{where}: fix that and run again; the warehouse keeps its last complete state"
    return None


class WarehouseHeld(Exception):
    """Another program holds the warehouse file open (DuckDB allows one writer)."""


def connect_waiting(path: Path, timeout_seconds: float, read_only: bool = False, on_wait=None):
    """A connection to the warehouse, waiting up to the timeout while another program (a reader
    such as the DuckDB CLI or a BI tool) holds the file; raises WarehouseHeld after that."""
    deadline = time.monotonic() + timeout_seconds
    waited = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                holder = str(error).split("Conflicting lock is held in ")[-1].split(". See also")[0]
                raise WarehouseHeld(
                    f"the warehouse {str(path)!r} is held open by another program ({holder}); "
                    f"gave up after {timeout_seconds:g}s (close it, or raise --lock-timeout)"
                ) from None
            if not waited and on_wait:
                on_wait()
            waited = True
            time.sleep(0.2)


# Names this code's tables and macros; a connection prepared with it need not be prepared again.
_PREPARED = hashlib.sha256((PUBLIC_TABLES_DDL + MIGRATIONS_SQL + MACROS_SQL).encode()).hexdigest()


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the public tables if missing (or add their new columns) and this connection's macros.
    Once per connection: creating the macros costs about 16 ms, and every step asks for them."""
    try:
        if con.execute("SELECT version FROM temp.main.rma_prepared").fetchone() == (_PREPARED,):
            return
    except duckdb.CatalogException:
        pass
    con.execute(PUBLIC_TABLES_DDL)
    con.execute(MIGRATIONS_SQL)
    _prepare_closed_statements(con)
    con.execute(MACROS_SQL)
    con.execute("CREATE OR REPLACE TEMP TABLE rma_prepared AS SELECT ? AS version", [_PREPARED])


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection, name: str = "transaction") -> Iterator[None]:
    """What the block writes lands as a whole when it ends, or none of it does."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        crash_point(f"{name}-before-commit")
        con.execute("COMMIT")
    except BaseException:
        # A failed write (a full disk) can end the transaction itself; the first error says why.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


# Rulebook §7.1: each closed quarter's files in tables of their own. In one table, a close's few
# hundred rows went into the row group that held the earlier closes' files, and DuckDB rewrites
# a changed row group whole at the next checkpoint: every close rewrote every earlier close's
# bytes (1.4 s of a warm close at a million cases, growing with each quarter).
# A quarter's files are stored in parts of about CLOSED_FILES_PART_BYTES, each committed on its
# own before the close's transaction: committing ten million cases' 1.8 GB of files at once took
# DuckDB 6.9 GB of memory (its log of the commit), 64 MB parts 0.5 GB.
CLOSED_FILES_COLUMNS = (
    "quarter VARCHAR, file_name VARCHAR PRIMARY KEY, distributor_id VARCHAR, content BLOB, sha256 VARCHAR"
)
CLOSED_FILES_PART_BYTES = 64_000_000
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
# A quarter's first part is closed_statements_2026_q3, its next ones closed_statements_2026_q3_2...
_CLOSED_FILES_TABLE = re.compile(r"(closed_statements_\d{4}_q[1-4])(?:_([2-9]|[1-9]\d+))?")
# Parts stored for a close that has not committed yet (a killed close leaves them behind).
_WAITING_FILES_TABLE = re.compile(r"closing_statements_[1-9]\d*")


def closed_files_table(quarter: str, part: int = 1) -> str:
    """The table of one part of a closed quarter's FINAL files (statements, remittance files)."""
    match = _QUARTER.fullmatch(quarter)
    if match is None:
        raise ValueError(f"not a quarter: {quarter!r}")
    base = f"closed_statements_{match.group(1)}_q{match.group(2)}"
    return base if part == 1 else f"{base}_{part}"


def _main_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary"
        ).fetchall()
    ]


def _closed_parts(con: duckdb.DuckDBPyConnection, quarter: str | None = None) -> list[str]:
    """The tables of the closed quarters' files (or of one quarter's), in quarter and part order."""
    wanted = closed_files_table(quarter) if quarter is not None else None
    parts = []
    for name in _main_tables(con):
        match = _CLOSED_FILES_TABLE.fullmatch(name)
        if match and wanted in (None, match[1]):
            parts.append((match[1], int(match[2] or 1), name))
    return [name for *_, name in sorted(parts)]


def _drop_closed_parts(con: duckdb.DuckDBPyConnection, quarter: str) -> None:
    for table in _closed_parts(con, quarter):
        con.execute(f"DROP TABLE {table}")


def replace_closed_files_table(con: duckdb.DuckDBPyConnection, quarter: str) -> str:
    """An empty table for the quarter's closed files, in place of any earlier ones; its name.
    Inside the caller's transaction, like the rows the caller then stores."""
    _drop_closed_parts(con, quarter)
    table = closed_files_table(quarter)
    con.execute(f"CREATE TABLE {table} ({CLOSED_FILES_COLUMNS})")
    _refresh_closed_statements(con)
    return table


def drop_waiting_files(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the parts a close stored and did not commit (it failed or was killed). Outside a
    transaction: inside one, DuckDB would keep their bytes until it ends. A checkpoint then
    frees their space for the next close (without it, the retry of a close that filled the disk
    needs that space again)."""
    dropped = False
    for name in _main_tables(con):
        if _WAITING_FILES_TABLE.fullmatch(name):
            con.execute(f"DROP TABLE {name}")
            dropped = True
    if dropped:
        con.execute("CHECKPOINT")


def store_waiting_files(con: duckdb.DuckDBPyConnection, rows: Iterable[tuple]) -> int:
    """Store a close's file rows (CLOSED_FILES_COLUMNS) in parts of about CLOSED_FILES_PART_BYTES
    of content, each part a table committed on its own; how many parts (at least one).
    `move_waiting_files` puts them in place in the close's transaction. Outside a transaction.
    The caller drops a killed close's parts first (`drop_waiting_files`): its checkpoint must not
    run while another connection of the close is busy."""
    part, part_bytes = 0, None
    try:
        for row in rows:
            if part_bytes is None:
                part += 1
                con.execute("BEGIN TRANSACTION")
                con.execute(f"CREATE TABLE closing_statements_{part} ({CLOSED_FILES_COLUMNS})")
                part_bytes = 0
            # One row per statement: as one list parameter the bytes were copied twice more.
            con.execute(f"INSERT INTO closing_statements_{part} VALUES (?, ?, ?, ?, ?)", list(row))
            part_bytes += len(row[3])
            if part_bytes >= CLOSED_FILES_PART_BYTES:
                _commit_part(con)
                part_bytes = None
        if part_bytes is not None:
            _commit_part(con)
        elif part == 0:
            con.execute(f"CREATE TABLE closing_statements_1 ({CLOSED_FILES_COLUMNS})")
            part = 1
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return part


def _commit_part(con: duckdb.DuckDBPyConnection) -> None:
    # DuckDB checkpoints the part at its commit unless another connection is busy then (a close
    # stores its parts while its own connection makes the next files); the log then keeps the
    # part until a later commit can. Not FORCE CHECKPOINT: it waits for every other connection's
    # open result, which the close's may hold until it has stored every file (a deadlock).
    con.execute("COMMIT")
    crash_point("close-part-stored")


def move_waiting_files(con: duckdb.DuckDBPyConnection, quarter: str, parts: int) -> None:
    """Inside the close's transaction: the stored parts become the quarter's closed files, in
    place of any earlier ones."""
    waiting = [f"closing_statements_{part}" for part in range(1, parts + 1)]
    twice = con.execute(
        f"""SELECT file_name FROM ({" UNION ALL ".join(f"SELECT file_name FROM {t}" for t in waiting)})
        GROUP BY file_name HAVING count(*) > 1 ORDER BY file_name LIMIT 1"""
    ).fetchone()
    if twice:  # each part's key cannot see the others
        raise ValueError(f"{quarter}: the close made two files named {twice[0]}")
    _drop_closed_parts(con, quarter)
    for part in range(1, parts + 1):
        con.execute(f"ALTER TABLE closing_statements_{part} RENAME TO {closed_files_table(quarter, part)}")
    _refresh_closed_statements(con)


def _refresh_closed_statements(con: duckdb.DuckDBPyConnection) -> None:
    """closed_statements: every quarter's closed files, as one view."""
    selects = [
        f"SELECT quarter, file_name, distributor_id, content, sha256 FROM {t}" for t in _closed_parts(con)
    ]
    none = (
        "SELECT NULL::VARCHAR AS quarter, NULL::VARCHAR AS file_name, NULL::VARCHAR AS distributor_id, "
        "NULL::BLOB AS content, NULL::VARCHAR AS sha256 WHERE false"
    )
    con.execute(f"CREATE OR REPLACE VIEW closed_statements AS {' UNION ALL '.join(selects) or none}")


def _prepare_closed_statements(con: duckdb.DuckDBPyConnection) -> None:
    """The closed_statements view; a warehouse of an earlier version, where it was one table,
    gets a table per quarter with the same rows in the same order."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main' AND table_name = 'closed_statements'"
    ).fetchone()
    if kind == ("VIEW",):
        return
    if kind is None:
        _refresh_closed_statements(con)
        return
    with transaction(con, "closed_statements by quarter"):
        con.execute("ALTER TABLE closed_statements RENAME TO closed_statements_before_by_quarter")
        quarters = con.execute(
            "SELECT DISTINCT quarter FROM closed_statements_before_by_quarter ORDER BY quarter"
        ).fetchall()
        for (quarter,) in quarters:
            con.execute(f"CREATE TABLE {closed_files_table(quarter)} ({CLOSED_FILES_COLUMNS})")
            con.execute(
                f"""INSERT INTO {closed_files_table(quarter)}
                SELECT quarter, file_name, distributor_id, content, sha256
                FROM closed_statements_before_by_quarter WHERE quarter = ? ORDER BY rowid""",
                [quarter],
            )
        con.execute("DROP TABLE closed_statements_before_by_quarter")
        _refresh_closed_statements(con)


def in_transaction(
    con: duckdb.DuckDBPyConnection, statements: list[tuple[str, list]], name: str = "transaction"
) -> None:
    """Run the statements as one transaction: all of them land, or none."""
    with transaction(con, name):
        for sql, params in statements:
            con.execute(sql, params)


# DuckDB alone would take up to 80 % of RAM. A run's other processes (the validator, statement
# workers) need about as much again as DuckDB at a million cases, so the default keeps such a run
# near 2 GB in all: 1 GiB for DuckDB, or an eighth of a smaller machine's RAM. A bigger history
# gets as much as its input files take, up to a quarter of RAM: at ten million cases DuckDB would
# otherwise spill most of what it sorts and joins. DuckDB spills to disk beyond its limit.
DEFAULT_DUCKDB_MEMORY_MIB = 1024


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0]
    )


def default_memory_limit(input_bytes: int = 0) -> str:
    """DuckDB's memory limit when none is set, for a run over `input_bytes` of input files."""
    try:
        total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        total_mib = 8 * DEFAULT_DUCKDB_MEMORY_MIB
    small = min(DEFAULT_DUCKDB_MEMORY_MIB, total_mib // 8)
    return f"{max(256, small, min(input_bytes // 2**20, total_mib // 4))}MiB"
