"""Bulk worksheet rows written as XML text and spliced into a workbook that XlsxWriter built.

XlsxWriter costs about 150 µs per statement line (a Python call, a stored cell and an XML write
per cell). For the long line tables the workbook is built with their header row only, and
this module writes the data rows itself: strings as inline text cells (never a formula),
numbers and dates as numbers with the column's XlsxWriter format.

The same cells can be written by DuckDB (`install_sql_macros`, `row_xml_sql`), byte for byte
as `rows_xml` writes them, for tables too big to pass through Python one value at a time.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

MAX_STRING_CHARS = 32_767  # Excel's cell limit; XlsxWriter truncates the same way
SHEET_ROWS = 1_048_576  # Excel opens no sheet with more rows
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_XML_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def style_index(cell_format) -> int:
    """The xf index XlsxWriter gives a format (0 = General); asking registers the format."""
    return 0 if cell_format is None else cell_format._get_xf_index()


def _text(text: str) -> str:
    """`<t>`'s attribute and text: `>text`, escaped the way Excel reads it."""
    if len(text) > MAX_STRING_CHARS:
        text = text[:MAX_STRING_CHARS]
    if not _XML_SPECIAL.search(text):
        return f">{text}"
    # Excel's own escapes: a literal "_xHHHH_" keeps its underscore, control characters
    # (CR included, which XML would turn into LF) become _xHHHH_.
    text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text[:1].isspace() or text[-1:].isspace():
        return f' xml:space="preserve">{text}'
    return f">{text}"


_EXCEL_EPOCH_TIME = dt.datetime.combine(_EXCEL_EPOCH, dt.time(0))
# Cell content by Python type: (is text, the text or the number). bool is yes/no, like the rest
# of the workbook.
_CONTENT = {
    str: lambda value: (True, _text(value)),
    bool: lambda value: (True, ">yes" if value else ">no"),
    int: lambda value: (False, f"{value:.16G}"),
    float: lambda value: (False, f"{value:.16G}"),
    Decimal: lambda value: (False, f"{float(value):.16G}"),
    dt.datetime: lambda value: (False, f"{(value - _EXCEL_EPOCH_TIME).total_seconds() / 86_400:.16G}"),
    dt.date: lambda value: (False, f"{(value - _EXCEL_EPOCH).days:.16G}"),
}


def rows_xml(first_row: int, rows: Iterable[Sequence[object]], styles: Sequence[int]) -> tuple[bytes, int]:
    """`<row>` elements from 1-based `first_row` on, and the number of the last row written.

    `styles` holds the XlsxWriter xf index of each column (0 = General); None is an empty cell.
    """
    letters = [column_letters(index) for index in range(len(styles))]
    text_tails = [f'" s="{style}" t="inlineStr"><is><t' for style in styles]
    number_tails = [f'" s="{style}"><v>' for style in styles]
    parts: list[str] = []
    row_number = first_row - 1
    for row_number, values in enumerate(rows, start=first_row):
        parts.append(f'<row r="{row_number}">')
        for column, value in enumerate(values):
            if value is None:
                continue
            content = _CONTENT.get(type(value))
            is_text, payload = content(value) if content else (True, _text(str(value)))
            if is_text:
                parts.append(f'<c r="{letters[column]}{row_number}{text_tails[column]}{payload}</t></is></c>')
            else:
                parts.append(f'<c r="{letters[column]}{row_number}{number_tails[column]}{payload}</v></c>')
        parts.append("</row>")
    return "".join(parts).encode("utf-8", "replace"), row_number


@dataclass(frozen=True)
class SheetRows:
    xml: bytes  # UTF-8: a big sheet's rows pass from DuckDB to the zip without a str in between
    last_row: int
    columns: int


_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>')


def _splice(sheet_xml: bytes, rows: SheetRows) -> bytes:
    if not rows.xml:
        return sheet_xml
    head, end_tag, tail = sheet_xml.partition(b"</sheetData>")
    if not end_tag:
        raise ValueError("the sheet has no header row to append rows to")
    match = _DIMENSION.search(head)
    if match:
        first_column, first_row, last_column, last_row = match.groups()
        last_column_index = max(_column_index(last_column or first_column), rows.columns - 1)
        dimension = (
            f'<dimension ref="{first_column.decode()}{first_row.decode()}:{column_letters(last_column_index)}'
        )
        dimension += f'{max(int(last_row or first_row), rows.last_row)}"/>'
        head = head[: match.start()] + dimension.encode() + head[match.end() :]
    return b"".join((head, rows.xml, end_tag, tail))


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters.decode():
        index = index * 26 + ord(letter) - 64
    return index - 1


def splice_rows(package: bytes, rows_by_sheet: dict[int, SheetRows]) -> bytes:
    """The workbook with rows appended to the sheets given by position (1 = first sheet).

    Members keep their order, names, times and attributes, so equal inputs give equal bytes.
    """
    members = {f"xl/worksheets/sheet{position}.xml": rows for position, rows in rows_by_sheet.items()}
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(package)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info)
            if info.filename in members:
                content = _splice(content, members.pop(info.filename))
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.external_attr, copy.create_system = info.external_attr, info.create_system
            target.writestr(copy, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    if members:
        raise ValueError(f"the workbook has no {', '.join(sorted(members))}")
    return output.getvalue()


# The same escapes in DuckDB SQL. RE2 has no callbacks, so the few control characters a
# text may hold are replaced one by one, and only in texts that hold one.
_CONTROL_CODES = [*range(0x00, 0x09), *range(0x0B, 0x20), 0xFFFE, 0xFFFF]
_CONTROL_CLASS = r"[\x{00}-\x{08}\x{0b}-\x{1f}\x{fffe}\x{ffff}]"
# Python's str.isspace() characters left once control characters are escaped.
_EDGE_SPACE_CLASS = r"[\t\n \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_ESCAPE_CONTROLS_SQL = "s"
for _code in _CONTROL_CODES:
    _ESCAPE_CONTROLS_SQL = f"replace({_ESCAPE_CONTROLS_SQL}, chr({_code}), '_x{_code:04X}_')"

# Most texts need no escape: one match, mirroring _XML_SPECIAL, sends them straight through.
_NEEDS_ESCAPE = rf"[&<>]|_x[0-9a-fA-F]{{4}}_|{_CONTROL_CLASS}|^{_EDGE_SPACE_CLASS}|{_EDGE_SPACE_CLASS}$"

SQL_MACROS = f"""
CREATE OR REPLACE TEMP MACRO xlsx_escape_controls(s) AS {_ESCAPE_CONTROLS_SQL};
CREATE OR REPLACE TEMP MACRO xlsx_escaped(s) AS replace(replace(replace(
    CASE WHEN regexp_matches(s, '{_CONTROL_CLASS}')
        THEN xlsx_escape_controls(regexp_replace(s, '(_x[0-9a-fA-F]{{4}}_)', '_x005F\\1', 'g'))
        ELSE regexp_replace(s, '(_x[0-9a-fA-F]{{4}}_)', '_x005F\\1', 'g') END,
    '&', '&amp;'), '<', '&lt;'), '>', '&gt;');
CREATE OR REPLACE TEMP MACRO xlsx_text_payload(s) AS concat(
    CASE WHEN regexp_matches(s, '^{_EDGE_SPACE_CLASS}|{_EDGE_SPACE_CLASS}$')
        THEN ' xml:space="preserve">' ELSE '>' END, s);
CREATE OR REPLACE TEMP MACRO xlsx_text_cell(ref, style, s) AS CASE WHEN s IS NULL THEN '' ELSE concat(
    '<c r="', ref, '" s="', style, '" t="inlineStr"><is><t',
    CASE WHEN strlen(s) > {MAX_STRING_CHARS} OR regexp_matches(s, '{_NEEDS_ESCAPE}')
        THEN xlsx_text_payload(xlsx_escaped(substring(s, 1, {MAX_STRING_CHARS}))) ELSE concat('>', s) END,
    '</t></is></c>') END;
CREATE OR REPLACE TEMP MACRO xlsx_number_cell(ref, style, x) AS CASE WHEN x IS NULL THEN '' ELSE concat(
    '<c r="', ref, '" s="', style, '"><v>', printf('%.16G', CAST(x AS DOUBLE)), '</v></c>') END;
"""


def install_sql_macros(con) -> None:
    """Create the TEMP macros `row_xml_sql` uses on this connection."""
    con.execute(SQL_MACROS)


@dataclass(frozen=True)
class SqlColumn:
    expression: str  # SQL over the row's source; NULL leaves the cell empty
    kind: str  # "text", "number", "date", "timestamp" or "yes/no": how rows_xml writes the Python value
    style: int  # the XlsxWriter xf index of the column


def row_xml_sql(columns: Sequence[SqlColumn], row_number: str) -> str:
    """A SQL expression giving one `<row>` element, as `rows_xml` writes it; `row_number` is SQL too."""
    cells = []
    for index, column in enumerate(columns):
        head, value = f"concat('{column_letters(index)}', {row_number}), '{column.style}'", column.expression
        if column.kind == "text":
            cells.append(f"xlsx_text_cell({head}, {value})")
        elif column.kind == "yes/no":
            cells.append(
                f"xlsx_text_cell({head}, CASE WHEN {value} THEN 'yes' WHEN NOT {value} THEN 'no' END)"
            )
        elif column.kind == "number":
            cells.append(f"xlsx_number_cell({head}, {value})")
        elif column.kind == "date":
            cells.append(f"xlsx_number_cell({head}, date_diff('day', DATE '{_EXCEL_EPOCH}', {value}))")
        elif column.kind == "timestamp":
            # As Python does it: whole microseconds to seconds, then to days, in doubles.
            micros = f"CAST(epoch_us({value}) - epoch_us(TIMESTAMP '{_EXCEL_EPOCH_TIME}') AS DOUBLE)"
            cells.append(
                f"xlsx_number_cell({head}, {micros} / CAST(1000000 AS DOUBLE) / CAST(86400 AS DOUBLE))"
            )
        else:
            raise ValueError(f"unknown cell kind {column.kind!r}")
    return f"""concat('<row r="', {row_number}, '">', {", ".join(cells)}, '</row>')"""


# How rows_xml writes the Python value DuckDB gives for a column type.
_KIND_OF_TYPE = {"VARCHAR": "text", "DATE": "date", "TIMESTAMP": "timestamp", "BOOLEAN": "yes/no"}
_NUMBER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)


def cell_kind(duckdb_type: str) -> str:
    if duckdb_type in _KIND_OF_TYPE:
        return _KIND_OF_TYPE[duckdb_type]
    if duckdb_type.startswith(_NUMBER_TYPES):
        return "number"
    raise ValueError(f"no cell kind for DuckDB type {duckdb_type}")


QUERY_ROWS_CHUNK = 50_000


def query_rows(
    con,
    sql: str,
    params,
    order_by: str,
    first_row: int,
    styles: Sequence[int],
    skip: int = 0,
    limit: int | None = None,
) -> SheetRows:
    """The rows of a query written as sheet XML by DuckDB, from 1-based `first_row` on, in the
    order of `order_by` (a unique key); the same bytes as rows_xml on the fetched rows.

    `skip` and `limit` take a window of the ordered rows, for a table longer than a sheet."""
    install_sql_macros(con)
    described = con.execute(f"DESCRIBE ({sql})", params).fetchall()
    columns = [
        SqlColumn(f'"{name}"', cell_kind(column_type), style)
        for (name, column_type, *_), style in zip(described, styles, strict=False)
    ]
    row_number = "CAST(row_number AS VARCHAR)"
    window = f"ordinal > {int(skip)}" + ("" if limit is None else f" AND ordinal <= {int(skip) + int(limit)}")
    # The rows' XML goes to a temp table, which DuckDB may spill to disk, and comes back a chunk
    # at a time: aggregating every row at once ran out of a 4 GB memory limit at 10M cases.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE sheet_row_xml AS
        SELECT row_number, {row_xml_sql(columns, row_number)} AS xml
        FROM (
            SELECT *, ordinal - {int(skip)} + {first_row - 1} AS row_number
            FROM (SELECT *, row_number() OVER (ORDER BY {order_by}) AS ordinal FROM ({sql}))
            WHERE {window}
        )
        ORDER BY row_number""",
        params,
    )
    try:
        last_row = con.execute(
            "SELECT coalesce(max(row_number), ?) FROM sheet_row_xml", [first_row - 1]
        ).fetchone()[0]
        chunks = [
            con.execute(
                "SELECT encode(string_agg(xml, '' ORDER BY row_number)) FROM sheet_row_xml "
                "WHERE row_number >= ? AND row_number < ?",
                [start, start + QUERY_ROWS_CHUNK],
            ).fetchone()[0]
            for start in range(first_row, last_row + 1, QUERY_ROWS_CHUNK)
        ]
    finally:
        con.execute("DROP TABLE IF EXISTS sheet_row_xml")
    return SheetRows(b"".join(chunks), last_row, len(columns))
