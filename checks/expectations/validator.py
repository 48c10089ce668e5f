"""Great Expectations in a process of its own, started before the run loads Dagster.

GX takes seconds of Python to import (scipy, altair, pydantic models). In the run's process that
work holds the interpreter lock that Dagster's start and the ingests need; in a process of its
own it runs on the other core meanwhile, and the run's process never loads GX. A chunk to
validate goes over as a Parquet file that DuckDB writes without the lock; the problems come
back over a pipe, by ticket, so the run can send rows and go on (`Expectations.validate_ahead`).
If the process dies, the checks validate in the run's process instead.

Only worth it where GX is not loaded yet (the `rma-recon` command): see `start_if_useful`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
from typing import TYPE_CHECKING

from core.files import temp_folder_prefix

if TYPE_CHECKING:
    from checks.expectations.gx import Problems


class ValidatorGone(RuntimeError):
    """The validator process ended or stopped answering."""


class ValidatorProcess:
    def __init__(self) -> None:
        # spawn, not fork: a fork would copy whatever threads and locks the caller holds.
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe()
        self._folder = tempfile.mkdtemp(prefix=temp_folder_prefix("gx"))
        self._process = context.Process(
            target=_serve, args=(child_end,), name="rma-gx-validator", daemon=True
        )
        self._process.start()
        child_end.close()
        self._lock = threading.Lock()
        self._chunks = 0
        # (file, whether this object removes it, suite) of each unanswered ticket
        self._sent: dict[int, tuple[str, bool, str]] = {}
        self._answers: dict[int, tuple[bool, object, str]] = {}  # received before they were asked for

    def submit(self, con, sql: str, params: list | dict, suite_name: str, expectations: list) -> int:
        """Send the rows of `sql` to be validated; returns the ticket that `answer` takes.
        The process validates what it is sent in order, while the caller goes on."""
        with self._lock:
            self._chunks += 1
            ticket = self._chunks
            path = os.path.join(self._folder, f"chunk-{ticket}.parquet")
            try:
                write_parquet(con, sql, params, path)
                self._send(ticket, path, None, suite_name, expectations)
            except BaseException:
                _remove(path)
                raise
            self._sent[ticket] = (path, True, suite_name)
        return ticket

    def submit_rows(self, path: str, start: int, stop: int, suite_name: str, expectations: list) -> int:
        """Send rows [start, stop) of a Parquet file the caller wrote (and removes once answered)
        to be validated; returns the ticket that `answer` takes."""
        with self._lock:
            self._chunks += 1
            ticket = self._chunks
            self._send(ticket, path, (start, stop), suite_name, expectations)
            self._sent[ticket] = (path, False, suite_name)
        return ticket

    def _send(
        self, ticket: int, path: str, rows: tuple[int, int] | None, suite_name: str, expectations
    ) -> None:
        try:
            self._connection.send((ticket, path, rows, suite_name, expectations))
        except OSError as error:
            raise self._gone(error) from None

    def answer(self, ticket: int) -> Problems:
        """The problems found in the chunk of `ticket`, waiting for them if need be."""
        with self._lock:
            try:
                while ticket not in self._answers:
                    answered, succeeded, answer = self._connection.recv()
                    path, owned, suite_name = self._sent.pop(answered)
                    if owned:
                        _remove(path)
                    self._answers[answered] = (succeeded, answer, suite_name)
            except (EOFError, OSError) as error:
                raise self._gone(error) from None
            succeeded, answer, suite_name = self._answers.pop(ticket)
        if not succeeded:
            raise RuntimeError(f"Great Expectations failed on suite {suite_name}: {answer}")
        return answer

    def _gone(self, error: BaseException) -> ValidatorGone:
        return ValidatorGone(
            f"the Great Expectations process ended (exit code {self._process.exitcode}): {error!r}"
        )

    def close(self) -> None:
        """Stop the process (it holds nothing worth waiting for) and remove its files."""
        self._connection.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)
        shutil.rmtree(self._folder, ignore_errors=True)


def write_parquet(con, sql: str, params: list | dict, path: str) -> int:
    """Write the rows of `sql` to a Parquet file, in the order the query gives them; their count."""
    quoted = path.replace("'", "''")  # TMPDIR may hold a quote
    return con.execute(f"COPY ({sql}) TO '{quoted}' (FORMAT parquet)", params).fetchone()[0]


# Rows [$start, $stop) of a Parquet file, in the order they were written. Only the row groups
# that hold them are read.
FILE_ROWS_SQL = """SELECT * EXCLUDE (file_row_number)
    FROM read_parquet($path, file_row_number = true)
    WHERE file_row_number >= $start AND file_row_number < $stop ORDER BY file_row_number"""


def read_rows(con, path: str, rows: tuple[int, int] | None):
    """A pandas frame of rows [start, stop) of a Parquet file, or of all its rows."""
    from checks.expectations.gx import frame_of

    if rows is None:
        return frame_of(con.read_parquet(path))
    return frame_of(con.sql(FILE_ROWS_SQL, params={"path": path, "start": rows[0], "stop": rows[1]}))


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


def start_if_useful() -> ValidatorProcess | None:
    """A validator process when this process has not loaded Dagster or GX yet, else None.

    A process that has (the tests, the UI's run worker) validates in-process: GX is imported
    once there, and a process per run would import it again every time.
    """
    if "dagster" in sys.modules or "great_expectations" in sys.modules:
        return None
    return ValidatorProcess()


def _give_back_memory(libc) -> None:
    """Hand the memory of the frames validated so far back to the system: the process waits idle
    through the rest of the run (the statements, the run's peak) and should hold its imports only.
    Arrow's allocator and glibc's keep freed memory for reuse: about 70 MiB after the 1M cold
    close's case versions. Worth nothing to a check, so it never fails one."""
    try:
        import pyarrow

        gc.collect()
        pyarrow.default_memory_pool().release_unused()
        if libc is not None:
            libc.malloc_trim(0)
    except Exception:  # memory not handed back is no reason to stop validating
        pass


def _glibc():
    """glibc, whose malloc_trim hands freed heap back; None elsewhere."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the process's own symbols
    except (OSError, TypeError):  # Windows takes no None here
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def _serve(connection) -> None:
    # Stopped by close(): nothing to save, and tearing down an interpreter that holds GX and
    # pandas takes a second or two that the run would wait for.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        import duckdb
        from tqdm import tqdm

        from checks.expectations.gx import frame_problems, warm_up

        # GX's progress bars (disabled) still take tqdm's lock, by default a semaphore shared
        # between processes, which os._exit would leave behind. One process needs a plain lock.
        tqdm.set_lock(threading.RLock())
        warm_up()
        gc.freeze()  # GX's modules are here to stay: full collections need not scan them
        reader = duckdb.connect()
        libc = _glibc()
        while True:
            try:
                ticket, path, rows, suite_name, expectations = connection.recv()
            except EOFError:
                return  # the run is over
            try:
                answer = (
                    ticket,
                    True,
                    frame_problems(read_rows(reader, path, rows), suite_name, expectations),
                )
            except Exception as error:  # the check that asked fails with it
                answer = (ticket, False, f"{type(error).__name__}: {error}")
            connection.send(answer)
            if not connection.poll():
                _give_back_memory(libc)
    except KeyboardInterrupt:
        return  # Ctrl-C reaches the whole process group; the run reports it
