"""The statements folder: a quarter's files written among the user's own, a record of what each
run wrote, leftovers of killed runs, and whether the files on disk are what the warehouse holds.

Rulebook §6: a run replaces only the files it writes; any other file in a quarter's folder (a
signed approval, a `sent/` folder) is left alone. So a quarter's files are written one by one,
each in full beside its final name and renamed into place; a run killed midway leaves a mix of
complete old and new files, which `rma-recon status` reports and the next run of the quarter
replaces.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from assets.statements.statement_files import StatementFile, StoredContents, StoredFile
from core.faults import crash_point
from core.files import write_file
from core.quarters import Quarter
from core.warehouse import in_transaction, prepare

PARTIAL_SUFFIX = ".partial"
# What earlier versions left when killed: whole quarter folders written aside.
_OLD_ASIDE = re.compile(r"^\.\d{4}-Q[1-4]\.(partial|previous)$")


def write_statement_files(
    statements_dir: Path,
    quarter: Quarter,
    files: Sequence[StatementFile] | StoredContents,
    written_before: Iterable[str] = (),
) -> list[Path]:
    """Put the quarter's files in `<statements_dir>/<quarter>/`, replacing those of the same name
    and removing the ones an earlier run wrote (`written_before`) that this run does not."""
    folder = Path(statements_dir) / str(quarter)
    _restore_old_swap(Path(statements_dir), quarter)
    folder.mkdir(parents=True, exist_ok=True)
    real_folder = os.path.realpath(folder)
    staged: list[tuple[Path, Path]] = []
    names = set()
    for index, statement_file in enumerate(files):
        names.add(statement_file.file_name)
        target = folder / statement_file.file_name
        if os.path.dirname(os.path.realpath(target)) != real_folder:
            raise ValueError(f"statement file name {statement_file.file_name!r} would leave {folder}")
        partial = folder / f".{statement_file.file_name}{PARTIAL_SUFFIX}"
        write_file(partial, statement_file.content)
        staged.append((partial, target))
        if index == len(files) // 2:
            crash_point("statements-midway")
    crash_point("statements-swap")  # every new file complete, none in place yet
    for index, (partial, target) in enumerate(staged):
        if index == len(staged) // 2:
            crash_point("statements-renaming")  # some files replaced, the others not yet
        os.replace(partial, target)
    for name in set(written_before) - names:
        if os.path.dirname(os.path.realpath(folder / name)) == real_folder:
            (folder / name).unlink(missing_ok=True)
    return [target for _, target in staged]


def _restore_old_swap(statements_dir: Path, quarter: Quarter) -> None:
    """An earlier version swapped whole folders; one killed mid-swap left the last complete set aside."""
    folder, previous = statements_dir / str(quarter), statements_dir / f".{quarter}.previous"
    if previous.is_dir() and not folder.exists():
        os.replace(previous, folder)


def clear_leftovers(statements_dir: Path) -> list[Path]:
    """Remove what killed runs left in the statements folder (files half written beside their
    final names, folders written aside by earlier versions); the user's files are not touched."""
    statements_dir = Path(statements_dir)
    if not statements_dir.is_dir():
        return []
    removed = []
    for entry in sorted(statements_dir.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and _OLD_ASIDE.match(entry.name):
            if entry.name.endswith(".previous") and not (statements_dir / entry.name[1:-9]).exists():
                continue  # the last complete set of a quarter: the next run of it puts it back
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif entry.is_dir() and not entry.is_symlink():
            for child in entry.iterdir():
                if child.name.startswith(".") and child.name.endswith(PARTIAL_SUFFIX) and child.is_file():
                    child.unlink(missing_ok=True)
                    removed.append(child)
    return removed


def written_files(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> dict[str, str]:
    """file name -> SHA-256 of the files the latest run of the quarter wrote."""
    prepare(con)
    return dict(
        con.execute(
            "SELECT file_name, sha256 FROM statement_files WHERE quarter = ? ORDER BY file_name",
            [str(quarter)],
        ).fetchall()
    )


def record_written(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, files: Sequence[StatementFile | StoredFile]
) -> None:
    """Remember which files this run wrote for the quarter, and their bytes' SHA-256."""
    in_transaction(
        con,
        [
            ("DELETE FROM statement_files WHERE quarter = ?", [str(quarter)]),
            (
                "INSERT INTO statement_files SELECT ?, unnest(?), unnest(?), unnest(?)",
                [
                    str(quarter),
                    [f.file_name for f in files],
                    [f.distributor_id for f in files],
                    [f.sha256 for f in files],
                ],
            ),
        ],
        name="statement files",
    )


def remove_superseded(con: duckdb.DuckDBPyConnection, statements_dir: Path) -> list[Path]:
    """Rulebook §5: the draft statements (and finance summary) of quarters a later close superseded."""
    prepare(con)
    rows = con.execute(
        """SELECT quarter, file_name FROM statement_files
        WHERE quarter IN (SELECT quarter FROM quarter_runs WHERE state = 'superseded') ORDER BY ALL"""
    ).fetchall()
    statements_dir = Path(statements_dir)
    removed = []
    for quarter, file_name in rows:
        path = statements_dir / quarter / file_name
        if path.is_file():
            path.unlink()
            removed.append(path)
    for (quarter,) in con.execute("SELECT quarter FROM quarter_runs WHERE state = 'superseded'").fetchall():
        summary = statements_dir / "finance" / f"{quarter}-summary.xlsx"
        if summary.is_file():
            summary.unlink()
            removed.append(summary)
    if rows:
        con.execute(
            "DELETE FROM statement_files WHERE quarter IN "
            "(SELECT quarter FROM quarter_runs WHERE state = 'superseded')"
        )
    return removed


def expected_files(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """quarter -> file name -> SHA-256 of the statement files the warehouse says are on disk: a
    closed quarter's stored FINAL bytes, else what the latest run of the quarter wrote."""
    expected: dict[str, dict[str, str]] = {}
    for quarter, file_name, sha256 in con.execute(
        """SELECT quarter, file_name, sha256 FROM closed_statements
        UNION ALL
        SELECT f.quarter, f.file_name, f.sha256 FROM statement_files f
        WHERE f.quarter NOT IN (SELECT quarter FROM closed_statements)
        ORDER BY ALL"""
    ).fetchall():
        expected.setdefault(quarter, {})[file_name] = sha256
    return expected


def disk_differences(expected: dict[str, dict[str, str]], statements_dir: Path) -> dict[str, str]:
    """quarter -> what differs between its statement files on disk and `expected_files`; quarters
    whose files match are left out."""
    differences = {}
    for quarter, files in expected.items():
        missing = changed = 0
        for file_name, sha256 in files.items():
            path = Path(statements_dir) / quarter / file_name
            if not path.is_file():
                missing += 1
            elif hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
                changed += 1
        if missing or changed:
            counts = [f"{missing} missing"] * bool(missing) + [f"{changed} differ"] * bool(changed)
            differences[quarter] = (
                f"its statements on disk do not match the warehouse ({', '.join(counts)}): "
                "re-run the quarter to restore them"
            )
    return differences
