"""Rulebook §7.1: a closed quarter is released by a second person; only then is anything sent.

The release records who released, when, and the SHA-256 of every FINAL file of the quarter (the
statements, remittance files and journal stored at the close); delivery sends only those bytes.
Every release, refused or not, is a row of the append-only audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from core.quarters import Quarter
from core.warehouse import in_transaction, prepare


class ReleaseRefused(Exception):
    """A release the rulebook forbids; the message is one line for the user."""


@dataclass(frozen=True)
class Release:
    quarter: str
    closed_by: str | None
    released_by: str
    released_at: dt.datetime
    four_eyes: bool
    already: bool  # released before: nothing changed


def _same_person(one: str | None, other: str | None) -> bool:
    return (one or "").strip().casefold() == (other or "").strip().casefold()


def released(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> Release | None:
    """The quarter's release, or None while it is not released (reads only)."""
    row = con.execute(
        """SELECT closed_by, released_by, released_at, four_eyes FROM quarter_runs
        WHERE quarter = ? AND released_at IS NOT NULL""",
        [str(quarter)],
    ).fetchone()
    if row is None:
        return None
    closed_by, released_by, released_at, four_eyes = row
    return Release(str(quarter), closed_by, released_by, released_at, bool(four_eyes), already=True)


def refusal(con: duckdb.DuckDBPyConnection, quarter: Quarter, by: str, four_eyes: bool) -> str | None:
    """Why `by` may not release the quarter now, in one line; None when they may."""
    prepare(con)
    row = con.execute(
        "SELECT state, closed_by FROM quarter_runs WHERE quarter = ?", [str(quarter)]
    ).fetchone()
    if row is None:
        return f"cannot release {quarter}: it has not been run, let alone closed"
    state, closed_by = row
    if state != "closed":
        return (
            f"cannot release {quarter}: it is {state}, not closed "
            f"(close it first: rma-recon run {quarter} --close)"
        )
    if not by.strip():
        return f"cannot release {quarter}: say who releases it (--by NAME)"
    if four_eyes and _same_person(closed_by, by):
        return f"cannot release {quarter}: {closed_by} closed it; a second person must release it (four eyes)"
    return None


def refuse_release(con: duckdb.DuckDBPyConnection, quarter: Quarter, by: str, four_eyes: bool) -> None:
    """Raise ReleaseRefused when `by` may not release the quarter now; the refused attempt stays in
    the audit log."""
    refused = refusal(con, quarter, by, four_eyes)
    if refused:
        log_audit(
            con, dt.datetime.now(dt.UTC).replace(tzinfo=None), by, "release", str(quarter), "refused", refused
        )
        raise ReleaseRefused(refused)


def release(con: duckdb.DuckDBPyConnection, quarter: Quarter, by: str, four_eyes: bool) -> Release:
    """Release the quarter: record who, when and the digests of its FINAL files. A released
    quarter stays as it was released (`already`). A refusal is logged and raised."""
    prepare(con)
    done = released(con, quarter)
    if done is not None:
        return done
    refuse_release(con, quarter, by, four_eyes)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    q = str(quarter)
    detail = "four-eyes rule on" if four_eyes else "four-eyes rule OFF (a deployment setting)"
    in_transaction(
        con,
        [
            (
                """INSERT INTO released_files
                SELECT quarter, file_name, sha256 FROM closed_statements WHERE quarter = ?
                UNION ALL
                SELECT quarter, 'finance/' || quarter || '-journal.csv', sha256 FROM closed_journals
                WHERE quarter = ?""",
                [q, q],
            ),
            (
                "UPDATE quarter_runs SET released_by = ?, released_at = ?, four_eyes = ? WHERE quarter = ?",
                [by.strip(), now, four_eyes, q],
            ),
            (
                "INSERT INTO audit_log VALUES (?, ?, 'release', ?, 'released', ?)",
                [now, by.strip(), q, detail],
            ),
        ],
        name="release",
    )
    closed_by = con.execute("SELECT closed_by FROM quarter_runs WHERE quarter = ?", [q]).fetchone()[0]
    return Release(q, closed_by, by.strip(), now, four_eyes, already=False)


def released_digests(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> dict[str, str]:
    """file name -> SHA-256 the release approved."""
    return dict(
        con.execute(
            "SELECT file_name, sha256 FROM released_files WHERE quarter = ?", [str(quarter)]
        ).fetchall()
    )


def log_audit(
    con: duckdb.DuckDBPyConnection,
    when: dt.datetime,
    who: str,
    action: str,
    quarter: str,
    outcome: str,
    detail: str,
) -> None:
    """One row of the audit log, on its own (rows are never updated or deleted)."""
    prepare(con)
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)", [when, who, action, quarter, outcome, detail]
    )
