"""Query results as markdown tables, for the Dagster UI's previews and the checks' examples."""

from __future__ import annotations

from typing import Any

import duckdb

PREVIEW_ROWS = 20


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:80]


def markdown_table(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None, limit: int = PREVIEW_ROWS
) -> str:
    """A query's first rows as a markdown table (no float conversion: values print as stored)."""
    result = con.execute(f"SELECT * FROM ({sql}) LIMIT {int(limit) + 1}", params or [])
    headers = [column[0] for column in result.description]
    rows = result.fetchall()
    if not rows:
        return "_none_"
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n_first {limit} rows shown_")
    return "\n".join(lines)
