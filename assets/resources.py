"""The resources every stage's assets and checks ask for: the warehouse, the run's settings,
and early validation. (Delivery's own resource is in `assets/delivery/defs.py`.)

These are the classes; which instance a run gets (from the CLI's options or the deployment's
`RMA_*` variables) is decided in `pipelines/resources.py`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Protocol

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from core.quarters import Quarter, QuarterError, resolve_as_of

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
    statements_dir: str = Field(
        default="", description="output folder; blank = $RMA_STATEMENTS_DIR or data/statements"
    )
    as_of: str = Field(default="", description="YYYY-MM-DD inside the quarter; blank = its last day")
    close: bool = Field(default=False, description="Close the quarter: freeze outcomes and FINAL statements")
    by: str = Field(
        default="", description="who closes or releases the quarter; blank = the operating-system user"
    )
    four_eyes: bool = Field(
        default=True,
        description="a release needs another person than the closer ($RMA_FOUR_EYES=false turns it off)",
    )
    home_country: str = Field(
        default="US", description="Vendor's home country; other ship-to countries are CIP"
    )

    def as_of_for(self, quarter: Quarter) -> dt.date:
        return resolve_as_of(quarter, self.as_of or None)

    def quarter_and_as_of(self, partition_key: str) -> tuple[Quarter, dt.date]:
        """The run's quarter and as-of day; an as-of day outside the quarter fails the step."""
        quarter = Quarter.from_partition_key(partition_key)
        try:
            return quarter, self.as_of_for(quarter)
        except QuarterError as error:
            raise dg.Failure(description=str(error)) from None

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir or os.environ.get("RMA_DATA_DIR", DEFAULT_DATA_DIR))

    @property
    def person(self) -> str:
        """Who closes or releases: the name given, else the operating-system user."""
        return self.by.strip() or getpass.getuser()

    @property
    def four_eyes_rule(self) -> bool:
        return self.four_eyes and os.environ.get("RMA_FOUR_EYES", "true").strip().lower() != "false"

    @property
    def statements_path(self) -> Path:
        return Path(self.statements_dir or os.environ.get("RMA_STATEMENTS_DIR", DEFAULT_STATEMENTS_DIR))


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse, held open for the whole run.

    Each step still opens and closes its own connection, but they all share the database the
    run holds open. When a step closed the last connection, DuckDB checkpointed the file and
    dropped its buffer pool, and the next step read its tables from disk again: seconds per
    step at a million cases.
    """

    _held_open: ExitStack | None = PrivateAttr(default=None)

    @contextmanager
    def get_connection(self):
        # DuckDBResource closes the connection only when the step succeeds; a failed step's
        # connection would keep the file open in this process until garbage collection.
        with super().get_connection() as connection:
            try:
                yield connection
            finally:
                connection.close()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._held_open = ExitStack()
        self._held_open.enter_context(self.get_connection())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._held_open is not None:
            self._held_open.close()
            self._held_open = None


class EarlyValidation(Protocol):
    """The run's checks, told as soon as an asset has written its rows so that they can start on
    them while the run goes on (on another core). The Great Expectations runner of the checks
    (`checks/expectations/runner.py`) is one; assets take it as `dg.ResourceParam[EarlyValidation]`
    and never import the checks."""

    def rows_written(self, con, asset_name: str, quarter: str | None = None) -> None:
        """`asset_name`'s rows (of `quarter`, for a partitioned table) are written and final."""
