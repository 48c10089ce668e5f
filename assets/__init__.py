"""Dagster assets by stage: ingestion, reconciliation, statements."""
