"""One run at a time per warehouse file: DuckDB allows a single writer."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(Exception):
    pass


@contextmanager
def warehouse_lock(
    warehouse: Path, timeout_seconds: float, on_wait=None, shared: bool = False
) -> Iterator[None]:
    """Hold a lock on `<warehouse>.lock`: exclusive for a run, shared for a reader (`status`).
    Wait up to the timeout, then give up. A run waits for readers and readers for a run."""
    lock_path = Path(f"{warehouse}.lock")
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_seconds
        waited = False
        while True:
            try:
                fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    who = "a run is" if shared else "another run is"
                    raise WarehouseBusy(
                        f"{who} using the warehouse {str(warehouse)!r} (or a reader such as rma-recon "
                        f"status); gave up after {timeout_seconds:g}s (try again, or raise --lock-timeout)"
                    ) from None
                if not waited and on_wait:
                    on_wait()
                waited = True
                time.sleep(0.2)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock
