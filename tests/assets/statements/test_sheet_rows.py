"""Rows spliced into an XlsxWriter workbook read back as the values written, never as formulas."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from assets.statements import sheet_rows
from assets.statements.sheet_rows import (
    SheetRows,
    column_letters,
    install_sql_macros,
    query_rows,
    rows_xml,
    splice_rows,
    style_index,
)

AWKWARD_TEXTS = [
    "a\rb",
    "x\x01y",
    "_x0041_",
    " lead",
    "trail ",
    "a&b<c>d",
    "=1+2",
    "@SUM(A1)",
    "+1-2",
    "line\nbreak",
    "tab\tin",
    "Ünïcödé",
    "x" * 40_000,
]


def workbook_with_rows(rows: list[tuple], styles: list) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties(
        {"created": dt.datetime(2026, 1, 1)}
    )  # else "now": two calls a second apart differ
    sheet = workbook.add_worksheet("Lines")
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    money = workbook.add_format({"num_format": "#,##0.00"})
    formats = {"date": date, "money": money, None: None}
    for column in range(len(styles)):
        sheet.write_string(0, column, f"h{column}")
        sheet.set_column(column, column, 12, formats[styles[column]])
    xml, last_row = rows_xml(2, rows, [style_index(formats[kind]) for kind in styles])
    workbook.close()
    return splice_rows(buffer.getvalue(), {1: SheetRows(xml, last_row, len(styles))})


def test_values_read_back_with_calamine_as_written():
    rows = [
        (text, Decimal("1234.50"), dt.date(2026, 5, 1), dt.datetime(2026, 5, 1, 12, 30), 7, True, None, "end")
        for text in AWKWARD_TEXTS
    ]
    content = workbook_with_rows(rows, [None, "money", "date", "date", None, None, None, None])
    header, *lines = (
        CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("Lines").to_python()
    )
    assert header[0] == "h0" and len(lines) == len(AWKWARD_TEXTS)
    for text, line in zip(AWKWARD_TEXTS, lines, strict=True):
        assert line[0] == text[:32_767]
        assert line[1:6] == [1234.5, dt.date(2026, 5, 1), dt.datetime(2026, 5, 1, 12, 30), 7, "yes"]
        assert line[6] == "" and line[7] == "end"


def test_text_cells_are_strings_and_numbers_keep_their_formats():
    content = workbook_with_rows(
        [("=cmd|' /C calc'!A0", Decimal("0.10"), dt.date(2026, 1, 2))], [None, "money", "date"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(content))["Lines"]
    text, money, date = sheet[2]
    assert text.data_type == "s" and text.value == "=cmd|' /C calc'!A0"
    assert money.data_type == "n" and money.number_format == "#,##0.00" and money.value == 0.1
    assert date.is_date and date.value == dt.datetime(2026, 1, 2) and date.number_format == "yyyy-mm-dd"
    assert sheet.dimensions == "A1:C2"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert b"<f" not in archive.read("xl/worksheets/sheet1.xml")


def test_equal_rows_give_equal_bytes_and_no_rows_leave_the_sheet_alone():
    rows = [("a", Decimal("1.00"))] * 3
    assert workbook_with_rows(rows, [None, "money"]) == workbook_with_rows(rows, [None, "money"])
    assert openpyxl.load_workbook(io.BytesIO(workbook_with_rows([], [None])))["Lines"].dimensions == "A1:A1"


def test_splicing_into_a_missing_sheet_is_an_error():
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.add_worksheet().write_string(0, 0, "h")
    workbook.close()
    with pytest.raises(ValueError, match="sheet2"):
        splice_rows(buffer.getvalue(), {2: SheetRows(b'<row r="2"/>', 2, 1)})


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_letters(index, letters):
    assert column_letters(index) == letters


@pytest.mark.parametrize("chunk_rows", [50_000, 2, 1])
def test_rows_written_by_duckdb_are_the_bytes_rows_xml_writes(con, monkeypatch, chunk_rows):
    monkeypatch.setattr(sheet_rows, "QUERY_ROWS_CHUNK", chunk_rows)
    install_sql_macros(con)
    con.execute(
        """CREATE TABLE mixed (
            k INTEGER, t VARCHAR, m DECIMAL(18,2), d DATE, ts TIMESTAMP, flag BOOLEAN, n BIGINT, x DOUBLE)"""
    )
    rows = []
    for index, text in enumerate([*AWKWARD_TEXTS, "", "plain", None]):
        rows.append(
            (
                index,
                text,
                None if index % 5 == 0 else Decimal(index * 1234567) / 100 - 50,
                None if index % 4 == 0 else dt.date(1999, 12, 31) + dt.timedelta(days=index * 397),
                None
                if index % 3 == 0
                else dt.datetime(2026, 3, 1, 12, 30, 15, 123_457) + dt.timedelta(seconds=index * 86_399.5),
                None if index % 6 == 0 else index % 2 == 0,
                index**9,
                index / 7,
            )
        )
    con.executemany("INSERT INTO mixed VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    styles = [0, 0, 3, 4, 5, 0, 0, 3]
    expected = SheetRows(*rows_xml(4, sorted(rows, key=lambda row: -row[0]), styles), len(styles))
    assert query_rows(con, "SELECT * FROM mixed", [], "k DESC", 4, styles) == expected
    assert query_rows(con, "SELECT * FROM mixed WHERE k < 0", [], "k", 4, styles) == SheetRows(
        b"", 3, len(styles)
    )
