"""The quarterly job finance launches (UI, CLI or schedule)."""

import dagster as dg

from assets.partitions import quarterly_partitions

quarterly_reconciliation = dg.define_asset_job(
    name="quarterly_reconciliation",
    selection=dg.AssetSelection.all(),
    partitions_def=quarterly_partitions,
    description="Ingest every input, reconcile one quarter, write its statements "
    "(set resources.settings.config.close to close the quarter).",
)
