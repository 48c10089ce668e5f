"""File reading: physical line numbers, blank lines, encodings, XLSX cells."""

import datetime as dt

import openpyxl
import pytest

from assets.ingest.readers import (
    UnreadableFile,
    cell_text,
    is_inside,
    parse_csv_text,
    read_csv_file,
    read_xlsx_file,
)


def test_lines_count_blank_lines_and_multiline_records():
    text = 'a,b\n1,2\n\n"x\ny",3\n,\n4,5\n'
    parsed = parse_csv_text(text)
    assert parsed.header == ["a", "b"]
    assert [(r.line, r.fields) for r in parsed.records] == [
        (2, ["1", "2"]),
        (4, ["x\ny", "3"]),
        (7, ["4", "5"]),
    ]
    assert parsed.records[1].raw == '"x\ny",3'


def test_crlf_line_endings():
    parsed = parse_csv_text("a,b\r\n1,2\r\n3,4\r\n")
    assert [(r.line, r.raw) for r in parsed.records] == [(2, "1,2"), (3, "3,4")]


def test_bom_is_allowed(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("\ufeffrma_number,x\nR-1,2\n".encode())
    assert read_csv_file(path).header == ["rma_number", "x"]


def test_not_utf8_is_unreadable(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("a,b\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        read_csv_file(path)


def test_binary_is_unreadable(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"\x00\x01\x02PK")
    with pytest.raises(UnreadableFile):
        read_csv_file(path)


def test_xlsx_that_is_not_a_zip_is_unreadable(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_text("rma_number,fulfilled_on\n")
    with pytest.raises(UnreadableFile, match="XLSX"):
        read_xlsx_file(path)


def test_xlsx_header_is_first_non_empty_row_and_lines_are_sheet_rows(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A3"], sheet["B3"] = "rma_number", "fulfilled_on"
    sheet["A4"], sheet["B4"] = "R-1", dt.datetime(2026, 6, 2)
    sheet["A6"], sheet["B6"] = "R-2", "2026-06-03"
    path = tmp_path / "f.xlsx"
    workbook.save(path)
    parsed = read_xlsx_file(path)
    assert parsed.header == ["rma_number", "fulfilled_on"]
    assert [(r.line, r.fields) for r in parsed.records] == [
        (4, ["R-1", "2026-06-02"]),
        (6, ["R-2", "2026-06-03"]),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (45.5, "45.5"),
        (120.0, "120"),
        (49.99, "49.99"),
        (True, "true"),
        (dt.datetime(2026, 6, 2), "2026-06-02"),
        (dt.datetime(2026, 6, 2, 10, 30), "2026-06-02T10:30:00"),
        ("=SUM(A1)", "=SUM(A1)"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_is_inside_with_a_shared_cache_of_folders(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "outside"
    (root / "inbound").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.csv").write_text("x")
    (root / "inbound/plain.csv").write_text("x")
    (root / "inbound/link.csv").symlink_to(outside / "secret.csv")
    (root / "inbound/folder-link").symlink_to(outside)
    (root / "inbound/inner-link.csv").symlink_to(root / "inbound/plain.csv")
    resolved: dict[str, str] = {}
    cases = {
        "inbound/plain.csv": True,
        "inbound/link.csv": False,
        "inbound/folder-link/secret.csv": False,
        "inbound/inner-link.csv": True,
        "inbound/missing.csv": True,
    }
    for relative, inside in cases.items():
        assert is_inside(root / relative, root, resolved) is inside, relative
        assert is_inside(root / relative, root) is inside, relative


def _accounted(parsed) -> int:
    return parsed.header_lines + parsed.blank_lines + sum(record.lines for record in parsed.records)


def test_every_physical_line_is_accounted_for():
    text = '\na,b\n1,2\n\n"x\r\ny",3\n , \r\n4,5\n6,7'
    parsed = parse_csv_text(text)
    assert (parsed.lines, parsed.header_lines, parsed.blank_lines) == (9, 2, 2)
    assert [record.lines for record in parsed.records] == [1, 2, 1, 1]
    assert _accounted(parsed) == parsed.lines


def test_a_stray_quote_makes_one_record_of_the_lines_it_swallows():
    text = 'a,b\n1,"2\n3,4\n5,6\n'
    parsed = parse_csv_text(text)
    [first] = parsed.records
    assert (first.line, first.lines, first.raw) == (2, 3, '1,"2\n3,4\n5,6')
    assert _accounted(parsed) == parsed.lines == 4


def test_plain_files_account_for_their_lines_too():
    from assets.ingest.readers import parse_csv_bytes

    plain = parse_csv_bytes(b"\n\na,b\r\n1,2\r\n\r\n,\r\n3,4")
    assert (plain.lines, plain.header_lines, plain.blank_lines, plain.rows) == (7, 3, 2, 2)
    ends_with_newline = parse_csv_bytes(b"a,b\n1,2\n")
    assert (ends_with_newline.lines, ends_with_newline.blank_lines) == (2, 0)


def test_sheet_rows_are_accounted_for(tmp_path):
    path = tmp_path / "r.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in ([], ["a", "b"], [1, 2], [], [3, 4]):
        sheet.append(row)
    workbook.save(path)
    parsed = read_xlsx_file(path)
    assert (parsed.lines, parsed.header_lines, parsed.blank_lines) == (5, 2, 1)
    assert _accounted(parsed) == parsed.lines
