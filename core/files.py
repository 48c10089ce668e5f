"""Writing files so that a fault names the file: a full disk or a read-only folder is reported
with the path the user must look at."""

from __future__ import annotations

import os
from pathlib import Path


def write_file(path: Path, content: bytes) -> None:
    """Write `content` to `path`, raising an OSError that names `path` when the write fails."""
    try:
        Path(path).write_bytes(content)
    except OSError as error:
        raise OSError(error.errno, error.strerror, os.fspath(path)) from None


def replace_file(path: Path, content: bytes) -> None:
    """Write `content` beside `path` and rename it into place: a reader never sees half a file."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    write_file(partial, content)
    os.replace(partial, path)
