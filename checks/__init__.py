"""Data-quality checks on the warehouse, run as Dagster asset checks.

Kept free of imports: checks/validator.py starts before the run loads Dagster.
"""
