"""Files and folders: writes whose faults name the file (a full disk or a read-only folder is
reported with the path to look at), and temporary folders a killed run left behind."""

from __future__ import annotations

import os
import shutil
import tempfile
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(error.errno, error.strerror, os.fspath(path.parent)) from None
    write_file(partial, content)
    os.replace(partial, path)


def temp_folder_prefix(kind: str) -> str:
    """The prefix of a temporary folder this process makes: its owner's pid tells a later run
    whether the folder was abandoned (see `remove_abandoned_temp_folders`)."""
    return f"rma-{kind}-{os.getpid()}-"


def remove_abandoned_temp_folders(kind: str) -> list[Path]:
    """Temporary folders of `kind` whose process is gone (killed before it could clean up)."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"rma-{kind}-*"):
        pid = folder.name.split("-")[2]
        if folder.is_dir() and not folder.is_symlink() and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
