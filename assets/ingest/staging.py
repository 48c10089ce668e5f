"""Rulebook §2: every data row of every input file is loaded into a `stg_*` table or quarantined.

Python reads files and keeps line numbers (quote-free CSV files it hands to SQL whole, to be
split at newlines and commas); DuckDB SQL trims, parses and judges every value, so the cost
per row stays in the database engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from assets.ingest import profiles, readers, sources
from assets.ingest.profiles import NO_PROFILE, ReportProfile, load_profiles
from assets.ingest.readers import (
    PlainCsv,
    RawFile,
    UnreadableFile,
    blank_line_chars,
    is_inside,
    parse_input_file,
)
from assets.ingest.sources import OUTSIDE_LINK, Column, InputFile, Source, list_input_files
from core import warehouse
from core.warehouse import LINE_BREAKS, prepare, transaction

CHUNK_ROWS = 100_000
PLAIN_BATCH_CHARS = 64_000_000  # bounds memory: plain files go to SQL in batches of this much text
STAGE_BATCH_BYTES = 64_000_000  # a source without a unique key is judged and written this much at a time
MAX_VALUE_CHARS = 1_000  # longer values are BAD_VALUE: no serial, SKU or name is that long
MAX_RAW_CHARS = 10_000  # the quarantine keeps this much of a record's raw text
LINE_BREAK_ALLOWED = {"customer_name"}  # no other value may hold a line break (rulebook §2)


@dataclass
class SourceReport:
    source: str
    files: int = 0
    files_staged: int = 0  # read and judged by this run; the others were unchanged
    rebuilt: bool = True  # the whole table was staged again, not only the changed files
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)


RAW_FIXED_COLUMNS = [
    "source_file",
    "source_line",
    "raw",
    "preset_reason",
    "detail",
    "folder",
    "line_span",
    "line_break",
]
MANIFEST_COLUMNS = [
    "source",
    "source_file",
    "sha256",
    "rows_read",
    "staging",
    "lines",
    "header_lines",
    "blank_lines",
    "stat_key",
]
_RAW_TYPES = {"source_line": "INTEGER", "line_span": "INTEGER", "line_break": "BOOLEAN"}


@dataclass(frozen=True)
class _HeaderVerdict:
    preset_reason: str | None  # applies to every row of the file
    detail: str | None
    indexes: list[int | None]  # field position of each source column, in table order
    header_width: int


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _judge_header(
    source: Source,
    input_file: InputFile,
    header: list[str],
    known_distributors: set[str],
    profile: ReportProfile = NO_PROFILE,
) -> _HeaderVerdict:
    preset_reason, detail = None, None
    if source.folder_is_distributor and input_file.distributor_id not in known_distributors:
        preset_reason = "UNKNOWN_DISTRIBUTOR"
        detail = (
            f"folder {input_file.distributor_id!r} is not in reference/distributors.csv"
            if input_file.distributor_id is not None
            else "report is not inside a distributor folder"
        )
    # A repeated header: the first one counts; a distributor's aliases name columns too (§2.5).
    positions = profile.header_positions(header, source.column_names)
    if preset_reason is None:
        for column in source.columns:
            if column.required and column.name not in positions:
                preset_reason = f"MISSING_COLUMN:{column.name}"
                detail = f"header has no {column.name!r} column"
                if profile.aliases:
                    detail += " (nor one of its aliases in reference/column_aliases.csv)"
                looks = [
                    name
                    for d, name in _DELIMITER_NAMES.items()
                    if len(header) == 1 and d != profile.delimiter and d in header[0]
                ]
                if looks and profile.delimiter != ",":
                    detail += (
                        f" (the file looks {looks[0]}-separated, but the distributor's profile in "
                        f"reference/report_profiles.csv says {_DELIMITER_NAMES[profile.delimiter]})"
                    )
                elif looks and source.folder_is_distributor:
                    detail += (
                        f" (the file looks {looks[0]}-separated: describe the distributor's format in "
                        "reference/report_profiles.csv; `rma-recon profile` suggests one)"
                    )
                elif looks:
                    detail += f" (the file looks {looks[0]}-separated; inputs must be comma-separated)"
                break
    return _HeaderVerdict(
        preset_reason, detail, [positions.get(column.name) for column in source.columns], len(header)
    )


def _whole_file_row(source: Source, input_file: InputFile, reason: str, detail: str) -> list:
    return [
        input_file.relative,
        0,
        "",
        reason,
        detail,
        input_file.distributor_id,
        0,  # the file as a whole: its lines are not counted one by one
        False,
        *([None] * len(source.columns)),
    ]


def _file_bytes(
    data_dir: Path, source: Source, input_file: InputFile, resolved: dict[str, str] | None = None
) -> bytes | list:
    """The file's bytes, or the one quarantine row of a file that is not read or cannot be opened."""
    if input_file.problem is not None:
        return _whole_file_row(source, input_file, *input_file.problem)
    if not is_inside(input_file.path, data_dir, resolved):
        return _whole_file_row(source, input_file, "UNREADABLE_FILE", OUTSIDE_LINK)
    try:
        return input_file.path.read_bytes()
    except OSError as error:
        return _whole_file_row(
            source, input_file, "UNREADABLE_FILE", f"cannot open: {error.strerror or error}"
        )


# A file changed this recently may change again within its clock tick (coarse file timestamps),
# leaving its size and times as they were: its stat vouches for nothing yet (git's "racily clean").
STAT_SETTLED_NS = 5_000_000_000


def _stat_key(input_file: InputFile) -> str | None:
    """The file's size, times and identity, taken before its bytes are read: while they stay the
    same, so do the bytes, which need not be read and hashed again (the files of a history are
    gigabytes). None when they cannot vouch: the file changed too recently, cannot be found, or
    is not read for what it is. Every write changes the change time (ctime), which no user can
    set back."""
    if input_file.problem is not None:
        return None
    try:
        stat = os.stat(input_file.path)
    except OSError:
        return None
    if max(stat.st_mtime_ns, stat.st_ctime_ns) > time.time_ns() - STAT_SETTLED_NS:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}:{stat.st_dev}"


def _digest(data: bytes | list, input_file: InputFile) -> str | None:
    """What the manifest keeps to tell an unchanged file: the SHA-256 of its bytes. A file that is
    not read for what it is (its kind or place) keeps that verdict; one that could not be read
    has none, so it is tried again on every run."""
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    if input_file.problem is not None and input_file.problem[0] == "UNSUPPORTED_FILE":
        return "unsupported: " + input_file.problem[1]
    return None


def _parse(
    source: Source, input_file: InputFile, data: bytes, profile: ReportProfile | None
) -> RawFile | PlainCsv | list:
    """The file's content, or the one quarantine row of a file that cannot be read."""
    try:
        content = parse_input_file(input_file.path, data, profile)
    except UnreadableFile as error:
        detail = str(error)
        if error.profile_hint and profile is None and source.folder_is_distributor:
            detail += (
                f" ({error.profile_hint}: describe the distributor's format in reference/report_profiles.csv)"
            )
        return _whole_file_row(source, input_file, "UNREADABLE_FILE", detail)
    if isinstance(content, RawFile) and not content.header and not content.records:
        if profile is not None and profile.header_row:
            why = f"no header row at or after line {profile.header_row} (its profile's header_row)"
        else:
            why = "empty file: no header row"
        return _whole_file_row(source, input_file, "UNREADABLE_FILE", why)
    return content


def _line_counts(content: RawFile | PlainCsv) -> tuple[int, int, int]:
    """(physical lines or sheet rows, those up to the header, blank ones after it) of a file."""
    return content.lines, content.header_lines, content.blank_lines


def _raw_rows(raw_file: RawFile, input_file: InputFile, verdict: _HeaderVerdict) -> Iterator[list]:
    """One list per data row: fixed columns, then the source's columns in table order."""
    for record in raw_file.records:
        fields = record.fields
        reason, why = verdict.preset_reason, verdict.detail
        if (
            reason is None
            and len(fields) > verdict.header_width
            and any(f.strip() for f in fields[verdict.header_width :])
        ):
            reason, why = "EXTRA_FIELDS", f"{len(fields)} fields under a header of {verdict.header_width}"
        values = [fields[i] if i is not None and i < len(fields) else None for i in verdict.indexes]
        raw = record.raw
        line_break = any(character in raw for character in LINE_BREAKS)
        if len(raw) > MAX_RAW_CHARS:
            raw = f"{raw[:MAX_RAW_CHARS]}… [{len(record.raw)} characters in all]"
        yield [
            input_file.relative,
            record.line,
            raw,
            reason,
            why,
            input_file.distributor_id,
            record.lines,
            line_break,
            *values,
        ]


def _blank_line_pattern(delimiter: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in blank_line_chars(delimiter)) + "]*"


# A batch's few files are one row each: split into lines first, so that DuckDB judges and
# splits the lines on every core (in one statement it did so on one).
PLAIN_LINES_SQL = """CREATE OR REPLACE TEMP TABLE plain_lines AS
    SELECT file_id, unnest(lines) AS raw, generate_subscripts(lines, 1) AS line_index
    FROM (SELECT file_id, string_split(body, chr(10)) AS lines FROM plain_bodies)"""


def _plain_rows_sql(source: Source, delimiter: str = ",") -> str:
    """The rows of PlainCsv files, split by SQL exactly as `_raw_rows` does for parsed files,
    from their lines in plain_lines (PLAIN_LINES_SQL)."""
    blank = _blank_line_pattern(delimiter)
    values = ", ".join(
        f"CASE WHEN position_{i} < len(fields) THEN fields[position_{i} + 1] END"
        for i in range(len(source.columns))
    )
    return f"""
    INSERT INTO raw_{source.name}
    WITH records AS (
      SELECT file_id, line_index, raw, string_split(raw, '{delimiter}') AS fields
      FROM plain_lines
      WHERE NOT regexp_full_match(raw, '{blank}')
    ), judged AS (
      SELECT r.*, f.*, len(fields) > f.header_width AND NOT regexp_full_match(
            array_to_string(fields[f.header_width + 1:], '{delimiter}'), '{blank}') AS extra_fields
      FROM records r JOIN plain_files f USING (file_id)
    )
    SELECT relative, header_line + line_index,
        CASE WHEN length(raw) > {MAX_RAW_CHARS}
            THEN left(raw, {MAX_RAW_CHARS}) || '… [' || length(raw) || ' characters in all]' ELSE raw END,
        coalesce(preset_reason, CASE WHEN extra_fields THEN 'EXTRA_FIELDS' END),
        CASE WHEN preset_reason IS NOT NULL THEN detail
            WHEN extra_fields THEN len(fields) || ' fields under a header of ' || header_width END,
        folder, 1, rma_has_line_break(raw), {values}
    FROM judged
    """


def _parse_expression(column: Column, formats: bool = False) -> str:
    """SQL parsing the trimmed value; `formats`: rows carry their distributor's formats (§2.5) as
    fmt_* columns, NULL where §2's apply."""
    value = f"t_{column.name}"
    if column.kind == "text":
        return value
    if column.kind == "key":
        return f"upper({value})"
    if column.kind == "header":
        return f"lower({value})"
    if column.kind == "timestamp":
        return f"rma_parse_timestamp({value})"
    if column.kind == "date" and formats:  # an ISO date is still accepted in a profiled file
        return f"""CASE WHEN fmt_date_format IS NULL THEN rma_parse_date({value})
            ELSE coalesce(rma_parse_date({value}), rma_parse_local_date({value}, fmt_date_format)) END"""
    if column.kind == "date":
        return f"rma_parse_date({value})"
    if column.kind == "flag":
        return f"rma_parse_flag({value})"
    if column.kind == "money" and formats:
        return f"""CASE WHEN fmt_amount_pattern IS NULL THEN rma_parse_money({value})
            ELSE rma_parse_local_money({value}, fmt_amount_pattern, fmt_thousands_pattern, fmt_decimal) END"""
    if column.kind == "money":
        return f"rma_parse_money({value})"
    if column.kind == "enum":
        allowed = ", ".join("'" + v.replace("'", "''") + "'" for v in column.values)
        if column.case_sensitive:
            return f"CASE WHEN {value} IN ({allowed}) THEN {value} END"
        return f"CASE WHEN lower({value}) IN ({allowed}) THEN lower({value}) END"
    if column.kind == "integer":
        return f"CASE WHEN regexp_full_match({value}, '\\d{{1,9}}') THEN CAST({value} AS INTEGER) END"
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
    if column.bad_when:
        bad = f"({bad}) OR ({column.bad_when})"
    if column.name not in LINE_BREAK_ALLOWED:
        bad = f"({bad}) OR (line_break AND rma_has_line_break({raw_value}))"
    clauses.append(f"WHEN {bad} THEN 'BAD_VALUE:{column.name}'")
    if column.must_be_distributor:
        clauses.append(
            f"WHEN {parsed} IS NOT NULL AND ({column.required_when or 'true'}) "
            f"AND {parsed} NOT IN (SELECT distributor_id FROM stg_distributors) THEN 'UNKNOWN_DISTRIBUTOR'"
        )
    return clauses


def judge_sql(source: Source, keep_staged_keys: bool = False, formats: bool = False) -> str:
    """SQL that gives every raw row its parsed values and its quarantine reason (NULL = loaded).

    `keep_staged_keys`: only some files are being staged again, and the rows already staged
    from the other files (all earlier in path order) hold keys these rows must not repeat.
    `formats`: the temp table report_formats holds distributors' amount and date formats (§2.5).
    """
    cleaned = ",\n    ".join(
        f"rma_clean(rma_without_zero_width(c_{c.name})) AS t_{c.name}"
        if c.kind == "key"
        else f"rma_clean(c_{c.name}) AS t_{c.name}"
        for c in source.columns
    )
    parsed = ",\n    ".join(f"{_parse_expression(c, formats)} AS p_{c.name}" for c in source.columns)
    problems = "\n        ".join(clause for c in source.columns for clause in _problem_clauses(c))
    reason = "row_reason"
    if source.unique_column:
        # "Already loaded" = an earlier valid row with the same key (path byte order, then line).
        key = source.unique_column
        kept_rows = (
            f"FROM {source.table} WHERE source_file NOT IN (SELECT source_file FROM restaged_{source.name})"
        )
        if key == "*":  # one row per source: every valid row after the first is a duplicate
            partition, already_staged = "row_reason IS NULL", f"OR EXISTS (SELECT 1 {kept_rows})"
        elif isinstance(key, tuple):
            partition = "row_reason IS NULL, " + ", ".join(f"p_{name}" for name in key)
            same_key = " AND ".join(f'"{name}" = p_{name}' for name in key)
            already_staged = f"OR EXISTS (SELECT 1 {kept_rows} AND {same_key})"
        elif source.first_row_decides:
            partition, already_staged = f"p_{key}", ""
        else:
            partition, already_staged = (
                f"row_reason IS NULL, p_{key}",
                f"OR p_{key} IN (SELECT {key} {kept_rows})",
            )
        if not keep_staged_keys:
            already_staged = ""
        reason = f"""CASE WHEN row_reason IS NULL AND (row_number() OVER (
        PARTITION BY {partition} ORDER BY source_file, source_line
    ) > 1 {already_staged}) THEN '{source.duplicate_reason}' ELSE row_reason END"""
    kept = ", ".join(f"p_{c.name}" for c in source.columns)
    # A quarantined row keeps its RMA number: rule 0 holds the claims whose case may be in it.
    rma_key = "p_rma_number" if "rma_number" in source.column_names else "NULL"
    rows = f"raw_{source.name}"
    if formats:
        rows = f"""(SELECT r.*, f.decimal AS fmt_decimal, f.amount_pattern AS fmt_amount_pattern,
            f.thousands_pattern AS fmt_thousands_pattern, f.date_format AS fmt_date_format
        FROM raw_{source.name} r LEFT JOIN report_formats f ON r.folder = f.folder)"""
    return f"""
WITH cleaned AS (
  SELECT *, {cleaned}
  FROM {rows}
), parsed AS (
  SELECT *, {parsed}
  FROM cleaned
), judged AS (
  SELECT *, coalesce(preset_reason, CASE
        {problems}
    END) AS row_reason
  FROM parsed
)
SELECT source_file, source_line, line_span, folder, {kept}, reason,
    CASE WHEN reason IS NOT NULL THEN raw END AS raw, CASE WHEN reason IS NOT NULL THEN detail END AS detail,
    CASE WHEN reason IS NOT NULL THEN {rma_key} END AS rma_key
FROM (SELECT *, {reason} AS reason FROM judged)
"""


# Staged rows depend on this code as well as on the files: a new version stages everything again.
_STAGING_CODE = (
    Path(__file__),
    *(Path(module.__file__) for module in (sources, readers, profiles, warehouse)),
)


def _staging_fingerprint(source: Source, known_distributors: list[str]) -> str:
    digest = hashlib.sha256(source.name.encode())
    for path in _STAGING_CODE:
        digest.update(path.read_bytes())
    if source.uses_distributors:
        digest.update("\n".join(known_distributors).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _plan(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    source: Source,
    input_files: list[InputFile],
    staging: dict[str, str],
) -> tuple[list[InputFile], set[str], bool, list[tuple[str | None, str]]]:
    """(files to stage, staged files to drop, whether to rebuild the whole table, the new stat keys
    of unchanged files as (stat_key, file)).

    A file is staged again when its bytes or its staging fingerprint (`staging`, by file) changed.
    Its bytes are read and hashed only when its size, times or identity (`_stat_key`) changed.
    With a unique key, whether a row is a duplicate depends on the files before it, so a change
    anywhere but after every unchanged file rebuilds the whole source.
    """
    previous = {
        name: (sha256, used, stat_key)
        for name, sha256, used, stat_key in con.execute(
            "SELECT source_file, sha256, staging, stat_key FROM ingested_files WHERE source = ?",
            [source.name],
        ).fetchall()
    }
    if all(used != staging.get(name) for name, (_, used, _) in previous.items()):
        return input_files, set(previous), True, []  # nothing staged yet, or all of it staged otherwise
    changed, unchanged, restat = [], [], []
    resolved: dict[str, str] = {}  # real paths of the folders
    for input_file in input_files:
        stored = previous.get(input_file.relative)
        if stored is None or stored[1] != staging[input_file.relative]:
            changed.append(input_file)
            continue
        stat_key = _stat_key(input_file)
        if stat_key is not None and stat_key == stored[2]:
            unchanged.append(input_file)
            continue
        sha256 = _digest(_file_bytes(data_dir, source, input_file, resolved), input_file)
        if sha256 is not None and stored[0] == sha256:
            unchanged.append(input_file)
            if stat_key != stored[2]:
                restat.append((stat_key, input_file.relative))  # touched, or settled since
        else:
            changed.append(input_file)
    current = {input_file.relative for input_file in input_files}
    dropped = {name for name in previous if name not in current} | {
        f.relative for f in changed if f.relative in previous
    }
    if source.unique_column and unchanged:
        last_unchanged = max(_path_order(f.relative) for f in unchanged)
        if any(_path_order(name) < last_unchanged for name in dropped | {f.relative for f in changed}):
            return input_files, set(previous), True, []
    return changed, dropped, False, restat


def _path_order(relative: str) -> bytes:
    return relative.encode("utf-8", "surrogateescape")


def _register_formats(con: duckdb.DuckDBPyConnection, staged_profiles: dict[str, ReportProfile]) -> bool:
    """Load the amount and date formats of the staged files' profiles (by distributor folder) into
    the temp table report_formats; False (no table) when every file is read by §2, which keeps
    §2's SQL as it is."""
    rows = []
    for folder, profile in sorted(staged_profiles.items()):
        if profile.reads_values:
            rows.append(
                (
                    folder,
                    profile.decimal,
                    profile.amount_pattern if profile.reads_amounts else None,
                    profile.thousands_pattern,
                    profile.date_format,
                )
            )
    if not rows:
        return False
    con.execute(
        """CREATE OR REPLACE TEMP TABLE report_formats (folder VARCHAR, decimal VARCHAR,
        amount_pattern VARCHAR, thousands_pattern VARCHAR, date_format VARCHAR)"""
    )
    con.executemany("INSERT INTO report_formats VALUES (?, ?, ?, ?, ?)", rows)
    return True


QUARANTINE_COLUMNS = "(source, source_file, source_line, reason, raw, detail, rma_number, line_span)"


def _bytes_on_disk(files: list[InputFile]) -> int:
    total = 0
    for input_file in files:
        if input_file.problem is None:
            with contextlib.suppress(OSError):
                total += os.stat(input_file.path).st_size
    return total


def _scratch_tables(source: Source) -> tuple[str, str]:
    """The tables where a run's batches of a source wait for its last commit: rows, quarantine."""
    return f"staging_{source.name}_rows", f"staging_{source.name}_quarantine"


def _drop_scratch_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    for table in _scratch_tables(source):
        with contextlib.suppress(duckdb.Error):  # after a failed write, the first error says why
            con.execute(f"DROP TABLE IF EXISTS {table}")


def stage_source(con: duckdb.DuckDBPyConnection, data_dir: Path, source: Source) -> SourceReport:
    """Read, judge and load the source's new and changed files; drop what their old versions
    and deleted files had staged. Unchanged files are not read again (only hashed)."""
    prepare(con)
    data_dir = Path(data_dir)
    known_distributors: list[str] = []
    if source.uses_distributors:
        known_distributors = sorted(
            row[0] for row in con.execute("SELECT distributor_id FROM stg_distributors").fetchall()
        )
    base_staging = _staging_fingerprint(source, known_distributors)
    known = set(known_distributors)
    report_profiles = load_profiles(con) if source.folder_is_distributor else {}
    input_files = list_input_files(data_dir, source)
    profile_of = {
        f.relative: report_profiles.get(f.distributor_id) if f.distributor_id in known else None
        for f in input_files
    }
    # A distributor's files are staged again when its profile changes, and only its files.
    staging = {
        relative: base_staging
        if profile is None
        else hashlib.sha256(f"{base_staging}\n{profile.fingerprint}".encode()).hexdigest()
        for relative, profile in profile_of.items()
    }
    to_stage, dropped, rebuild, restat = _plan(con, data_dir, source, input_files, staging)
    report = SourceReport(source.name, files=len(input_files), files_staged=len(to_stage), rebuilt=rebuild)

    # Source columns as c_<name>: a column named like a fixed one (reason, detail, raw) stays apart.
    raw_columns = RAW_FIXED_COLUMNS + [f"c_{name}" for name in source.column_names]
    column_types = ", ".join(f'"{name}" {_RAW_TYPES.get(name, "VARCHAR")}' for name in raw_columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{source.name} ({column_types})")
    # One row per file: source, file, sha256, records, staging fingerprint, and where its physical
    # lines went (lines = header lines + blank lines + the lines of its records).
    manifest: list[tuple] = []
    chunk: list[list] = []
    plain_files: list[list] = []
    plain_bodies: list[tuple[int, str]] = []
    plain_chars = 0
    plain_delimiter = ","

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
                columns=[
                    "file_id",
                    "relative",
                    "header_line",
                    "header_width",
                    "preset_reason",
                    "detail",
                    "folder",
                    *position_columns,
                ],
            ).astype(
                {
                    "file_id": "int64",
                    "header_line": "int64",
                    "header_width": "int64",
                    **dict.fromkeys(position_columns, "Int64"),
                }
            )
            con.register("plain_files", files)
            # object, not pandas' str: with pyarrow installed, str would copy every body into Arrow
            bodies = pd.DataFrame(plain_bodies, columns=["file_id", "body"], dtype=object)
            con.register("plain_bodies", bodies.astype({"file_id": "int64"}))
            con.execute(PLAIN_LINES_SQL)
            con.execute(_plain_rows_sql(source, plain_delimiter))
            con.execute("DROP TABLE plain_lines")
            con.unregister("plain_files")
            con.unregister("plain_bodies")
            plain_files.clear()
            plain_bodies.clear()
            plain_chars = 0

    con.execute(f"CREATE OR REPLACE TEMP TABLE restaged_{source.name} (source_file VARCHAR)")
    if dropped:
        con.executemany(
            f"INSERT INTO restaged_{source.name} VALUES (?)", [[name] for name in sorted(dropped)]
        )
    formats = _register_formats(
        con, {f.distributor_id: profile_of[f.relative] for f in to_stage if profile_of[f.relative]}
    )
    judged = judge_sql(source, bool(source.unique_column) and not rebuild, formats)
    loaded_columns = ", ".join(f'p_{name} AS "{name}"' for name in source.column_names)
    if source.folder_is_distributor:
        loaded_columns = "folder AS distributor_id, " + loaded_columns
    loaded_rows = f"""SELECT source_file, source_line, line_span, {loaded_columns}
        FROM judged_{source.name} WHERE reason IS NULL ORDER BY source_file, source_line"""
    quarantined_columns = "source_file, source_line, reason, raw, detail, rma_key AS rma_number, line_span"
    quarantined_rows = f"FROM judged_{source.name} WHERE reason IS NOT NULL ORDER BY source_file, source_line"
    dropped_files = f"source_file IN (SELECT source_file FROM restaged_{source.name})"
    # Without a unique key no row's verdict depends on another's: files are judged and written a
    # batch at a time, which bounds DuckDB's memory whatever the history's size.
    batch_bytes = STAGE_BATCH_BYTES if not source.unique_column else None
    batches_written = 0
    # More than one batch: each batch's rows wait in tables of their own and are committed with
    # it, as one transaction kept every batch's temp tables until its commit (10 GB at ten million
    # cases). The staged table and quarantine still change in one transaction, at the end; a run
    # killed before it leaves only these tables, which the next run replaces. One batch is
    # written in that transaction directly.
    # The loop below starts a second batch once the files before the last reach batch_bytes.
    in_batches = batch_bytes is not None and _bytes_on_disk(to_stage[:-1]) >= batch_bytes
    scratch_rows, scratch_quarantine = _scratch_tables(source)
    _drop_scratch_tables(con, source)  # a killed run's, whatever this run does

    def write_batch() -> None:
        nonlocal batches_written
        flush()
        flush_plain()
        con.execute(f"CREATE OR REPLACE TEMP TABLE judged_{source.name} AS {judged}")
        if in_batches and not batches_written:
            con.execute(f"CREATE OR REPLACE TABLE {scratch_rows} AS {loaded_rows}")
            con.execute(
                f"CREATE OR REPLACE TABLE {scratch_quarantine} AS "
                f"SELECT {quarantined_columns} {quarantined_rows}"
            )
        elif in_batches:
            con.execute(f"INSERT INTO {scratch_rows} {loaded_rows}")
            con.execute(f"INSERT INTO {scratch_quarantine} SELECT {quarantined_columns} {quarantined_rows}")
        else:
            if rebuild and not batches_written:
                con.execute(f"CREATE OR REPLACE TABLE {source.table} AS {loaded_rows}")
            else:
                con.execute(f"INSERT INTO {source.table} {loaded_rows}")
            con.execute(
                f"INSERT INTO quarantine {QUARANTINE_COLUMNS} "
                f"SELECT ?, {quarantined_columns} {quarantined_rows}",
                [source.name],
            )
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{source.name} ({column_types})")
        batches_written += 1

    def stage_files() -> None:
        nonlocal plain_delimiter, plain_chars
        pending_bytes = 0
        for file_id, input_file in enumerate(to_stage):
            if batch_bytes is not None and pending_bytes >= batch_bytes:
                write_batch()
                pending_bytes = 0
            # Read again rather than kept from `_plan` (memory); the manifest hashes the bytes parsed here.
            stat_key = _stat_key(input_file)
            data = _file_bytes(data_dir, source, input_file)
            sha256 = _digest(data, input_file)
            if sha256 is None:
                stat_key = None  # not read: tried again on every run
            profile = profile_of[input_file.relative]
            file_staging = staging[input_file.relative]
            if isinstance(data, bytes):
                pending_bytes += len(data)
                data = _parse(source, input_file, data, profile)
            if isinstance(data, list):
                manifest.append(
                    (source.name, input_file.relative, sha256, 1, file_staging, 0, 0, 0, stat_key)
                )
                chunk.append(data)
                continue
            content = data
            verdict = _judge_header(source, input_file, content.header, known, profile or NO_PROFILE)
            if isinstance(content, PlainCsv):
                manifest.append(
                    (
                        source.name,
                        input_file.relative,
                        sha256,
                        content.rows,
                        file_staging,
                        *_line_counts(content),
                        stat_key,
                    )
                )
                if content.delimiter != plain_delimiter:  # one SQL split per delimiter
                    flush_plain()
                    plain_delimiter = content.delimiter
                plain_files.append(
                    [
                        file_id,
                        input_file.relative,
                        content.header_line,
                        verdict.header_width,
                        verdict.preset_reason,
                        verdict.detail,
                        input_file.distributor_id,
                        *verdict.indexes,
                    ]
                )
                plain_bodies.append((file_id, content.body))
                plain_chars += len(content.body)
                if plain_chars >= PLAIN_BATCH_CHARS:
                    flush_plain()
                continue
            rows = 0
            for row in _raw_rows(content, input_file, verdict):
                rows += 1
                chunk.append(row)
                if len(chunk) >= CHUNK_ROWS:
                    flush()
            manifest.append(
                (
                    source.name,
                    input_file.relative,
                    sha256,
                    rows,
                    file_staging,
                    *_line_counts(content),
                    stat_key,
                )
            )
        write_batch()  # the last files' rows; the table itself when there was no file

    def remove_replaced_rows() -> None:
        if rebuild:
            con.execute("DELETE FROM quarantine WHERE source = ?", [source.name])
            con.execute("DELETE FROM ingested_files WHERE source = ?", [source.name])
            return
        con.execute(f"DELETE FROM {source.table} WHERE {dropped_files}")
        con.execute(f"DELETE FROM quarantine WHERE source = ? AND {dropped_files}", [source.name])
        con.execute(f"DELETE FROM ingested_files WHERE source = ? AND {dropped_files}", [source.name])
        if restat:
            con.executemany(
                "UPDATE ingested_files SET stat_key = ? WHERE source = ? AND source_file = ?",
                [[stat_key, source.name, relative] for stat_key, relative in restat],
            )

    def add_batches() -> None:
        if rebuild:
            con.execute(f"DROP TABLE IF EXISTS {source.table}")
            con.execute(f"ALTER TABLE {scratch_rows} RENAME TO {source.table}")
        else:
            con.execute(f"INSERT INTO {source.table} SELECT * FROM {scratch_rows}")
            con.execute(f"DROP TABLE {scratch_rows}")
        con.execute(
            f"INSERT INTO quarantine {QUARANTINE_COLUMNS} SELECT ?, * FROM {scratch_quarantine}",
            [source.name],
        )
        con.execute(f"DROP TABLE {scratch_quarantine}")

    def record_files() -> None:
        con.register("manifest_rows", pd.DataFrame(manifest, columns=MANIFEST_COLUMNS))
        con.execute("INSERT INTO ingested_files BY NAME SELECT * FROM manifest_rows")
        con.unregister("manifest_rows")
        con.execute(
            """INSERT INTO ingest_log SELECT ?, count(*), coalesce(sum(rows_read), 0)
            FROM ingested_files WHERE source = ?
            ON CONFLICT (source) DO UPDATE SET files = excluded.files, rows_read = excluded.rows_read""",
            [source.name, source.name],
        )

    if in_batches:
        try:
            stage_files()
            with transaction(con, f"staging {source.name}"):
                remove_replaced_rows()
                add_batches()
                record_files()
        finally:
            _drop_scratch_tables(con, source)  # left by a failure; gone after the commit
    else:
        with transaction(con, f"staging {source.name}"):
            remove_replaced_rows()
            stage_files()
            record_files()
    for name in (f"raw_{source.name}", f"judged_{source.name}", f"restaged_{source.name}"):
        con.execute(f"DROP TABLE {name}")
    if formats:
        con.execute("DROP TABLE report_formats")
    report.rows_read = con.execute(
        "SELECT rows_read FROM ingest_log WHERE source = ?", [source.name]
    ).fetchone()[0]
    report.rows_loaded = con.execute(f"SELECT count(*) FROM {source.table}").fetchone()[0]
    for reason, count in con.execute(
        "SELECT reason, count(*) FROM quarantine WHERE source = ? GROUP BY reason ORDER BY reason",
        [source.name],
    ).fetchall():
        report.quarantined_by_reason[reason] = count
        report.rows_quarantined += count
    return report
