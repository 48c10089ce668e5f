"""Resources: the DuckDB warehouse and the settings of a run."""

from __future__ import annotations

import datetime as dt
import os
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

    # Blank folders fall back to the environment, so launchpad config (close, as_of) that replaces
    # this resource's config in the UI keeps the folders the deployment set.
    data_dir: str = Field(default="", description="input folder; blank = $RMA_DATA_DIR or data")
    statements_dir: str = Field(default="", description="output folder; blank = $RMA_STATEMENTS_DIR or data/statements")
    as_of: str = Field(default="", description="YYYY-MM-DD inside the quarter; blank = its last day")
    close: bool = Field(default=False, description="Close the quarter: freeze outcomes and FINAL statements")
    vendor_name: str = Field(default="", description="name on the statements; blank = $RMA_VENDOR_NAME or 'Vendor'")
    home_country: str = Field(default="US", description="Vendor's home country; other ship-to countries are CIP")

    def as_of_for(self, quarter: Quarter) -> dt.date:
        return resolve_as_of(quarter, self.as_of or None)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir or os.environ.get("RMA_DATA_DIR", DEFAULT_DATA_DIR))

    @property
    def vendor(self) -> str:
        return self.vendor_name or os.environ.get("RMA_VENDOR_NAME", "Vendor")

    @property
    def statements_path(self) -> Path:
        return Path(self.statements_dir or os.environ.get("RMA_STATEMENTS_DIR", DEFAULT_STATEMENTS_DIR))


def warehouse_resource(path: str = DEFAULT_WAREHOUSE) -> DuckDBResource:
    return DuckDBResource(database=str(path))
