"""Data-quality checks on the warehouse, run as Dagster asset checks."""

from checks.conservation import CONSERVATION_CHECKS
from checks.quality import EXPECTATION_CHECKS

ASSET_CHECKS = [*CONSERVATION_CHECKS, *EXPECTATION_CHECKS]
