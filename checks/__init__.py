"""Data-quality checks on the warehouse: the Dagster asset checks (`defs.py`) beside the plain
code they call: row conservation, statements read back, Great Expectations suites.

Kept free of imports: the CLI starts the validator process (`expectations/validator.py`) before
it loads Dagster.
"""
