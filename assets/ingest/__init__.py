"""Ingest (rulebook §2): every input row is staged into `stg_<source>` or quarantined."""
