"""The statements folder: only the project's own files are replaced (rulebook §6), leftovers of a
killed run go, superseded drafts go, and the files on disk are checked against the warehouse."""

import hashlib

import pytest

from assets.statements.on_disk import (
    clear_leftovers,
    disk_differences,
    expected_files,
    record_written,
    remove_superseded,
    write_statement_files,
    written_files,
)
from assets.statements.statement_files import StatementFile
from core.quarters import Quarter
from core.warehouse import prepare, replace_closed_files_table

Q2 = Quarter(2026, 2)


def statement(distributor: str, content: bytes = b"PK-1") -> StatementFile:
    return StatementFile(f"{distributor}.xlsx", distributor, content)


@pytest.fixture
def folder(tmp_path):
    quarter_folder = tmp_path / "out/2026-Q2"
    (quarter_folder / "sent").mkdir(parents=True)
    (quarter_folder / "approval_signed.pdf").write_bytes(b"%PDF signed")
    (quarter_folder / "sent/A.eml").write_text("sent on Monday")
    return tmp_path / "out"


def test_a_run_replaces_its_own_files_and_leaves_the_users_alone(folder):
    write_statement_files(folder, Q2, [statement("A", b"old"), statement("B", b"old")])
    write_statement_files(folder, Q2, [statement("A", b"new")], written_before=["A.xlsx", "B.xlsx"])
    names = sorted(p.name for p in (folder / "2026-Q2").iterdir())
    assert names == ["A.xlsx", "approval_signed.pdf", "sent"]  # B is no longer in scope
    assert (folder / "2026-Q2/A.xlsx").read_bytes() == b"new"
    assert (folder / "2026-Q2/sent/A.eml").read_text() == "sent on Monday"


def test_leftovers_of_a_killed_run_go_and_the_users_files_stay(folder):
    quarter_folder = folder / "2026-Q2"
    (quarter_folder / ".A.xlsx.partial").write_bytes(b"half")
    (quarter_folder / ".notes.txt").write_text("the user's hidden file")
    (folder / ".2026-Q3.partial").mkdir()
    removed = clear_leftovers(folder)
    assert sorted(p.name for p in removed) == [".2026-Q3.partial", ".A.xlsx.partial"]
    assert (quarter_folder / ".notes.txt").exists() and (quarter_folder / "approval_signed.pdf").exists()


def test_the_last_complete_set_of_an_earlier_version_is_put_back(tmp_path):
    aside = tmp_path / "out/.2026-Q2.previous"
    aside.mkdir(parents=True)
    (aside / "A.xlsx").write_bytes(b"complete")
    assert clear_leftovers(tmp_path / "out") == []  # kept: it is the quarter's only copy
    write_statement_files(tmp_path / "out", Q2, [statement("B")])
    assert sorted(p.name for p in (tmp_path / "out/2026-Q2").iterdir()) == ["A.xlsx", "B.xlsx"]


def test_superseded_drafts_lose_their_statements_and_summary_only(con, folder):
    prepare(con)
    write_statement_files(folder, Q2, [statement("A")])
    record_written(con, Q2, [statement("A")])
    (folder / "finance").mkdir()
    (folder / "finance/2026-Q2-summary.xlsx").write_bytes(b"draft summary")
    con.execute(
        "INSERT INTO quarter_runs (quarter, state, as_of) VALUES ('2026-Q2', 'superseded', '2026-06-30')"
    )
    removed = remove_superseded(con, folder)
    assert sorted(p.name for p in removed) == ["2026-Q2-summary.xlsx", "A.xlsx"]
    assert sorted(p.name for p in (folder / "2026-Q2").iterdir()) == ["approval_signed.pdf", "sent"]
    assert written_files(con, Q2) == {}


def test_files_on_disk_are_checked_against_the_warehouse(con, folder):
    prepare(con)
    files = [statement("A", b"a"), statement("B", b"b")]
    write_statement_files(folder, Q2, files)
    record_written(con, Q2, files)
    assert disk_differences(expected_files(con), folder) == {}
    (folder / "2026-Q2/A.xlsx").write_bytes(b"DRAFT left by a killed close")
    (folder / "2026-Q2/B.xlsx").unlink()
    assert disk_differences(expected_files(con), folder) == {
        "2026-Q2": "its statements on disk do not match the warehouse (1 missing, 1 differ): "
        "re-run the quarter to restore them"
    }


def test_a_closed_quarter_is_checked_against_its_stored_bytes(con, folder):
    prepare(con)
    final = b"FINAL"
    con.execute(
        f"INSERT INTO {replace_closed_files_table(con, '2026-Q2')} VALUES ('2026-Q2', 'A.xlsx', 'A', ?, ?)",
        [final, hashlib.sha256(final).hexdigest()],
    )
    record_written(con, Q2, [statement("A", b"DRAFT")])  # what a close killed before writing left behind
    write_statement_files(folder, Q2, [statement("A", b"DRAFT")])
    assert "1 differ" in disk_differences(expected_files(con), folder)["2026-Q2"]
