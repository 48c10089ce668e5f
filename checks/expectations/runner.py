"""Run a suite with Great Expectations 1.x on a frame read from DuckDB.

`dagster-ge` supports only GX 0.x, so GX is called directly: an ephemeral context and a pandas
data source. GX takes seconds to import, so it is imported on first use, never at load time.
An `Expectations` validates in this process, or in the validator process (`validator.py`) it
is given: the `rma-recon` command starts one before it loads Dagster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import duckdb

from checks.expectations import gx
from checks.expectations.gx import EXAMPLES, frame_of, frame_problems
from checks.expectations.suites import ERROR, Expect, Suite, build_suites, read_references
from checks.expectations.validator import FILE_ROWS_SQL, ValidatorGone, ValidatorProcess, write_parquet
from core.files import temp_folder_prefix
from core.warehouse import in_transaction

CHUNK_ROWS = 500_000  # GX validates a pandas frame; chunks bound its memory


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
        return f"{self.expectation} on {self.target}: {self.unexpected_count} unexpected" + (
            f" (e.g. {shown})" if shown else ""
        )


@dataclass
class SuiteResult:
    suite: str
    rows: int
    expectations: int
    problems: list[Problem] = field(default_factory=list)
    rows_revalidated: int | None = None  # of `rows`, those GX saw this run; the rest as validated before

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
            lines.append(
                f"| {p.severity} | {p.expectation} | {p.target} | {p.unexpected_count} | {examples} |"
            )
        return "\n".join(lines)


def _target(expect: Expect) -> str:
    kwargs = expect.kwargs
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']} vs {kwargs['column_B']}"
    return "table"


UNIQUENESS = {"ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"}


def _per_row(suite: Suite) -> list[tuple[int, Expect]]:
    """The suite's expectations validated row by row (all but uniqueness), with their index."""
    return [
        (index, expect)
        for index, expect in enumerate(suite.expectations)
        if expect.expectation not in UNIQUENESS
    ]


def _params(suite: Suite, quarter: str | None) -> list:
    return [quarter] * suite.sql.count("?")  # `?` is the quarter in a partitioned suite's SQL


def _key_columns(expect: Expect) -> list[str]:
    return expect.kwargs.get("column_list") or [expect.kwargs["column"]]


# Per-row results of a suite, kept by the files they cover (see validate_suite).
MEMO_DDL = """
CREATE TABLE IF NOT EXISTS suite_batches (
    suite VARCHAR, batch VARCHAR, fingerprint VARCHAR, problems VARCHAR);
CREATE TABLE IF NOT EXISTS suite_batch_files (
    suite VARCHAR, batch VARCHAR, source_file VARCHAR, rows BIGINT, digest VARCHAR);
"""
_CODE = (Path(__file__), Path(gx.__file__))  # how the rows are validated


@dataclass(frozen=True)
class _FilePlan:
    """Which files of a suite kept by file need validating, and which kept results still hold."""

    fingerprint: str
    current: dict[str, tuple[int, str]]  # source_file -> (rows, digest of its rows)
    kept: list[str]  # batches whose files are all unchanged
    fresh: list[str]  # files no kept batch covers
    batch: str  # names the fresh files' results: the fingerprint and the files' rows
    fresh_sql: str  # the fresh files' rows; takes `fresh_params`

    @property
    def fresh_rows(self) -> int:
        return sum(self.current[name][0] for name in self.fresh)

    @property
    def fresh_params(self) -> dict:
        return {"files": self.fresh}


def _fingerprint(suite: Suite, expectations: list[tuple[int, Expect]]) -> str:
    """Whatever the results depend on but the rows: the frame's SQL, the expectations with their
    values, the code."""
    return hashlib.sha256(
        repr(
            (
                suite.sql,
                [(index, expect) for index, expect in expectations],
                version("great_expectations"),
                duckdb.__version__,
            )
        ).encode()
        + b"".join(path.read_bytes() for path in _CODE)
    ).hexdigest()


def _frame_key(
    con: duckdb.DuckDBPyConnection, suite: Suite, expectations: list[tuple[int, Expect]], params: list
) -> tuple[int, str]:
    """(rows, a key naming their results) of a suite's whole frame."""
    rows, digest = con.execute(
        f"SELECT count(*), sum(hash(frame)) FROM ({suite.sql}) frame", params
    ).fetchone()
    return rows, hashlib.sha256(
        repr((_fingerprint(suite, expectations), params, rows, str(digest))).encode()
    ).hexdigest()


def _plan_by_file(
    con: duckdb.DuckDBPyConnection, suite: Suite, expectations: list[tuple[int, Expect]]
) -> _FilePlan:
    con.execute(MEMO_DDL)
    fingerprint = _fingerprint(suite, expectations)
    current = {
        source_file: (rows, str(digest))
        for source_file, rows, digest in con.execute(
            f"SELECT source_file, count(*), sum(hash(frame)) FROM ({suite.sql}) frame GROUP BY source_file"
        ).fetchall()
    }
    stored: dict[str, dict[str, tuple[int, str]]] = {}
    for batch, source_file, rows, digest in con.execute(
        """SELECT f.batch, f.source_file, f.rows, f.digest FROM suite_batch_files f
        JOIN suite_batches b USING (suite, batch) WHERE f.suite = ? AND b.fingerprint = ?""",
        [suite.name, fingerprint],
    ).fetchall():
        stored.setdefault(batch, {})[source_file] = (rows, digest)
    kept = sorted(
        batch
        for batch, files in stored.items()
        if all(current.get(name) == state for name, state in files.items())
    )
    covered = {name for batch in kept for name in stored[batch]}
    fresh = sorted(name for name in current if name not in covered)
    batch = hashlib.sha256(
        repr((fingerprint, [(name, current[name]) for name in fresh])).encode()
    ).hexdigest()
    fresh_sql = f"SELECT * FROM ({suite.sql}) WHERE source_file IN (SELECT unnest($files))"
    return _FilePlan(fingerprint, current, kept, fresh, batch, fresh_sql)


def _add_problem(
    found: dict[int, Problem], suite: Suite, index: int, count: int, examples: list[str]
) -> None:
    expect = suite.expectations[index]
    earlier = found.get(index) or Problem(expect.expectation, _target(expect), expect.severity, 0, [])
    found[index] = Problem(
        expect.expectation,
        earlier.target,
        expect.severity,
        earlier.unexpected_count + count,
        (earlier.examples + examples)[:EXAMPLES],
    )


@dataclass(frozen=True)
class _Chunk:
    """Rows to validate against some expectations; `ticket` is the validator's, if it was sent.
    `folder` holds the file the rows were written to, if any: removed once they are validated."""

    sql: str
    params: list | dict
    expectations: list[tuple[int, Expect]]
    validator: ValidatorProcess | None = None
    ticket: int | None = None
    folder: str | None = None


class Expectations:
    """Validates suites with GX, in this process or in the validator process it is given.

    With a validator, rows can be sent ahead (`validate_ahead`) as soon as they are written, and
    the check that asks for them later (`validate_suite`) takes the answer up. If the validator
    dies, this process validates from then on, with a warning.
    """

    def __init__(self, validator: ValidatorProcess | None = None) -> None:
        self._validator = validator
        # Chunks that validate_ahead sent, by suite and a key of their rows; validate_suite takes them.
        self._ahead: dict[tuple[str, str], list[_Chunk]] = {}

    @property
    def pending_ahead(self) -> int:
        """Suites sent ahead whose answers no check has taken up yet."""
        return len(self._ahead)

    def rows_written(
        self, con: duckdb.DuckDBPyConnection, asset_name: str, quarter: str | None = None
    ) -> None:
        """An asset has written its rows: send them to the validator process now, if there is
        one, so that GX works on them while the run goes on. Its check takes the answer up."""
        if self._validator is None:
            return
        try:
            suite = build_suites(read_references(con)).get(asset_name)
            if suite is None:
                return  # an asset without a suite
            self.validate_ahead(con, suite, quarter if suite.partitioned else None)
        except duckdb.Error:
            pass  # e.g. a table the suite reads is not staged yet: the check validates and reports it

    def close(self) -> None:
        """Stop the validator process, if there is one; the answers not taken up go with it."""
        for chunks in self._ahead.values():
            _remove_folders(chunks)
        self._ahead.clear()
        if self._validator is not None:
            self._validator.close()
            self._validator = None

    def validate_suite(
        self,
        con: duckdb.DuckDBPyConnection,
        suite: Suite,
        quarter: str | None = None,
        chunk_rows: int = CHUNK_ROWS,
        memo: bool = True,
    ) -> SuiteResult:
        """Every row of the suite's frame validated, in chunks of about `chunk_rows`.

        The per-row expectations see runs of consecutive rows, the frame written once; the
        examples are then the first unexpected rows of the frame. Unexpected counts add up across
        chunks.

        A uniqueness expectation is validated apart, on the rows whose key DuckDB counts more than
        once (NULLs grouped together, as pandas does): a row with a key of its own is never
        unexpected, so the counts are those of the whole frame, and GX does not hash millions of
        keys that are unique. Its chunks split the candidates by a hash of `suite.chunk_by`, a
        column of every uniqueness the suite expects, so equal keys meet in one chunk.

        For a suite kept by file (`Suite.memo_by_file`), the per-row expectations are validated only
        on files whose rows changed since they were last validated; the results of the others, kept
        with a digest of their rows, are added in. A failure stays until its rows change. Rows that
        `validate_ahead` sent already are not sent again.
        """
        described = dict(
            con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {suite.table})").fetchall()
        )
        problems = [
            Problem(
                "column type", column, ERROR, 1, [f"{described.get(column, 'missing')} instead of {wanted}"]
            )
            for column, wanted in suite.columns.items()
            if described.get(column) != wanted
        ]
        params = _params(suite, quarter)
        rows = con.execute(f"SELECT count(*) FROM ({suite.sql})", params).fetchone()[0]
        indexed = list(enumerate(suite.expectations))
        per_row = _per_row(suite)
        plan = None
        if memo and suite.memo_by_file:
            plan = _plan_by_file(con, suite, per_row)
            per_row_chunks = self._ahead.pop((suite.name, plan.batch), None)
            if per_row_chunks is None:
                per_row_chunks = self._submit(
                    con, suite, per_row, plan.fresh_sql, plan.fresh_params, plan.fresh_rows, chunk_rows
                )
            revalidated = plan.fresh_rows
        else:
            per_row_chunks = None
            if any(name == suite.name for name, _ in self._ahead):
                per_row_chunks = self._ahead.pop(
                    (suite.name, _frame_key(con, suite, per_row, params)[1]), None
                )
            if per_row_chunks is None:
                per_row_chunks = self._submit(con, suite, per_row, suite.sql, params, rows, chunk_rows)
            revalidated = rows
        # The validator works on the rows sent above while DuckDB finds the uniqueness candidates.
        try:
            found: dict[int, Problem] = {}
            for index, expect in indexed:
                if expect.expectation in UNIQUENESS:
                    key = ", ".join(_key_columns(expect))
                    # Kept in a temp table: the window over every row is the cost; counting and validating
                    # reuse it.
                    con.execute(
                        f"""CREATE OR REPLACE TEMP TABLE uniqueness_candidates AS SELECT {key} FROM (
                            SELECT {key}, count(*) OVER (PARTITION BY {key}) AS copies FROM ({suite.sql}))
                        WHERE copies > 1""",
                        params,
                    )
                    try:
                        candidates = con.execute("SELECT count(*) FROM uniqueness_candidates").fetchone()[0]
                        # Ordered: the examples GX reports are the first unexpected rows, the same every run.
                        candidates_sql = f"SELECT * FROM uniqueness_candidates ORDER BY {key}"
                        chunks = self._submit(
                            con,
                            suite,
                            [(index, expect)],
                            candidates_sql,
                            [],
                            candidates,
                            chunk_rows,
                            by_key=True,
                        )
                        self._collect(con, suite, chunks, found)
                    finally:
                        con.execute("DROP TABLE IF EXISTS uniqueness_candidates")
            if plan is None:
                self._collect(con, suite, per_row_chunks, found)
            else:
                self._remember(con, suite, plan, per_row_chunks, found)
        finally:
            _remove_folders(per_row_chunks)  # collected, or abandoned by a failure
        problems += [found[index] for index in sorted(found)]
        return SuiteResult(
            suite.name, rows, len(suite.expectations) + len(suite.columns), problems, revalidated
        )

    def validate_ahead(
        self,
        con: duckdb.DuckDBPyConnection,
        suite: Suite,
        quarter: str | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        """Send the rows that the suite's check will validate to the validator process now.

        Called as soon as the rows are written: GX validates them on the other core while the run
        goes on, and `validate_suite` takes the answer up if the rows it finds to validate are the
        same (the same files with the same rows, or the same frame), with the same expectations.
        Does nothing without a validator.
        """
        if self._validator is None:
            return
        per_row = _per_row(suite)
        if suite.memo_by_file:
            plan = _plan_by_file(con, suite, per_row)
            if plan.fresh_rows:
                _remove_folders(self._ahead.pop((suite.name, plan.batch), []))
                self._ahead[(suite.name, plan.batch)] = self._submit(
                    con, suite, per_row, plan.fresh_sql, plan.fresh_params, plan.fresh_rows, chunk_rows
                )
        else:
            params = _params(suite, quarter)
            rows, key = _frame_key(con, suite, per_row, params)
            _remove_folders(self._ahead.pop((suite.name, key), []))
            self._ahead[(suite.name, key)] = self._submit(
                con, suite, per_row, suite.sql, params, rows, chunk_rows
            )

    def _remember(
        self,
        con: duckdb.DuckDBPyConnection,
        suite: Suite,
        plan: _FilePlan,
        fresh_chunks: list[_Chunk],
        found: dict[int, Problem],
    ) -> None:
        """Keep the fresh files' results, drop the batches no longer kept; add the kept results and
        the fresh ones to `found`."""
        fresh_found: dict[int, Problem] = {}
        self._collect(con, suite, fresh_chunks, fresh_found)
        statements = [
            (
                "DELETE FROM suite_batch_files WHERE suite = ? AND batch NOT IN (SELECT unnest(?))",
                [suite.name, plan.kept],
            ),
            (
                "DELETE FROM suite_batches WHERE suite = ? AND batch NOT IN (SELECT unnest(?))",
                [suite.name, plan.kept],
            ),
        ]
        if plan.fresh:
            problems = [[index, p.unexpected_count, p.examples] for index, p in sorted(fresh_found.items())]
            statements.append(
                (
                    "INSERT INTO suite_batches VALUES (?, ?, ?, ?)",
                    [suite.name, plan.batch, plan.fingerprint, json.dumps(problems)],
                )
            )
            statements.append(
                (
                    "INSERT INTO suite_batch_files SELECT ?, ?, unnest(?), unnest(?), unnest(?)",
                    [
                        suite.name,
                        plan.batch,
                        plan.fresh,
                        [plan.current[name][0] for name in plan.fresh],
                        [plan.current[name][1] for name in plan.fresh],
                    ],
                )
            )
        in_transaction(con, statements, name=f"{suite.name} validations")
        kept_problems = con.execute(
            "SELECT problems FROM suite_batches "
            "WHERE suite = ? AND batch IN (SELECT unnest(?)) ORDER BY batch",
            [suite.name, plan.kept],
        ).fetchall()
        for (text,) in kept_problems:
            for index, count, examples in json.loads(text):
                _add_problem(found, suite, index, count, examples)
        for index, problem in fresh_found.items():
            _add_problem(found, suite, index, problem.unexpected_count, problem.examples)

    def _submit(
        self,
        con: duckdb.DuckDBPyConnection,
        suite: Suite,
        expectations: list[tuple[int, Expect]],
        sql: str,
        params: list | dict,
        rows: int,
        chunk_rows: int,
        by_key: bool = False,
    ) -> list[_Chunk]:
        """The chunks of the rows of `sql`, each sent to the validator process if there is one.

        `by_key`: equal values of `suite.chunk_by` meet in one chunk (a uniqueness needs them
        together); each chunk is then a query of its own. Otherwise the rows are written once
        and cut into runs of consecutive rows: one pass over them, however many chunks.
        """
        if not expectations or not rows:
            return []
        chunks = max(1, -(-rows // chunk_rows))
        if chunks > 1 and not by_key:
            return self._submit_in_runs(con, suite, expectations, sql, params, chunk_rows)
        result = []
        for chunk in range(chunks):
            chunk_sql = (
                sql
                if chunks == 1
                else f"SELECT * FROM ({sql}) WHERE hash({suite.chunk_by}) % {chunks} = {chunk}"
            )
            result.append(
                self._sent(
                    _Chunk(chunk_sql, params, expectations),
                    lambda validator, sql=chunk_sql: validator.submit(
                        con, sql, params, suite.name, expectations
                    ),
                )
            )
        return result

    def _submit_in_runs(
        self,
        con: duckdb.DuckDBPyConnection,
        suite: Suite,
        expectations: list[tuple[int, Expect]],
        sql: str,
        params: list | dict,
        chunk_rows: int,
    ) -> list[_Chunk]:
        """The rows of `sql` written to a file once, as chunks of consecutive rows of it (a query
        per chunk would read all the rows again for each)."""
        folder = tempfile.mkdtemp(prefix=temp_folder_prefix("gx"))
        path = os.path.join(folder, "rows.parquet")
        result: list[_Chunk] = []
        try:
            written = write_parquet(con, sql, params, path)
            chunks = max(1, -(-written // chunk_rows))
            size = max(1, -(-written // chunks))  # chunks of even size
            for start in range(0, written, size):
                stop = min(start + size, written)
                result.append(
                    self._sent(
                        _Chunk(
                            FILE_ROWS_SQL,
                            {"path": path, "start": start, "stop": stop},
                            expectations,
                            folder=folder,
                        ),
                        lambda validator, start=start, stop=stop: validator.submit_rows(
                            path, start, stop, suite.name, expectations
                        ),
                    )
                )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if not result:
            shutil.rmtree(folder, ignore_errors=True)  # no rows written
        return result

    def _sent(self, chunk: _Chunk, send: Callable[[ValidatorProcess], int]) -> _Chunk:
        """The chunk as sent to the validator process by `send`, if there is one and it takes it."""
        if self._validator is None:
            return chunk
        try:
            return dataclasses.replace(chunk, validator=self._validator, ticket=send(self._validator))
        except ValidatorGone as gone:
            self._stop_using(self._validator, gone)
            return chunk

    def _collect(
        self, con: duckdb.DuckDBPyConnection, suite: Suite, chunks: list[_Chunk], found: dict[int, Problem]
    ) -> None:
        """Add what fails in the chunks to `found`: the validator's answers, or validated here.
        The chunks' files stay: `validate_suite` removes them, whatever happens."""
        for chunk in chunks:
            problems = None
            if chunk.validator is not None:
                try:
                    problems = chunk.validator.answer(chunk.ticket)
                except ValidatorGone as gone:
                    self._stop_using(chunk.validator, gone)
            if problems is None:
                con.complete()  # a relation needs the connection's last result run to its end
                problems = frame_problems(
                    frame_of(con.sql(chunk.sql, params=chunk.params)), suite.name, chunk.expectations
                )
            for index, count, examples in problems:
                _add_problem(found, suite, index, count, examples)

    def _stop_using(self, validator: ValidatorProcess, gone: ValidatorGone) -> None:
        if validator is self._validator:
            logging.getLogger(__name__).warning(f"{gone}; validating in this process from now on")
            self._validator = None


def _remove_folders(chunks: list[_Chunk]) -> None:
    for folder in {chunk.folder for chunk in chunks if chunk.folder}:
        shutil.rmtree(folder, ignore_errors=True)
