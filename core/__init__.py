"""Foundations every stage uses: the quarter calendar, the warehouse tables and transactions,
the warehouse lock and the crash points of the crash tests. Imports nothing else of the project
and never Dagster."""
