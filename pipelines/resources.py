"""Which resources a run gets: from the CLI's options, or from the deployment's RMA_* variables.

The resource classes are the assets' (`assets/resources.py`, `assets/delivery/defs.py`); this
module picks the instances.
"""

from __future__ import annotations

import os

from assets.delivery.defs import StatementDelivery
from assets.ingest.sources import input_bytes
from assets.resources import DEFAULT_WAREHOUSE, RunSettings, WarehouseResource
from checks.expectations.runner import Expectations
from core.warehouse import default_memory_limit


def warehouse_resource(path: str = DEFAULT_WAREHOUSE, data_dir: str | None = None) -> WarehouseResource:
    """The warehouse. $RMA_DUCKDB_MEMORY_LIMIT (e.g. 4GB) caps DuckDB's memory instead of the default,
    which scales with the input files in `data_dir` (`default_memory_limit`); DuckDB spills to disk
    beyond it."""
    memory_limit = os.environ.get("RMA_DUCKDB_MEMORY_LIMIT", "").strip() or default_memory_limit(
        input_bytes(RunSettings(data_dir=data_dir or "").data_path)  # the folder the run reads
    )
    return WarehouseResource(database=str(path), connection_config={"memory_limit": memory_limit})


def build_resources(
    data_dir: str | None = None,
    warehouse: str | None = None,
    statements_dir: str | None = None,
    as_of: str = "",
    close: bool = False,
    by: str = "",
    delivery: StatementDelivery | None = None,
    expectations: Expectations | None = None,
) -> dict[str, object]:
    """Resources for the UI (from RMA_* environment variables) or for one CLI run.

    `expectations` validates in this process unless it is given a validator process (the CLI's).
    """
    return {
        "duckdb": warehouse_resource(
            warehouse or os.environ.get("RMA_WAREHOUSE", DEFAULT_WAREHOUSE), data_dir
        ),
        "settings": RunSettings(
            data_dir=data_dir or "", statements_dir=statements_dir or "", as_of=as_of, close=close, by=by
        ),
        "delivery": delivery or StatementDelivery(),
        "expectations": expectations or Expectations(),
    }
