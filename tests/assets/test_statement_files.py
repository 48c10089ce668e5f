import dataclasses
import datetime as dt
from decimal import Decimal

import assets.statement_files
from assets.statement_files import render_statements
from assets.workbook import Statement
from tests.assets.test_workbook import line


def test_statements_rendered_in_worker_processes_are_byte_identical(monkeypatch):
    base = Statement("D1", "D one", "USD", "2026-Q2", True, dt.date(2026, 6, 30), dt.date(2026, 6, 30), Decimal("0.30"),
                     credited=[line("R-1", "CREDITED", "0.10"), line("R-2", "CREDITED", "0.20")],
                     held=[line("R-3", "NO_PRICE", None)])
    statements = [dataclasses.replace(base, distributor_id=f"D{i}") for i in range(4)]
    serial = render_statements(statements)
    monkeypatch.setattr(assets.statement_files, "PARALLEL_FROM_LINES", 1)
    parallel = render_statements(statements)
    assert [f.file_name for f in parallel] == ["D0.xlsx", "D1.xlsx", "D2.xlsx", "D3.xlsx"]
    assert parallel == serial
