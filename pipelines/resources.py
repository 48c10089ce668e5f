"""Resources: the DuckDB warehouse and the settings of a run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pipelines.quarters import Quarter, resolve_as_of

DEFAULT_DATA_DIR = "data"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_STATEMENTS_DIR = "data/statements"

# Every asset that writes the warehouse takes a slot in this pool: DuckDB allows one writer per file.
WAREHOUSE_POOL = "duckdb_warehouse"


class RunSettings(dg.ConfigurableResource):
    """Where the inputs and statements live, and what the run is asked to do."""

    data_dir: str = DEFAULT_DATA_DIR
    statements_dir: str = DEFAULT_STATEMENTS_DIR
    as_of: str = Field(default="", description="YYYY-MM-DD inside the quarter; blank = its last day")
    close: bool = Field(default=False, description="Close the quarter: freeze outcomes and FINAL statements")
    home_country: str = Field(default="US", description="Vendor's home country; other ship-to countries are CIP")

    def as_of_for(self, quarter: Quarter) -> dt.date:
        return resolve_as_of(quarter, self.as_of or None)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


def warehouse_resource(path: str = DEFAULT_WAREHOUSE) -> DuckDBResource:
    return DuckDBResource(database=str(path))
