"""The jobs finance launches (UI, CLI or schedule): the quarterly run, and the release."""

import os

import dagster as dg

from assets.partitions import quarterly_partitions
from assets.resources import DEFAULT_WAREHOUSE
from core.quarters import Quarter

# A deployment's run queue lets one run per value of this tag write at a time (deploy/deployment.py).
WAREHOUSE_TAG = {"rma/warehouse": os.environ.get("RMA_WAREHOUSE", DEFAULT_WAREHOUSE)}

RELEASE = dg.AssetSelection.assets("quarter_release", "statement_delivery")
QUARTER_RUN = dg.AssetSelection.all() - dg.AssetSelection.assets("quarter_release")  # drafts and closes


def _quarter_tag(partition_key: str) -> dict:
    return {"rma/quarter": str(Quarter.from_partition_key(partition_key))}


quarterly_reconciliation = dg.define_asset_job(
    name="quarterly_reconciliation",
    selection=QUARTER_RUN,
    partitions_def=quarterly_partitions,
    tags=WAREHOUSE_TAG,
    # Every run of a quarter is tagged with it, however launched. No run config of its own: the
    # launchpad starts empty and the CLI's and schedules' configs pass through.
    config=dg.PartitionedConfig(
        partitions_def=quarterly_partitions,
        run_config_for_partition_key_fn=lambda partition_key: {},
        tags_for_partition_key_fn=_quarter_tag,
    ),
    description="Ingest every input, reconcile one quarter, write its statements "
    "(set resources.settings.config.close to close the quarter; a close sends nothing).",
)


def _close_config(partition_key: str) -> dict:
    return {"resources": {"settings": {"config": {"close": True, "as_of": "", "by": ""}}}}


def _close_tags(partition_key: str) -> dict:
    return {**_quarter_tag(partition_key), "rma/close": "true"}


# The close from the UI without editing YAML: pick the quarter's partition and launch (type your
# name in `by`, or the code server's user is recorded). The CLI closes with `run --close`.
quarterly_close = dg.define_asset_job(
    name="quarterly_close",
    selection=QUARTER_RUN,
    partitions_def=quarterly_partitions,
    tags=WAREHOUSE_TAG,
    config=dg.PartitionedConfig(
        partitions_def=quarterly_partitions,
        run_config_for_partition_key_fn=_close_config,
        tags_for_partition_key_fn=_close_tags,
    ),
    description="Close a quarter: FINAL statements, remittance files, journal, frozen books; sends "
    "nothing (a second person releases it with quarterly_release).",
)

quarterly_release = dg.define_asset_job(
    name="quarterly_release",
    selection=RELEASE,
    partitions_def=quarterly_partitions,
    tags=WAREHOUSE_TAG,
    description="Release a closed quarter and send its statements and remittance files (set "
    "resources.settings.config.by to the releaser: not the person who closed it).",
)
