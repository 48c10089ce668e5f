"""The column schema the UI shows: every column of every table an asset materializes is described."""

from assets.ingest.sources import SOURCES
from assets.metadata import column_schema
from assets.reconcile.defs import RECONCILE_SPECS


def test_every_column_of_every_asset_table_has_a_description(example_q2):
    tables = [source.table for source in SOURCES.values()] + [spec.key.path[-1] for spec in RECONCILE_SPECS]
    tables.append("quarantine")
    assert len(tables) >= 12
    undescribed = [
        f"{table}.{column.name}"
        for table in tables
        for column in column_schema(example_q2, table).columns
        if not column.description
    ]
    assert undescribed == []
