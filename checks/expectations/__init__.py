"""Great Expectations suites kept as code (`suites.py`), the runner that validates them on
frames read from DuckDB (`runner.py`) and the validator process it can use (`validator.py`)."""
