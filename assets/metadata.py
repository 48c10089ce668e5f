"""Metadata the Dagster UI shows on each materialization: row count, column schema, a preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    described = con.execute(f"DESCRIBE {table}").fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name=row[0], type=row[1]) for row in described])


def table_metadata(
    con: duckdb.DuckDBPyConnection, table: str, row_count: int, preview: str
) -> dict[str, Any]:
    return {
        "dagster/row_count": row_count,
        "dagster/column_schema": column_schema(con, table),
        "table": dg.MetadataValue.text(table),
        "preview": dg.MetadataValue.md(preview),
    }
