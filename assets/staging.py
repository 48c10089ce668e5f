"""Rulebook §2: every data row of every input file is loaded into a `stg_*` table or quarantined.

Python reads files and keeps line numbers (quote-free CSV files it hands to SQL whole, to be
split at newlines and commas); DuckDB SQL trims, parses and judges every value, so the cost
per row stays in the database engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from assets.readers import BLANK_LINE_CHARS, PlainCsv, RawFile, UnreadableFile, is_inside, iter_data_files, read_input_file
from assets.warehouse import in_transaction, prepare

CSV_ONLY = (".csv",)
CSV_OR_XLSX = (".csv", ".xlsx")
CHUNK_ROWS = 100_000
PLAIN_BATCH_CHARS = 64_000_000  # bounds memory: plain files go to SQL in batches of this much text
MAX_VALUE_CHARS = 1_000  # longer values are BAD_VALUE: no serial, SKU or name is that long
MAX_RAW_CHARS = 10_000  # the quarantine keeps this much of a record's raw text


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text | key | timestamp | date | enum | flag | money | country | currency
    required: bool = True
    required_when: str | None = None  # SQL over parsed values, e.g. "p_channel = 'distributor'"
    values: tuple[str, ...] = ()
    non_negative: bool = False
    not_before: str | None = None  # another column this one may not precede
    must_be_distributor: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    unique_column: str | None = None
    duplicate_reason: str | None = None
    folder_is_distributor: bool = False

    @property
    def table(self) -> str:
        return f"stg_{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


DISTRIBUTORS = Source(
    "distributors",
    (
        Column("distributor_id"),
        Column("name", required=False),
        Column("email", required=False),
        Column("country", "country", required=False),
        Column("currency", "currency"),
    ),
    unique_column="distributor_id",
    duplicate_reason="DUPLICATE_DISTRIBUTOR",
)

PRICE_LIST = Source(
    "price_list",
    (
        Column("sku"),
        Column("currency", "currency"),
        Column("unit_credit", "money", non_negative=True),
        Column("valid_from", "date"),
        Column("valid_to", "date", required=False, not_before="valid_from"),
    ),
)

RMA_CASES = Source(
    "rma_cases",
    (
        Column("rma_number", "key"),
        Column("updated_at", "timestamp"),
        Column("opened_at", "timestamp"),
        Column("channel", "enum", values=("direct", "distributor")),
        Column(
            "distributor_id",
            required=False,
            required_when="p_channel = 'distributor'",
            must_be_distributor=True,
        ),
        Column("customer_name", required=False),
        Column("product_sku"),
        Column("serial_number", "key"),
        Column("ship_to_country", "country"),
        Column("warranty_end", "date"),
        Column("diagnosis", "enum", values=("pending", "defective", "no_fault_found", "not_covered")),
        Column("diagnosed_at", "timestamp", required=False, required_when="p_diagnosis <> 'pending'"),
        Column("return_required", "flag"),
        Column("disposition", "enum", required=False, values=("repair", "replace", "credit", "none")),
        Column("resolved_at", "timestamp", required=False),
        Column("status", "enum", values=("open", "closed", "cancelled")),
    ),
)

RECEIVING_LOGS = Source(
    "receiving_logs",
    (
        Column("receipt_id"),
        Column("rma_number", "key"),
        Column("serial_number", "key"),
        Column("received_at", "timestamp"),
        Column("warehouse", required=False),
        Column("condition", required=False),
        Column("carrier", required=False),
        Column("tracking_number", required=False),
    ),
    unique_column="receipt_id",
    duplicate_reason="DUPLICATE_RECEIPT_ID",
)

FULFILLMENT_REPORTS = Source(
    "fulfillment_reports",
    (
        Column("rma_number", "key"),
        Column("fulfilled_on", "date"),
        Column("defective_serial", "key"),
        Column("replacement_serial"),
        Column("replacement_sku", required=False),
        Column("claimed_amount", "money", required=False, non_negative=True),
    ),
    folder_is_distributor=True,
)

SOURCES = {source.name: source for source in (DISTRIBUTORS, PRICE_LIST, RMA_CASES, RECEIVING_LOGS, FULFILLMENT_REPORTS)}


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: str  # relative to the data directory, '/'-separated
    distributor_id: str | None = None


def list_input_files(data_dir: Path, source: Source) -> list[InputFile]:
    """The files of a source in byte order of their relative path."""
    if source.name in ("distributors", "price_list"):
        path = data_dir / "reference" / f"{source.name}.csv"
        files = [InputFile(path, f"reference/{source.name}.csv")] if path.exists() or path.is_symlink() else []
    elif source.folder_is_distributor:
        root = data_dir / "inbound" / source.name
        folders = sorted((entry for entry in root.iterdir() if entry.is_dir()), key=lambda e: os.fsencode(e.name)) if root.is_dir() else []
        files = [
            InputFile(path, f"inbound/{source.name}/{folder.name}/{path.name}", folder.name)
            for folder in folders
            for path in iter_data_files(folder, CSV_OR_XLSX)
        ]
        # A report outside any distributor folder has no submitter: quarantined, not ignored.
        files += [InputFile(path, f"inbound/{source.name}/{path.name}") for path in iter_data_files(root, CSV_OR_XLSX)]
    else:
        folder = data_dir / "inbound" / source.name
        files = [InputFile(path, f"inbound/{source.name}/{path.name}") for path in iter_data_files(folder, CSV_ONLY)]
    return sorted(files, key=lambda f: f.relative.encode("utf-8", "surrogateescape"))


@dataclass
class SourceReport:
    source: str
    files: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)


RAW_FIXED_COLUMNS = ["source_file", "source_line", "raw", "preset_reason", "detail", "folder"]


@dataclass(frozen=True)
class _HeaderVerdict:
    preset_reason: str | None  # applies to every row of the file
    detail: str | None
    indexes: list[int | None]  # field position of each source column, in table order
    header_width: int


def _judge_header(source: Source, input_file: InputFile, header: list[str], known_distributors: set[str]) -> _HeaderVerdict:
    preset_reason, detail = None, None
    if source.folder_is_distributor and input_file.distributor_id not in known_distributors:
        preset_reason = "UNKNOWN_DISTRIBUTOR"
        detail = (
            f"folder {input_file.distributor_id!r} is not in reference/distributors.csv"
            if input_file.distributor_id is not None
            else "report is not inside a distributor folder"
        )
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(name.strip().lower(), index)  # a repeated header: the first one counts
    if preset_reason is None:
        for column in source.columns:
            if column.required and column.name not in positions:
                preset_reason = f"MISSING_COLUMN:{column.name}"
                detail = f"header has no {column.name!r} column"
                if len(header) == 1 and ";" in header[0]:
                    detail += " (the file looks semicolon-separated; inputs must be comma-separated)"
                break
    return _HeaderVerdict(preset_reason, detail, [positions.get(column.name) for column in source.columns], len(header))


def _read(data_dir: Path, source: Source, input_file: InputFile) -> RawFile | PlainCsv | list:
    """The file's content, or the one quarantine row of a file that cannot be read."""

    def whole_file(reason: str, detail: str) -> list:
        return [input_file.relative, 0, "", reason, detail, input_file.distributor_id, *([None] * len(source.columns))]

    if not is_inside(input_file.path, data_dir):
        return whole_file("UNREADABLE_FILE", "symbolic link leading outside the data directory, not followed")
    try:
        content = read_input_file(input_file.path)
    except UnreadableFile as error:
        return whole_file("UNREADABLE_FILE", str(error))
    except OSError as error:
        return whole_file("UNREADABLE_FILE", f"cannot open: {error.strerror or error}")
    if isinstance(content, RawFile) and not content.header and not content.records:
        return whole_file("UNREADABLE_FILE", "empty file: no header row")
    return content


def _raw_rows(raw_file: RawFile, input_file: InputFile, verdict: _HeaderVerdict) -> Iterator[list]:
    """One list per data row: fixed columns, then the source's columns in table order."""
    for record in raw_file.records:
        fields = record.fields
        reason, why = verdict.preset_reason, verdict.detail
        if reason is None and len(fields) > verdict.header_width and any(f.strip() for f in fields[verdict.header_width :]):
            reason, why = "EXTRA_FIELDS", f"{len(fields)} fields under a header of {verdict.header_width}"
        values = [fields[i] if i is not None and i < len(fields) else None for i in verdict.indexes]
        raw = record.raw
        if len(raw) > MAX_RAW_CHARS:
            raw = f"{raw[:MAX_RAW_CHARS]}… [{len(record.raw)} characters in all]"
        yield [input_file.relative, record.line, raw, reason, why, input_file.distributor_id, *values]


_BLANK_LINE_PATTERN = "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in BLANK_LINE_CHARS) + "]*"


def _plain_rows_sql(source: Source) -> str:
    """The rows of PlainCsv files, split by SQL exactly as `_raw_rows` does for parsed files."""
    values = ", ".join(
        f"CASE WHEN position_{i} < len(fields) THEN fields[position_{i} + 1] END" for i in range(len(source.columns))
    )
    return f"""
    INSERT INTO raw_{source.name}
    WITH lines AS (
      SELECT file_id, unnest(lines) AS raw, generate_subscripts(lines, 1) AS line_index
      FROM (SELECT file_id, string_split(body, chr(10)) AS lines FROM plain_bodies)
    ), records AS (
      SELECT file_id, line_index, raw, string_split(raw, ',') AS fields
      FROM lines
      WHERE NOT regexp_full_match(raw, '{_BLANK_LINE_PATTERN}')
    ), judged AS (
      SELECT r.*, f.*, len(fields) > f.header_width AND NOT regexp_full_match(
            array_to_string(fields[f.header_width + 1:], ','), '{_BLANK_LINE_PATTERN}') AS extra_fields
      FROM records r JOIN plain_files f USING (file_id)
    )
    SELECT relative, header_line + line_index,
        CASE WHEN length(raw) > {MAX_RAW_CHARS}
            THEN left(raw, {MAX_RAW_CHARS}) || '… [' || length(raw) || ' characters in all]' ELSE raw END,
        coalesce(preset_reason, CASE WHEN extra_fields THEN 'EXTRA_FIELDS' END),
        CASE WHEN preset_reason IS NOT NULL THEN detail
            WHEN extra_fields THEN len(fields) || ' fields under a header of ' || header_width END,
        folder, {values}
    FROM judged
    """


def _parse_expression(column: Column) -> str:
    value = f"t_{column.name}"
    if column.kind == "text":
        return value
    if column.kind == "key":
        return f"upper({value})"
    if column.kind == "timestamp":
        return f"rma_parse_timestamp({value})"
    if column.kind == "date":
        return f"rma_parse_date({value})"
    if column.kind == "flag":
        return f"rma_parse_flag({value})"
    if column.kind == "money":
        return f"rma_parse_money({value})"
    if column.kind == "enum":
        allowed = ", ".join(f"'{v}'" for v in column.values)
        return f"CASE WHEN lower({value}) IN ({allowed}) THEN lower({value}) END"
    if column.kind in ("country", "currency"):
        letters = 2 if column.kind == "country" else 3
        return f"CASE WHEN regexp_full_match({value}, '[A-Za-z]{{{letters}}}') THEN upper({value}) END"
    raise ValueError(f"unknown column kind {column.kind}")


def _problem_clauses(column: Column) -> list[str]:
    """CASE branches for one column: missing, then bad, then unknown reference."""
    raw_value, parsed = f"t_{column.name}", f"p_{column.name}"
    clauses = []
    if column.required or column.required_when:
        condition = f"{raw_value} IS NULL"
        if not column.required:
            condition += f" AND ({column.required_when})"
        clauses.append(f"WHEN {condition} THEN 'MISSING_VALUE:{column.name}'")
    bad = f"{raw_value} IS NOT NULL AND ({parsed} IS NULL OR length({raw_value}) > {MAX_VALUE_CHARS})"
    if column.non_negative:
        bad = f"({bad}) OR {parsed} < 0"
    if column.not_before:
        bad = f"({bad}) OR {parsed} < p_{column.not_before}"
    clauses.append(f"WHEN {bad} THEN 'BAD_VALUE:{column.name}'")
    if column.must_be_distributor:
        clauses.append(
            f"WHEN {parsed} IS NOT NULL AND p_channel = 'distributor' "
            f"AND {parsed} NOT IN (SELECT distributor_id FROM stg_distributors) THEN 'UNKNOWN_DISTRIBUTOR'"
        )
    return clauses


def judge_sql(source: Source) -> str:
    """SQL that gives every raw row its parsed values and its quarantine reason (NULL = loaded)."""
    cleaned = ",\n    ".join(f"rma_clean({c.name}) AS t_{c.name}" for c in source.columns)
    parsed = ",\n    ".join(f"{_parse_expression(c)} AS p_{c.name}" for c in source.columns)
    problems = "\n        ".join(clause for c in source.columns for clause in _problem_clauses(c))
    reason = "row_reason"
    if source.unique_column:
        # "Already loaded" = an earlier valid row with the same key (path byte order, then line).
        reason = f"""CASE WHEN row_reason IS NULL AND row_number() OVER (
        PARTITION BY row_reason IS NULL, p_{source.unique_column} ORDER BY source_file, source_line
    ) > 1 THEN '{source.duplicate_reason}' ELSE row_reason END"""
    kept = ", ".join(f"p_{c.name}" for c in source.columns)
    return f"""
WITH cleaned AS (
  SELECT *, {cleaned}
  FROM raw_{source.name}
), parsed AS (
  SELECT *, {parsed}
  FROM cleaned
), judged AS (
  SELECT *, coalesce(preset_reason, CASE
        {problems}
    END) AS row_reason
  FROM parsed
)
SELECT source_file, source_line, folder, {kept}, reason,
    CASE WHEN reason IS NOT NULL THEN raw END AS raw, CASE WHEN reason IS NOT NULL THEN detail END AS detail
FROM (SELECT *, {reason} AS reason FROM judged)
"""


def stage_source(con: duckdb.DuckDBPyConnection, data_dir: Path, source: Source) -> SourceReport:
    """Read, judge and load one source; replace its staged table and its quarantine rows."""
    prepare(con)
    data_dir = Path(data_dir)
    report = SourceReport(source.name)
    known_distributors: set[str] = set()
    if source.folder_is_distributor:
        known_distributors = {row[0] for row in con.execute("SELECT distributor_id FROM stg_distributors").fetchall()}

    raw_columns = RAW_FIXED_COLUMNS + source.column_names
    column_types = ", ".join(f'"{name}" {"INTEGER" if name == "source_line" else "VARCHAR"}' for name in raw_columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{source.name} ({column_types})")
    input_files = list_input_files(data_dir, source)
    report.files = len(input_files)
    chunk: list[list] = []
    plain_files: list[list] = []
    plain_bodies: list[tuple[int, str]] = []
    plain_chars = 0

    def flush() -> None:
        if chunk:
            frame = pd.DataFrame(chunk, columns=raw_columns, dtype=object)
            frame["source_line"] = frame["source_line"].astype("int64")
            con.register("raw_chunk", frame)
            con.execute(f"INSERT INTO raw_{source.name} SELECT * FROM raw_chunk")
            con.unregister("raw_chunk")
            chunk.clear()

    def flush_plain() -> None:
        nonlocal plain_chars
        if plain_files:
            position_columns = [f"position_{i}" for i in range(len(source.columns))]
            files = pd.DataFrame(
                plain_files,
                columns=["file_id", "relative", "header_line", "header_width", "preset_reason", "detail", "folder", *position_columns],
            ).astype({"file_id": "int64", "header_line": "int64", "header_width": "int64", **{c: "Int64" for c in position_columns}})
            con.register("plain_files", files)
            con.register("plain_bodies", pd.DataFrame(plain_bodies, columns=["file_id", "body"]).astype({"file_id": "int64"}))
            con.execute(_plain_rows_sql(source))
            con.unregister("plain_files")
            con.unregister("plain_bodies")
            plain_files.clear()
            plain_bodies.clear()
            plain_chars = 0

    for file_id, input_file in enumerate(input_files):
        content = _read(data_dir, source, input_file)
        if isinstance(content, list):
            report.rows_read += 1
            chunk.append(content)
            continue
        verdict = _judge_header(source, input_file, content.header, known_distributors)
        if isinstance(content, PlainCsv):
            report.rows_read += content.rows
            plain_files.append([file_id, input_file.relative, content.header_line, verdict.header_width,
                                verdict.preset_reason, verdict.detail, input_file.distributor_id, *verdict.indexes])
            plain_bodies.append((file_id, content.body))
            plain_chars += len(content.body)
            if plain_chars >= PLAIN_BATCH_CHARS:
                flush_plain()
            continue
        for row in _raw_rows(content, input_file, verdict):
            report.rows_read += 1
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                flush()
    flush()
    flush_plain()

    con.execute(f"CREATE OR REPLACE TEMP TABLE judged_{source.name} AS {judge_sql(source)}")
    loaded_columns = ", ".join(f"p_{name} AS {name}" for name in source.column_names)
    if source.folder_is_distributor:
        loaded_columns = "folder AS distributor_id, " + loaded_columns
    counts = con.execute(
        f"SELECT reason, count(*) FROM judged_{source.name} GROUP BY reason ORDER BY reason NULLS FIRST"
    ).fetchall()
    in_transaction(
        con,
        [
            (
                f"""CREATE OR REPLACE TABLE {source.table} AS
                SELECT source_file, source_line, {loaded_columns}
                FROM judged_{source.name} WHERE reason IS NULL
                ORDER BY source_file, source_line""",
                [],
            ),
            ("DELETE FROM quarantine WHERE source = ?", [source.name]),
            (
                f"""INSERT INTO quarantine
                SELECT ?, source_file, source_line, reason, raw, detail
                FROM judged_{source.name} WHERE reason IS NOT NULL
                ORDER BY source_file, source_line""",
                [source.name],
            ),
            (
                """INSERT INTO ingest_log VALUES (?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET files = excluded.files, rows_read = excluded.rows_read""",
                [source.name, report.files, report.rows_read],
            ),
        ],
    )
    for reason, count in counts:
        if reason is None:
            report.rows_loaded = count
        else:
            report.quarantined_by_reason[reason] = count
            report.rows_quarantined += count
    con.execute(f"DROP TABLE raw_{source.name}")
    con.execute(f"DROP TABLE judged_{source.name}")
    return report
