"""Across every statement of a run: only the distributor's own lines, no formula, safe paths."""

import csv
import os
from pathlib import Path

import duckdb
import openpyxl
import pytest

from assets.statements.workbook import statement_file_name
from pipelines.cli import main
from synthetic.generate import generate_data

pytestmark = pytest.mark.slow

LEADERS = ["=", "+", "-", "@", "\t=", "\r=", "=\n"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("safety")
    data = root / "data"
    generate_data(data, seed=11, cases=300, distributors=3)
    with (data / "reference/distributors.csv").open("a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(
            ["Ünï Co. 7", "=cmd|' /C calc'!A0", "x@y.example", "FI", "EUR"]
        )
    odd_folder = data / "inbound/fulfillment_reports/Ünï Co. 7"
    odd_folder.mkdir()
    with (odd_folder / "2026-05.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)  # CRLF terminator: fields holding CR or LF get quoted
        writer.writerow(
            ["rma_number", "fulfilled_on", "defective_serial", "replacement_serial", "replacement_sku"]
        )
        for index, leader in enumerate(LEADERS):
            writer.writerow(
                [f"X-{index}", "2026-05-02", "SN-1", f"{leader}1+cmd|'/C calc'!A0", f"{leader}SUM(A1:A9)"]
            )
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert (
            main(
                [
                    "run",
                    "2026-Q2",
                    "--data-dir",
                    "data",
                    "--warehouse",
                    "wh.duckdb",
                    "--statements-dir",
                    "out",
                ]
            )
            == 0
        )
    finally:
        os.chdir(cwd)
    return root


def statement_lines(path: Path) -> set[tuple[str, int]]:
    workbook = openpyxl.load_workbook(path)
    lines = set()
    for sheet_name in ("Credited", "Held", "Rejected"):
        sheet = workbook[sheet_name]
        header = [cell.value for cell in sheet[1]]
        file_column, line_column = header.index("Source file"), header.index("Source line")
        *rows, total = sheet.iter_rows(min_row=2, values_only=True)
        assert total[0] == "Total"
        lines.update((row[file_column], row[line_column]) for row in rows)
    return lines


def test_each_statement_holds_exactly_its_distributors_lines(run):
    with duckdb.connect(str(run / "wh.duckdb"), read_only=True) as con:
        expected = con.execute(
            "SELECT distributor_id, source_file, source_line FROM claim_outcomes WHERE quarter = '2026-Q2'"
        ).fetchall()
    by_distributor: dict[str, set] = {}
    for distributor_id, source_file, source_line in expected:
        by_distributor.setdefault(distributor_id, set()).add((source_file, source_line))
    statements = sorted((run / "out/2026-Q2").iterdir())
    assert sorted(p.name for p in statements) == sorted(statement_file_name(d) for d in by_distributor)
    for distributor_id, lines in by_distributor.items():
        found = statement_lines(run / "out/2026-Q2" / statement_file_name(distributor_id))
        assert found == lines
        assert all(source_file.split("/")[2] == distributor_id for source_file, _ in found)


def test_no_cell_of_any_statement_is_a_formula(run):
    injected = 0
    for path in (run / "out/2026-Q2").glob("*.xlsx"):
        for sheet in openpyxl.load_workbook(path):
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{path.name}!{sheet.title}!{cell.coordinate}"
                    if isinstance(cell.value, str) and ("cmd|" in cell.value or "SUM(" in cell.value):
                        assert cell.data_type == "s"
                        injected += 1
    # Every replacement serial but the one with a line break inside (rulebook §2: BAD_VALUE, in
    # quarantine), and the distributor name.
    assert injected == len(LEADERS) - 1 + 1
    with duckdb.connect(str(run / "wh.duckdb"), read_only=True) as con:
        reasons = con.execute("SELECT reason FROM quarantine WHERE raw LIKE '%cmd|%'").fetchall()
    assert reasons == [("BAD_VALUE:replacement_serial",)]


def test_statement_paths_stay_in_the_statements_directory(run):
    root = os.path.realpath(run / "out/2026-Q2")
    files = list((run / "out/2026-Q2").iterdir())
    assert files and all(os.path.dirname(os.path.realpath(p)) == root for p in files)
    odd = statement_file_name("Ünï Co. 7")
    assert odd in {p.name for p in files} and odd.isascii() and " " not in odd
