"""The worked example, run as its README says, compared row for row with the expected files."""

import csv
import os
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.cli import main
from tests.conftest import EXAMPLE_ARGS, FIXTURES

pytestmark = pytest.mark.slow


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rows(con, table: str, columns: list[str]) -> list[tuple[str, ...]]:
    return sorted(
        tuple(_text(v) for v in row)
        for row in con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    )


def _expected(path: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, sorted(tuple(row) for row in reader)


def _run_example(example_dir: Path) -> None:
    os.chdir(example_dir)
    assert main(["run", "2026-Q2", "--close", *EXAMPLE_ARGS]) == 0
    assert main(["run", "2026-Q3", "--as-of", "2026-08-31", *EXAMPLE_ARGS]) == 0


@pytest.fixture(scope="module")
def example_run(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("worked") / "example"
    shutil.copytree(FIXTURES / "example", target)
    cwd = os.getcwd()
    try:
        _run_example(target)
    finally:
        os.chdir(cwd)
    return target


@pytest.mark.parametrize("table", ["claim_outcomes", "distributor_credits", "sla_status", "quarantine"])
def test_every_expected_row(example_run: Path, table: str):
    header, expected = _expected(example_run / f"expected_{table}.csv")
    with duckdb.connect(str(example_run / "wh.duckdb"), read_only=True) as con:
        assert _rows(con, table, header) == expected


def test_receiving_exceptions(example_run: Path):
    with duckdb.connect(str(example_run / "wh.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT quarter, kind, rma_number, source_line FROM exceptions ORDER BY ALL"
        ).fetchall()
    assert rows == [
        ("2026-Q2", "RECEIPT_SERIAL_MISMATCH", "R26-0121", 4),
        ("2026-Q2", "UNMATCHED_RECEIPT", "R26-0555", 3),
    ]


def _summary(path: Path) -> dict[str, object]:
    sheet = openpyxl.load_workbook(path)["Summary"]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0] is not None}


@pytest.mark.parametrize(
    ("quarter", "distributor", "status", "total"),
    [
        ("2026-Q2", "NORTHSTAR", "FINAL", Decimal("169.99")),
        ("2026-Q2", "EUROPA-1", "FINAL", Decimal("0.00")),
        ("2026-Q3", "NORTHSTAR", "DRAFT", Decimal("289.99")),
        ("2026-Q3", "EUROPA-1", "DRAFT", Decimal("0.00")),
    ],
)
def test_statements(example_run: Path, quarter: str, distributor: str, status: str, total: Decimal):
    path = example_run / "out" / quarter / f"{distributor}.xlsx"
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Summary", "Credited", "Held", "Rejected"]
    summary = _summary(path)
    assert summary["Status"] == status
    assert Decimal(str(summary["Credit total"])).quantize(Decimal("0.01")) == total
    *credited, total_row = workbook["Credited"].iter_rows(min_row=2, values_only=True)
    assert sum((Decimal(str(row[6])) for row in credited), Decimal("0.00")) == total
    assert total_row[0] == "Total" and Decimal(str(total_row[6])).quantize(Decimal("0.01")) == total
    for sheet in workbook:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


def test_formula_text_stays_text(example_run: Path):
    sheet = openpyxl.load_workbook(example_run / "out/2026-Q3/NORTHSTAR.xlsx")["Credited"]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == '=HYPERLINK("http://x","y")']
    assert len(cells) == 1 and cells[0].data_type == "s"


def test_closed_quarter_rerun_is_byte_identical(example_run: Path):
    before = {p.name: p.read_bytes() for p in (example_run / "out/2026-Q2").glob("*.xlsx")}
    cwd = os.getcwd()
    try:
        os.chdir(example_run)
        with duckdb.connect("wh.duckdb", read_only=True) as con:
            outcomes_before = con.execute(
                "SELECT * FROM claim_outcomes WHERE quarter = '2026-Q2' ORDER BY ALL"
            ).fetchall()
        assert main(["run", "2026-Q2", *EXAMPLE_ARGS]) == 0
        with duckdb.connect("wh.duckdb", read_only=True) as con:
            outcomes_after = con.execute(
                "SELECT * FROM claim_outcomes WHERE quarter = '2026-Q2' ORDER BY ALL"
            ).fetchall()
    finally:
        os.chdir(cwd)
    after = {p.name: p.read_bytes() for p in (example_run / "out/2026-Q2").glob("*.xlsx")}
    assert after == before and len(after) == 2
    assert outcomes_after == outcomes_before


def test_the_journal_is_the_expected_one(example_run: Path):
    with (example_run / "out/finance/2026-Q2-journal.csv").open(newline="") as handle:
        journal = [{k: v for k, v in row.items() if k != "description"} for row in csv.DictReader(handle)]
    with (example_run / "expected_journal_2026-Q2.csv").open(newline="") as handle:
        expected = list(csv.DictReader(handle))
    assert journal == expected  # in order: per distributor, each entry's debit line first
    raw = (example_run / "out/finance/2026-Q2-journal.csv").read_bytes()
    assert b"\r\n" not in raw and raw.decode("utf-8").count("\n") == len(expected) + 1
    assert not (example_run / "out/finance/2026-Q3-journal.csv").exists()  # drafts write none
