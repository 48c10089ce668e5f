"""Data-quality checks on the warehouse, run as Dagster asset checks."""

from checks.conservation import CONSERVATION_CHECKS
from checks.quality import EXPECTATION_CHECKS
from checks.statements import statement_totals_match

ASSET_CHECKS = [*CONSERVATION_CHECKS, *EXPECTATION_CHECKS, statement_totals_match]
