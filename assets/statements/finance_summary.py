"""The finance summary workbook of a quarter: one place for the close meeting.

Sheets: Distributors (credits, holds, accrued liability, late credits), Charts (a native Excel
chart per currency, each on its own printed page), Reasons (holds and rejections), Late credits,
SLA. Built from the warehouse tables only. Every sheet prints landscape, one page wide.
"""

from __future__ import annotations

import datetime as dt
import io

import duckdb
import xlsxwriter

from assets.reconcile.rules import ACCRUED_LIABILITY_SQL
from assets.statements.sheet_rows import SHEET_ROWS, SheetRows, query_rows, splice_rows, style_index
from assets.statements.workbook import WORKBOOK_OPTIONS, write_cell
from core.quarters import Quarter

DISTRIBUTOR_SQL = f"""
WITH held_value AS ({ACCRUED_LIABILITY_SQL}), late AS (
    SELECT distributor_id, count(*) AS late_count, sum(credit_amount) AS late_total
    FROM claim_outcomes WHERE quarter = $quarter AND late GROUP BY distributor_id
)
SELECT c.distributor_id, d.name, c.currency, c.credited_count, c.credit_total, c.held_count,
    coalesce(h.accrued_liability, 0) AS accrued_liability,
    c.rejected_count, coalesce(l.late_count, 0) AS late_count, coalesce(l.late_total, 0) AS late_total
FROM distributor_credits c
LEFT JOIN stg_distributors d USING (distributor_id)
LEFT JOIN late l USING (distributor_id)
LEFT JOIN held_value h USING (distributor_id)
WHERE c.quarter = $quarter
ORDER BY c.currency, c.distributor_id
"""
FIRST_DATA_ROW = 4  # under the title, a blank row and the header row
# The other tables: (query, the order of its rows, which is a unique key).
REASON_SQL = (
    # Money per currency: a sum across currencies means nothing.
    """SELECT outcome, reason, currency, count(*) AS claims, sum(claimed_amount) AS claimed
    FROM claim_outcomes WHERE quarter = $quarter AND outcome <> 'credited'
    GROUP BY outcome, reason, currency""",
    "outcome, reason, currency",
)
LATE_SQL = (
    """SELECT distributor_id, rma_number, fulfilled_on, due_quarter, credit_amount, currency,
        source_file, source_line
    FROM claim_outcomes WHERE quarter = $quarter AND late""",
    "distributor_id, source_file, source_line",
)
SLA_SQL = (
    """SELECT rma_number, status, clock_start, due_on, resolved_on, days_late, incoterm, ship_to_country
    FROM sla_status WHERE quarter = $quarter""",
    "status, days_late DESC, rma_number",
)
CHART_PAGE_ROWS = 32  # a chart 560 pixels high and a margin, in 20-pixel rows
WIDEST_COLUMN = 60  # characters; longer text wraps on screen and in print


def column_widths(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict, headers: list[str], money_columns: set[str]
) -> list[int]:
    """Each column as wide as its longest value (money with its thousands separators) or the
    longest word of its header, whichever is wider."""
    longest = con.execute(
        "SELECT "
        + ", ".join(f'max(length(CAST("{header}" AS VARCHAR)))' for header in headers)
        + f" FROM ({sql})",
        params,
    ).fetchone()
    widths = []
    for header, length in zip(headers, longest, strict=True):
        length = length or 0
        if header in money_columns:
            length += length // 3  # "," every three digits
        words = max(len(word) for word in header.split("_"))
        widths.append(min(max(length, words, 8) + 3, WIDEST_COLUMN))
    return widths


def print_setup(sheet, title: str) -> None:
    """Landscape, one page wide, the header row on every page, and each page naming its sheet."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.set_header(f"&L{title.replace('&', '&&')}&R&A")
    sheet.set_footer("&CPage &P of &N")


def build_finance_summary(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, final: bool, as_of: dt.date
) -> bytes:
    params = {"quarter": str(quarter)}
    stage = "FINAL" if final else "DRAFT"
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    workbook.set_properties(
        {"title": f"Finance summary {quarter}", "created": dt.datetime.combine(as_of, dt.time(0))}
    )
    heading = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    formats = {
        "money": workbook.add_format({"num_format": "#,##0.00"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "timestamp": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }

    def cell_format(header: str, column_type: str, money_columns: set[str]):
        if header in money_columns:
            return formats["money"]
        return {"TIMESTAMP": formats["timestamp"], "DATE": formats["date"]}.get(column_type)

    spliced: dict[int, SheetRows] = {}

    def table(
        name: str, sql: str, money_columns: set[str], note: str, order_by: str | None = None
    ) -> tuple[object, int]:
        """A titled sheet with a header row. The charted sheet (no `order_by`: its query orders
        itself) is written through XlsxWriter, which caches the values in the chart; the other
        sheets' rows are written as XML by DuckDB and spliced in after closing. A table longer
        than a sheet goes on in sheets `<name> (2)`, `<name> (3)`, ..."""
        described = con.execute(f"DESCRIBE ({sql})", params).fetchall()
        headers = [column[0] for column in described]
        column_formats = [
            cell_format(header, column[1], money_columns)
            for header, column in zip(headers, described, strict=True)
        ]
        widths = column_widths(con, sql, params, headers, money_columns)

        def titled_sheet(sheet_name: str, part: str, count: int):
            sheet = workbook.add_worksheet(sheet_name)
            sheet_title = f"{note}: {quarter} ({stage}, as of {as_of}){part}"
            sheet.write_string(0, 0, sheet_title, title)
            for column, text in enumerate(headers):
                sheet.write_string(2, column, text.replace("_", " "), heading)
                sheet.set_column(column, column, widths[column], column_formats[column])
            sheet.freeze_panes(3, 0)
            sheet.autofilter(2, 0, max(count, 1) + 2, len(headers) - 1)
            sheet.repeat_rows(2)
            print_setup(sheet, sheet_title)
            return sheet

        if order_by is None:
            rows = con.execute(sql, params).fetchall()
            sheet = titled_sheet(name, "", len(rows))
            for row_index, row in enumerate(rows, start=3):
                for column, value in enumerate(row):
                    write_cell(sheet, row_index, column, value, column_formats[column])
            return sheet, len(rows)
        styles = [style_index(column_format) for column_format in column_formats]
        total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
        per_sheet = SHEET_ROWS - FIRST_DATA_ROW + 1
        parts = max(1, -(-total // per_sheet))
        for index in range(parts):
            count = min(per_sheet, total - index * per_sheet)
            part = f", part {index + 1} of {parts}" if parts > 1 else ""
            sheet = titled_sheet(name if index == 0 else f"{name} ({index + 1})", part, count)
            spliced[len(workbook.worksheets())] = query_rows(
                con, sql, params, order_by, FIRST_DATA_ROW, styles, skip=index * per_sheet, limit=per_sheet
            )
        return sheet, total

    _, count = table(
        "Distributors",
        DISTRIBUTOR_SQL,
        {"credit_total", "accrued_liability", "late_total"},
        "Credits by distributor",
    )
    if count:
        charts = workbook.add_worksheet("Charts")
        print_setup(
            charts, f"Credits and accrued liability by distributor: {quarter} ({stage}, as of {as_of})"
        )
        rows = con.execute(DISTRIBUTOR_SQL, params).fetchall()
        currencies = sorted({row[2] for row in rows}, key=lambda currency: currency or "")
        for index, currency in enumerate(currencies):
            # Distributors are ordered by currency: each currency's rows are one block of cells.
            first = 3 + next(i for i, row in enumerate(rows) if row[2] == currency)
            last = 3 + max(i for i, row in enumerate(rows) if row[2] == currency)
            chart = workbook.add_chart({"type": "column"})
            for name, column in (("Credit total", 4), ("Accrued liability (held)", 6)):
                chart.add_series(
                    {
                        "name": name,
                        "categories": ["Distributors", first, 0, last, 0],
                        "values": ["Distributors", first, column, last, column],
                    }
                )
            chart.set_title({"name": f"Credits and accrued liability by distributor, {quarter}, {currency}"})
            chart.set_y_axis({"num_format": "#,##0", "name": currency})
            chart.set_legend({"position": "bottom"})
            chart.set_size({"width": 1000, "height": 560})
            top = index * CHART_PAGE_ROWS
            charts.insert_chart(top, 0, chart)
        # One chart per printed page.
        charts.set_h_pagebreaks([index * CHART_PAGE_ROWS for index in range(1, len(currencies))])
        charts.print_area(0, 0, len(currencies) * CHART_PAGE_ROWS - 1, 15)
    table("Reasons", REASON_SQL[0], {"claimed"}, "Holds and rejections by reason", REASON_SQL[1])
    table(
        "Late credits", LATE_SQL[0], {"credit_amount"}, "Credits that missed their due quarter", LATE_SQL[1]
    )
    table("SLA", SLA_SQL[0], set(), "Direct repair/replace SLA", SLA_SQL[1])
    workbook.close()
    return splice_rows(buffer.getvalue(), spliced)
