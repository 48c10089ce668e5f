"""Statements read back from disk: Summary total = sum of Credited lines = their Total row =
distributor_credits."""

import os
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from assets.statements.workbook import statement_file_name

CENT = Decimal("0.01")


_FORMULA_ELEMENT = re.compile(rb"<f[ >/]")


def count_formula_cells(path: Path) -> int:
    """Formula cells in a workbook: `<f>` elements in its worksheet XML (text cells are escaped)."""
    with zipfile.ZipFile(path) as archive:
        return sum(
            len(_FORMULA_ELEMENT.findall(archive.read(name)))
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        )


def read_statement_totals(path: Path) -> tuple[Decimal, Decimal, Decimal | None, int]:
    """(Summary credit total, sum of the Credited lines, the Credited sheet's Total row, formula
    cells) of one statement file. No Total row as the sheet's last row: None."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    summary = {row[0]: row[1] for row in workbook.get_sheet_by_name("Summary").to_python() if row and row[0]}
    header, *lines = workbook.get_sheet_by_name("Credited").to_python()
    amount_column = header.index("Credit amount")
    total_row = None
    if lines and lines[-1][0] == "Total":
        total_row = Decimal(str(lines.pop()[amount_column])).quantize(CENT)
    lines_total = sum((Decimal(str(row[amount_column])).quantize(CENT) for row in lines), Decimal("0.00"))
    summary_total = Decimal(str(summary["Credit total"])).quantize(CENT)
    return summary_total, lines_total, total_row, count_formula_cells(path)


def statement_problems(folder: Path, credits: list[tuple[str, Decimal]]) -> list[str]:
    """What is wrong with the statements in `folder`, given each distributor's credit_total."""
    paths = [folder / statement_file_name(distributor_id) for distributor_id, _ in credits]
    # calamine and zlib release the GIL: threads read the files on every core.
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        totals = list(pool.map(lambda path: read_statement_totals(path) if path.exists() else None, paths))
    problems = []
    for (distributor_id, credit_total), path, read in zip(credits, paths, totals, strict=True):
        if read is None:
            problems.append(f"{distributor_id}: statement {path.name} is missing")
            continue
        summary_total, lines_total, total_row, formulas = read
        if not summary_total == lines_total == total_row == credit_total:
            problems.append(
                f"{distributor_id}: Summary {summary_total}, Credited lines {lines_total}, "
                f"Total row {total_row if total_row is not None else 'missing'}, "
                f"distributor_credits {credit_total}"
            )
        if formulas:
            problems.append(f"{distributor_id}: {formulas} formula cell(s)")
    return problems
