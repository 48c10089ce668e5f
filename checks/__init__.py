"""Data-quality checks on the warehouse, run as Dagster asset checks."""

from checks.conservation import CONSERVATION_CHECKS

ASSET_CHECKS = [*CONSERVATION_CHECKS]
