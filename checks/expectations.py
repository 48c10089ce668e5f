"""Run a suite with Great Expectations 1.x on a frame read from DuckDB.

`dagster-ge` supports only GX 0.x, so GX is called directly: an ephemeral context and a pandas
data source. GX takes seconds to import, so it is imported on first use, never at load time.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from checks.suites import ERROR, Expect, Suite

EXAMPLES = 5
CHUNK_ROWS = 500_000  # GX validates a pandas frame; chunks bound its memory
# GX would otherwise try to send usage statistics; this machine has no network for it.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class Problem:
    expectation: str
    target: str
    severity: str
    unexpected_count: int
    examples: list[str]

    @property
    def sentence(self) -> str:
        shown = ", ".join(self.examples[:EXAMPLES])
        return f"{self.expectation} on {self.target}: {self.unexpected_count} unexpected" + (f" (e.g. {shown})" if shown else "")


@dataclass
class SuiteResult:
    suite: str
    rows: int
    expectations: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def blocking(self) -> bool:
        return any(problem.severity == ERROR for problem in self.problems)

    @property
    def summary(self) -> str:
        if self.passed:
            return f"{self.suite}: {self.expectations} expectations met on {self.rows} rows"
        worst = [p for p in self.problems if p.severity == ERROR] or self.problems
        return f"{self.suite}: {len(self.problems)} expectation(s) failed; first: {worst[0].sentence}"

    def markdown(self) -> str:
        if self.passed:
            return f"All {self.expectations} expectations met on {self.rows} rows."
        lines = ["| severity | expectation | column(s) | unexpected | examples |", "|---|---|---|---|---|"]
        for p in self.problems:
            examples = ", ".join(p.examples[:EXAMPLES]).replace("|", "\\|")
            lines.append(f"| {p.severity} | {p.expectation} | {p.target} | {p.unexpected_count} | {examples} |")
        return "\n".join(lines)


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


def _target(expect: Expect) -> str:
    kwargs = expect.kwargs
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']} vs {kwargs['column_B']}"
    return "table"


def validate_suite(
    con: duckdb.DuckDBPyConnection, suite: Suite, quarter: str | None = None, chunk_rows: int = CHUNK_ROWS
) -> SuiteResult:
    """Every row of the suite's frame validated, in chunks of about `chunk_rows`.

    Chunks split the rows by a hash of `suite.chunk_by`, a column of every uniqueness the suite
    expects, so equal keys meet in one chunk; unexpected counts add up across chunks.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    described = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {suite.table})").fetchall())
    problems = [
        Problem("column type", column, ERROR, 1, [f"{described.get(column, 'missing')} instead of {wanted}"])
        for column, wanted in suite.columns.items()
        if described.get(column) != wanted
    ]
    params = [quarter] * suite.sql.count("?")
    rows = con.execute(f"SELECT count(*) FROM ({suite.sql})", params).fetchone()[0]
    chunks = max(1, -(-rows // chunk_rows))

    _context()  # GX builds suites only while a context is active
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for index, expect in enumerate(suite.expectations):
        gx_suite.add_expectation(getattr(gxe, expect.expectation)(**expect.kwargs, meta={"index": index}))
    found: dict[int, Problem] = {}
    for chunk in range(chunks):
        sql = suite.sql if chunks == 1 else f"SELECT * FROM ({suite.sql}) WHERE hash({suite.chunk_by}) % {chunks} = {chunk}"
        frame = con.execute(sql, params).df()
        for column in frame.columns:
            # GX compares datetime64[ns] columns vectorized; DuckDB hands over [us], compared row by row.
            if pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
                frame[column] = frame[column].astype("datetime64[ns]")
        batch = _batch_definition(suite.name).get_batch(batch_parameters={"dataframe": frame})
        outcome = batch.validate(gx_suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES})
        del batch, frame
        for result in outcome.results:
            if result.success:
                continue
            index = result.expectation_config.meta["index"]
            expect = suite.expectations[index]
            details = result.result or {}
            examples = [str(v) for v in details.get("partial_unexpected_list") or []]
            if result.exception_info and result.exception_info.get("raised_exception"):
                examples = [str(result.exception_info.get("exception_message"))[:200]]
            earlier = found.get(index) or Problem(expect.expectation, _target(expect), expect.severity, 0, [])
            found[index] = Problem(
                expect.expectation, earlier.target, expect.severity,
                earlier.unexpected_count + int(details.get("unexpected_count") or 0),
                (earlier.examples + examples)[:EXAMPLES],
            )
    problems += [found[index] for index in sorted(found)]
    return SuiteResult(suite.name, rows, len(suite.expectations) + len(suite.columns), problems)
