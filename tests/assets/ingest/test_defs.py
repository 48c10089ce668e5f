"""The ingest definitions, invoked directly: the one place that shows every quarantined row."""

import shutil

from assets.ingest.defs import INGEST_ASSETS, SOURCE_ASSETS, quarantine_overview
from pipelines.resources import warehouse_resource


def test_the_quarantine_asset_follows_every_source_and_counts_by_source(example_q2_warehouse, tmp_path):
    assert set(quarantine_overview.dependency_keys) == {key for asset in SOURCE_ASSETS for key in asset.keys}
    assert quarantine_overview in INGEST_ASSETS
    warehouse = tmp_path / "wh.duckdb"
    shutil.copyfile(example_q2_warehouse, warehouse)
    result = quarantine_overview(duckdb=warehouse_resource(str(warehouse)))
    metadata = result.metadata
    assert metadata["dagster/row_count"] == 1 and metadata["quarantined_fulfillment_reports"].value == 1
    preview = metadata["preview"].value
    assert "inbound/fulfillment_reports/NORTHSTAR/2026-06.xlsx | BAD_VALUE:fulfilled_on | 1 | 6" in preview
