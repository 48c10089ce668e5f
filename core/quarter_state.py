"""Where each quarter stands (draft, closed) and the runs the rulebook refuses (§5): read by every
stage, from ingest (a refused run stops before it reads anything) to delivery."""

from __future__ import annotations

import datetime as dt

import duckdb

from core.quarters import Quarter
from core.warehouse import prepare


class RunRefused(Exception):
    """A run the rulebook forbids; the message is meant for the finance user."""


def quarter_state(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> tuple[str | None, dt.date | None]:
    """('closed' | 'draft' | None, as-of date of the stored results)."""
    prepare(con)
    row = con.execute("SELECT state, as_of FROM quarter_runs WHERE quarter = ?", [str(quarter)]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def latest_closed_quarter(con: duckdb.DuckDBPyConnection) -> Quarter | None:
    prepare(con)
    row = con.execute("SELECT max(quarter) FROM quarter_runs WHERE state = 'closed'").fetchone()
    return Quarter.parse(row[0]) if row and row[0] else None


def is_closed(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> bool:
    return quarter_state(con, quarter)[0] == "closed"


def check_run_allowed(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, as_of: dt.date, close: bool, today: dt.date
) -> None:
    """Raise RunRefused for a run the rulebook forbids. A closed quarter may always be re-run."""
    if is_closed(con, quarter):
        return
    latest = latest_closed_quarter(con)
    if latest is not None and quarter < latest:
        verb = "close" if close else "run"
        raise RunRefused(
            f"cannot {verb} {quarter}: it is open and {latest} is already closed; "
            f"late data for {quarter} flows into the first open quarter after {latest}"
        )
    if close and as_of >= today:
        raise RunRefused(f"cannot close {quarter} as of {as_of}: that day is not over yet (today is {today})")
