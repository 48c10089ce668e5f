"""The statements asset, invoked directly: what it writes for a closed quarter."""

import hashlib
import shutil

import dagster as dg
import duckdb
import pytest

import assets.statements.defs
import assets.statements.statement_files
from assets.resources import RunSettings
from assets.statements.defs import credit_statements
from core.warehouse import replace_closed_files_table
from pipelines.resources import warehouse_resource


def _stored(name: str, content: bytes) -> tuple[str, str, str, bytes, str]:
    return ("2026-Q2", name, "NORTHSTAR", content, hashlib.sha256(content).hexdigest())


def test_a_closed_quarter_writes_its_stored_bytes_and_renders_nothing(
    example_q2_warehouse, tmp_path, monkeypatch
):
    warehouse = tmp_path / "wh.duckdb"
    shutil.copyfile(example_q2_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE quarter_runs SET state = 'closed' WHERE quarter = '2026-Q2'")
        con.executemany(
            f"INSERT INTO {replace_closed_files_table(con, '2026-Q2')} VALUES (?, ?, ?, ?, ?)",
            [_stored("NORTHSTAR.xlsx", b"the stored statement"), _stored("NORTHSTAR.csv", b"stored lines")],
        )
        journal = b"the stored journal"
        con.execute(
            "INSERT INTO closed_journals VALUES ('2026-Q2', ?, ?)",
            [journal, hashlib.sha256(journal).hexdigest()],
        )

    def no_rendering(*args, **kwargs):
        pytest.fail("a closed quarter was rendered again")

    monkeypatch.setattr(assets.statements.statement_files, "build_statement", no_rendering)
    monkeypatch.setattr(assets.statements.defs, "render_statements", no_rendering)
    monkeypatch.setattr(assets.statements.defs, "build_journal", no_rendering)
    out = tmp_path / "out"
    credit_statements(
        dg.build_asset_context(partition_key="2026-04-01"),
        duckdb=warehouse_resource(str(warehouse)),
        settings=RunSettings(statements_dir=str(out), data_dir=str(tmp_path / "data")),
    )
    assert sorted(path.name for path in (out / "2026-Q2").iterdir()) == ["NORTHSTAR.csv", "NORTHSTAR.xlsx"]
    assert (out / "2026-Q2/NORTHSTAR.xlsx").read_bytes() == b"the stored statement"
    assert (out / "2026-Q2/NORTHSTAR.csv").read_bytes() == b"stored lines"
    assert (out / "finance/2026-Q2-journal.csv").read_bytes() == journal
