"""Great Expectations itself: validate one pandas frame against some expectations.

Used by the runner in this process and by the validator process alike. GX is imported on
first use (seconds of CPU), never when this module loads.
"""

from __future__ import annotations

import functools
import os

import pandas as pd

from checks.expectations.suites import Expect

EXAMPLES = 5
# GX would otherwise try to send usage statistics; this machine has no network for it.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

Problems = list[tuple[int, int, list[str]]]  # (expectation index, unexpected count, examples)


@functools.cache
def _batch_definition(name: str):
    source = _context().data_sources.add_or_update_pandas(name=f"warehouse_{name}")
    return source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("whole_frame")


@functools.cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch by hashing the whole frame (10 s on 2M rows). The
    # fingerprint only names the batch, and an ephemeral context never stores one.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def frame_of(relation) -> pd.DataFrame:
    """A DuckDB relation's rows as a pandas frame of the dtypes and values `.df()` gives, by way of
    Arrow: strings stay Arrow-backed rather than a Python object per value (half of GX's CPU on the
    case versions), and GX's string expectations run in Arrow's kernels."""
    import pyarrow as pa

    # DECIMAL to float64 by DuckDB, as `.df()` does: Arrow's cast misses the nearest double of one
    # value in eight, which would change the examples GX reports.
    columns = [
        f"CAST({_quoted(name)} AS DOUBLE) AS {_quoted(name)}"
        if str(duckdb_type).startswith("DECIMAL")
        else _quoted(name)
        for name, duckdb_type in zip(relation.columns, relation.types, strict=True)
    ]
    table = relation.project(", ".join(columns)).to_arrow_table()
    # As `.df()`: integer and boolean columns of pandas' nullable types where they hold a NULL.
    with_nulls = [
        column.name
        for column in table.schema
        if (pa.types.is_integer(column.type) or pa.types.is_boolean(column.type))
        and table.column(column.name).null_count
    ]
    frame = table.drop_columns(with_nulls).to_pandas(date_as_object=False)
    for name in with_nulls:
        frame[name] = table.column(name).to_pandas(types_mapper=_nullable_dtype)
    # As `.df()`: a text column with no value at all holds None (GX's examples say None, not nan).
    for column in table.schema:
        if pa.types.is_string(column.type) and 0 < table.num_rows == table.column(column.name).null_count:
            frame[column.name] = pd.Series([None] * table.num_rows, index=frame.index, dtype=object)
    return frame[table.column_names]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _nullable_dtype(arrow_type):
    """pandas' nullable dtype of an Arrow integer or boolean type: int32 -> Int32, bool -> boolean."""
    name = str(arrow_type)
    if name == "bool":
        return pd.BooleanDtype()
    return pd.api.types.pandas_dtype(name.replace("uint", "UInt").replace("int", "Int"))


# GX filters the whole frame for every expectation (a copy of every column of the kept rows):
# from this many rows, each group of expectations reading the same columns gets a frame of
# just those columns, which halves the case versions' validation. Below, GX's cost per
# validation outweighs the copies (measured: break-even between 20k and 150k rows).
SPLIT_FROM_ROWS = 100_000


def _columns_read(expect: Expect) -> tuple[str, ...] | None:
    """The columns an expectation reads; None when it may read others: a row condition, or an
    expectation of the table (its columns, its row count), whatever columns its arguments name."""
    kwargs = expect.kwargs
    if "row_condition" in kwargs or expect.expectation.startswith("ExpectTable"):
        return None
    names = [kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs]
    return tuple(dict.fromkeys([*names, *kwargs.get("column_list", [])])) or None


def frame_problems(frame: pd.DataFrame, suite_name: str, expectations: list[tuple[int, Expect]]) -> Problems:
    """What Great Expectations finds wrong with the frame: (expectation index, unexpected count,
    examples), by expectation index."""
    for column in frame.columns:
        # GX compares datetime64[ns] columns vectorized; DuckDB hands over [us], compared row by row.
        if pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
            frame[column] = frame[column].astype("datetime64[ns]")
    by_columns: dict[tuple[str, ...] | None, list[tuple[int, Expect]]] = {}
    present = set(frame.columns)
    for index, expect in expectations:
        columns = _columns_read(expect) if len(frame) >= SPLIT_FROM_ROWS else None
        if columns is not None and not set(columns) <= present:
            columns = None  # on the whole frame, as before
        by_columns.setdefault(columns, []).append((index, expect))
    problems = []
    for columns, group in by_columns.items():
        problems += _validated(frame if columns is None else frame[list(columns)], suite_name, group)
    return sorted(problems)


def _validated(frame: pd.DataFrame, suite_name: str, expectations: list[tuple[int, Expect]]) -> Problems:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _context()  # GX builds suites only while a context is active
    gx_suite = gx.ExpectationSuite(name=suite_name)
    for index, expect in expectations:
        gx_suite.add_expectation(getattr(gxe, expect.expectation)(**expect.kwargs, meta={"index": index}))
    batch = _batch_definition(suite_name).get_batch(batch_parameters={"dataframe": frame})
    outcome = batch.validate(
        gx_suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
    )
    # GX keeps the last batch of every data asset, frame and all, for the process's lifetime.
    batches = batch.data.execution_engine.batch_manager
    batches.reset_batch_cache()
    batches.batch_data_cache.clear()
    problems = []
    for result in outcome.results:
        if result.success:
            continue
        details = result.result or {}
        examples = [str(v) for v in details.get("partial_unexpected_list") or []]
        if result.exception_info and result.exception_info.get("raised_exception"):
            examples = [str(result.exception_info.get("exception_message"))[:200]]
        problems.append(
            (result.expectation_config.meta["index"], int(details.get("unexpected_count") or 0), examples)
        )
    return problems


def warm_up() -> None:
    """Import GX and build its context now rather than at the first check."""
    _context()
