"""Real subprocesses killed while a run writes statements: whole files or the previous ones, and
`status` says what to restore; killed while a release sends them: the next release sends."""

import duckdb
import pytest

from pipelines.cli import main
from tests.pipelines.crashing import cli, rerun, snapshot

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("crash", ["statements-midway", "statements-swap"])
def test_kill_while_writing_statements_keeps_the_previous_files(example, crash):
    before = snapshot(example)
    # A draft as of an earlier day writes different statements (other dates and lines).
    killed = cli(example, "2026-Q3", "--as-of", "2026-07-15", crash=crash)
    assert killed.returncode == -9
    folder = example / "out/2026-Q3"
    kept = folder if folder.exists() else example / "out/.2026-Q3.previous"
    assert {p.name: p.read_bytes() for p in kept.glob("*.xlsx")} == before["statements"]
    assert rerun("2026-Q3", "--as-of", "2026-07-15") == 0
    after = snapshot(example)
    assert (
        set(after["statements"]) == set(before["statements"]) and after["statements"] != before["statements"]
    )
    assert (
        not (example / "out/.2026-Q3.previous").exists() and not (example / "out/.2026-Q3.partial").exists()
    )


def test_a_close_killed_while_writing_statements_is_reported_then_restored(example, capsys):
    killed = cli(example, "2026-Q3", "--close", crash="statements-midway")
    assert killed.returncode == -9
    assert snapshot(example)["state"][0] == "closed"  # the close committed; its files were not all written
    assert list((example / "out/2026-Q3").glob(".*.partial"))
    capsys.readouterr()
    assert main(["status", "--warehouse", "wh.duckdb", "--statements-dir", "out"]) == 0
    assert "2026-Q3: its statements on disk do not match the warehouse" in capsys.readouterr().out
    assert rerun("2026-Q3") == 0  # re-emits the stored FINAL bytes
    assert not list((example / "out/2026-Q3").glob(".*.partial"))
    assert main(["status", "--warehouse", "wh.duckdb", "--statements-dir", "out"]) == 0
    assert "do not match" not in capsys.readouterr().out


def test_a_kill_while_renaming_leaves_only_complete_files(example, capsys):
    before = snapshot(example)["statements"]
    killed = cli(example, "2026-Q3", "--as-of", "2026-07-15", crash="statements-renaming")
    assert killed.returncode == -9
    after = {p.name: p.read_bytes() for p in (example / "out/2026-Q3").glob("*.xlsx")}
    assert set(after) == set(before)
    assert (
        after["EUROPA-1.xlsx"] != before["EUROPA-1.xlsx"]
        and after["NORTHSTAR.xlsx"] == before["NORTHSTAR.xlsx"]
    )
    assert all(content.startswith(b"PK") for content in after.values())
    capsys.readouterr()
    assert main(["status", "--warehouse", "wh.duckdb", "--statements-dir", "out"]) == 0
    assert "2026-Q3: its statements on disk do not match the warehouse" in capsys.readouterr().out


def test_a_release_killed_before_its_sending_is_logged_is_finished_by_the_next_release(example, capsys):
    killed = cli(example, "2026-Q2", "--by", "Bo Releaser", crash="delivery-before-commit", command="release")
    assert killed.returncode == -9
    outbox = example / "out/outbox/2026-Q2"
    written = sorted(path.name for path in outbox.glob("*.eml"))
    assert len(written) == 2  # written, but the delivery log does not know yet
    capsys.readouterr()
    assert rerun("2026-Q2", "--by", "Cy Third", command="release") == 0
    out = capsys.readouterr().out
    assert "2026-Q2 was released by Bo Releaser" in out and "nothing changed" in out
    assert "Delivery: 2 written to out/outbox/2026-Q2" in out
    assert sorted(path.name for path in outbox.glob("*.eml")) == written  # the same files, not new ones
    assert rerun("2026-Q2", "--by", "Cy Third", command="release") == 0
    assert "Delivery: already sent, nothing new" in capsys.readouterr().out
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        audit = con.execute(
            "SELECT who, action, outcome FROM audit_log WHERE action <> 'close' ORDER BY happened_at, detail"
        ).fetchall()
    assert audit == [
        ("Bo Releaser", "release", "released"),
        ("Cy Third", "delivery", "sent"),
        ("Cy Third", "delivery", "sent"),
    ]
