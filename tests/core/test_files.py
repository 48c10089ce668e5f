"""Files whose write faults name them, and temporary folders a killed process left behind."""

import errno
import os
import subprocess
import sys

import pytest

from core.files import remove_abandoned_temp_folders, replace_file, temp_folder_prefix, write_file


def test_a_failed_write_names_the_file(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    with pytest.raises(OSError) as raised:
        write_file(blocked / "child.xlsx", b"PK")
    assert raised.value.errno == errno.ENOTDIR and raised.value.filename == str(blocked / "child.xlsx")


def test_replace_file_leaves_no_partial_file(tmp_path):
    replace_file(tmp_path / "a.eml", b"mail")
    assert [p.name for p in tmp_path.iterdir()] == ["a.eml"]


def test_only_folders_of_processes_that_are_gone_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    abandoned = tmp_path / f"rma-gx-{gone.stdout.strip()}-abc"
    mine = tmp_path / f"{temp_folder_prefix('gx')}def"
    other_kind = tmp_path / f"rma-generate-{gone.stdout.strip()}-x"
    for folder in (abandoned, mine, other_kind):
        folder.mkdir()
    assert remove_abandoned_temp_folders("gx") == [abandoned]
    assert mine.exists() and other_kind.exists() and os.listdir(tmp_path) != []
