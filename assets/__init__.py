"""The pipeline's stages, one subpackage each, in the order data flows through them.

Each stage holds one module of Dagster definitions (`defs.py`, thin: take the resources,
call plain functions, return `MaterializeResult`) beside plain modules that never import
Dagster. The modules here at the top are the Dagster pieces every stage's definitions share:
resource classes, the quarterly partitions, UI metadata.
"""
