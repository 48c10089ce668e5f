import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from assets.statements.sheet_rows import SheetRows
from assets.statements.workbook import Statement, build_statement
from checks.readback import read_statement_totals, statement_problems
from pipelines.cli import main
from tests.assets.statements.test_workbook import line
from tests.conftest import EXAMPLE_ARGS


def d1_statement(credit_total: str, *credits: str, final: bool = True, **fields) -> Statement:
    """D1's 2026-Q2 statement with a credited line per amount."""
    return Statement(
        "D1",
        None,
        "USD",
        "2026-Q2",
        final,
        dt.date(2026, 6, 30),
        dt.date(2026, 6, 30),
        Decimal(credit_total),
        credited=[line(f"R-{n}", "CREDITED", amount) for n, amount in enumerate(credits, start=1)],
        **fields,
    )


def test_totals_read_back_from_a_statement(tmp_path):
    statement = d1_statement("0.30", "0.10", "0.20")
    path = tmp_path / "D1.xlsx"
    path.write_bytes(build_statement(statement))
    assert read_statement_totals(path) == (Decimal("0.30"), Decimal("0.30"), Decimal("0.30"), 0)


def test_a_summary_that_disagrees_with_its_lines_is_seen(tmp_path):
    statement = d1_statement("9.99", "0.10", final=False)
    path = tmp_path / "D1.xlsx"
    path.write_bytes(build_statement(statement))
    summary, lines, total_row, _ = read_statement_totals(path)
    assert (summary, lines, total_row) == (Decimal("9.99"), Decimal("0.10"), Decimal("0.10"))
    assert statement_problems(tmp_path, [("D1", Decimal("0.10"))]) == [
        "D1: Summary 9.99, Credited lines 0.10, Total row 0.10, distributor_credits 0.10"
    ]


def test_formula_cells_are_counted_and_formula_like_text_is_not(tmp_path):
    import xlsxwriter

    from checks.readback import count_formula_cells

    path = tmp_path / "f.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = workbook.add_worksheet()
    sheet.write_string(0, 0, "=1+1")
    sheet.write_string(1, 0, "<f>not a formula</f>")
    sheet.write_formula(2, 0, "=SUM(A1:A2)")
    workbook.add_worksheet().write_formula(0, 0, '=HYPERLINK("http://x","y")')
    workbook.close()
    assert count_formula_cells(path) == 2


@pytest.mark.slow
def test_cli_fails_when_a_written_statement_does_not_add_up(example_cwd, monkeypatch, capsys):
    import assets.statements.statement_files

    real_build = assets.statements.statement_files.build_statement
    monkeypatch.setattr(
        assets.statements.statement_files,
        "build_statement",
        lambda s: real_build(dataclasses.replace(s, credit_total=s.credit_total + 1)),
    )
    assert main(["run", "2026-Q2", *EXAMPLE_ARGS]) == 1
    err = capsys.readouterr().err
    assert (
        "rma-recon: error: check statement_totals_match on credit_statements: EUROPA-1: Summary 1.00" in err
    )


def test_problems_name_the_missing_and_the_wrong_statements(tmp_path):
    good = d1_statement("0.10", "0.10")
    (tmp_path / "D1.xlsx").write_bytes(build_statement(good))
    (tmp_path / "D3.xlsx").write_bytes(build_statement(dataclasses.replace(good, distributor_id="D3")))
    credits = [("D1", Decimal("0.10")), ("D2", Decimal("5.00")), ("D3", Decimal("0.20"))]
    assert statement_problems(tmp_path, credits) == [
        "D2: statement D2.xlsx is missing",
        "D3: Summary 0.10, Credited lines 0.10, Total row 0.10, distributor_credits 0.20",
    ]


def test_a_total_row_that_disagrees_with_its_lines_is_seen(tmp_path):
    statement = d1_statement(
        "0.10",
        "0.10",
        line_rows={"Credited": SheetRows(b"", 1, 12)},  # no lines written, so a Total of 0.00
        line_sums={"Credited": {"credit_amount": Decimal("0.00")}},
    )
    (tmp_path / "D1.xlsx").write_bytes(build_statement(statement))
    assert statement_problems(tmp_path, [("D1", Decimal("0.10"))]) == [
        "D1: Summary 0.10, Credited lines 0.00, Total row 0.00, distributor_credits 0.10"
    ]
