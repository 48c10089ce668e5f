"""The jobs finance launches (UI, CLI or schedule): the quarterly run, and the release."""

import os

import dagster as dg

from assets.partitions import quarterly_partitions
from assets.resources import DEFAULT_WAREHOUSE

# A deployment's run queue lets one run per value of this tag write at a time (deploy/deployment.py).
WAREHOUSE_TAG = {"rma/warehouse": os.environ.get("RMA_WAREHOUSE", DEFAULT_WAREHOUSE)}

RELEASE = dg.AssetSelection.assets("quarter_release", "statement_delivery")

quarterly_reconciliation = dg.define_asset_job(
    name="quarterly_reconciliation",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets("quarter_release"),
    partitions_def=quarterly_partitions,
    tags=WAREHOUSE_TAG,
    description="Ingest every input, reconcile one quarter, write its statements "
    "(set resources.settings.config.close to close the quarter; a close sends nothing).",
)

quarterly_release = dg.define_asset_job(
    name="quarterly_release",
    selection=RELEASE,
    partitions_def=quarterly_partitions,
    tags=WAREHOUSE_TAG,
    description="Release a closed quarter and send its statements and remittance files (set "
    "resources.settings.config.by to the releaser: not the person who closed it).",
)
