import dataclasses
import datetime as dt
import signal
import threading
import time
from decimal import Decimal

import pytest

import assets.statements.statement_files
import assets.statements.workbook
from assets.reconcile.rules import CLAIM_RULES
from assets.statements.statement_files import (
    LINES_PER_WORKBOOK,
    SpooledFile,
    StatementFile,
    StatementTooLong,
    StoredContents,
    by_distributor,
    freeze_statements,
    frozen_journal,
    load_statements,
    render_statements,
    rendering_work,
    spool,
    stored_by_distributor,
    stored_contents,
    stored_files,
)
from assets.statements.workbook import ClaimLine, Statement, build_statement
from core.quarters import Quarter
from core.warehouse import prepare
from tests.assets.statements.test_workbook import line


def test_statements_rendered_in_worker_processes_are_byte_identical(monkeypatch):
    base = Statement(
        "D1",
        "D one",
        "USD",
        "2026-Q2",
        True,
        dt.date(2026, 6, 30),
        dt.date(2026, 6, 30),
        Decimal("0.30"),
        credited=[line("R-1", "CREDITED", "0.10"), line("R-2", "CREDITED", "0.20")],
        held=[line("R-3", "NO_PRICE", None)],
    )
    statements = [dataclasses.replace(base, distributor_id=f"D{i}") for i in range(4)]
    serial = render_statements(statements)
    monkeypatch.setattr(assets.statements.statement_files, "PARALLEL_FROM_LINES", 1)
    parallel = render_statements(statements)
    assert [f.file_name for f in parallel] == ["D0.xlsx", "D1.xlsx", "D2.xlsx", "D3.xlsx"]
    assert parallel == serial


AWKWARD = [
    "a\rb",
    "x\x01y",
    "_x0041_",
    " lead",
    "trail\t",
    "a&b<c>d",
    "=1+2",
    "@SUM(A1)",
    "nb\xa0",
    "Ünï",
    "é" * 32_770,
    "",
]


@pytest.fixture
def quarter_with_awkward_lines(con):
    prepare(con)
    con.execute(
        "CREATE TABLE stg_distributors "
        "(distributor_id VARCHAR, name VARCHAR, address VARCHAR, currency VARCHAR)"
    )
    con.execute(
        "INSERT INTO stg_distributors VALUES "
        "('D1', '=HYPERLINK(\"x\")', '=1+1 Main St', 'USD'), ('D2', NULL, NULL, 'USD')"
    )
    con.execute(  # what the held claims would cost: the value of held claims on the Summary
        "CREATE TABLE stg_price_list AS SELECT 'SKU' AS sku, 'USD' AS currency, 7.50 AS unit_credit, "
        "DATE '2025-01-01' AS valid_from, NULL::DATE AS valid_to, 'p.csv' AS source_file, 2 AS source_line"
    )
    reasons = list(CLAIM_RULES)
    rows = []
    for index, text in enumerate(AWKWARD * 3):
        rule = reasons[index % len(reasons)]
        credited = rule.outcome == "credited"
        amount = Decimal(index * 37 % 1000) / 100 if credited else None
        rows.append(
            (
                "2026-Q2",
                f"D{index % 2 + 1}",
                f"R-{text}"[:40],
                f"inbound/fulfillment_reports/D/{text[:20]}.csv",
                index + 2,
                dt.date(2026, 4, 1) + dt.timedelta(days=index),
                rule.outcome,
                rule.reason,
                amount,
                "USD",
                "2026-Q2" if credited else None,
                (index % 3 == 0) if credited else None,
                Decimal("12.34") if index % 4 else None,
                amount and Decimal("12.34") - amount,
                rule.number,
                text or None,
                f"SN {text}",
                None if index % 5 == 0 else "SKU&1",
                "SKU",
            )
        )
    con.executemany(f"INSERT INTO claim_outcomes VALUES ({', '.join(['?'] * 19)})", rows)
    con.execute(
        """INSERT INTO distributor_credits (quarter, distributor_id, currency, credited_count, credit_total,
            held_count, rejected_count)
        SELECT quarter, distributor_id, 'USD', count(*) FILTER (WHERE outcome = 'credited'),
            coalesce(sum(credit_amount), 0), count(*) FILTER (WHERE outcome = 'held'),
            count(*) FILTER (WHERE outcome = 'rejected')
        FROM claim_outcomes GROUP BY ALL"""
    )
    return con


def statements_from_python_lines(con, from_sql: list[Statement]) -> list[Statement]:
    """The same statements with their lines as build_statement writes them from ClaimLine objects,
    one value at a time (the Summary's figures as the SQL statements have them)."""
    statements = []
    for statement in from_sql:
        lines = {}
        for outcome in ("credited", "held", "rejected"):
            lines[outcome] = [
                ClaimLine(*row)
                for row in con.execute(
                    """SELECT rma_number, fulfilled_on, reason, defective_serial, replacement_serial,
                    replacement_sku, claimed_amount, credit_amount, amount_variance, due_quarter, late,
                    source_file, source_line
                FROM claim_outcomes WHERE distributor_id = ? AND outcome = ?
                ORDER BY source_file, source_line""",
                    [statement.distributor_id, outcome],
                ).fetchall()
            ]
        statements.append(dataclasses.replace(statement, line_rows={}, **lines))
    return statements


QUARTER = Quarter(2026, 2)
AS_OF = dt.date(2026, 6, 30)


@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize("batch_lines", [1, 10_000])
def test_lines_written_by_duckdb_give_the_bytes_python_gives(
    quarter_with_awkward_lines, monkeypatch, final, batch_lines
):
    monkeypatch.setattr(assets.statements.statement_files, "BATCH_LINES", batch_lines)
    con = quarter_with_awkward_lines
    from_sql = list(load_statements(con, QUARTER, AS_OF, final))
    assert [s.distributor_id for s in from_sql] == ["D1", "D2"] and all(s.line_rows for s in from_sql)
    assert [build_statement(s) for s in from_sql] == [
        build_statement(s) for s in statements_from_python_lines(con, from_sql)
    ]
    assert from_sql[0].distributor_address == "=1+1 Main St" and from_sql[0].accrued_liability > 0
    assert rendering_work(con, QUARTER) == len(AWKWARD) * 3 + 2 * LINES_PER_WORKBOOK


def test_rows_written_with_other_formats_are_refused(quarter_with_awkward_lines, monkeypatch):
    draft = next(load_statements(quarter_with_awkward_lines, QUARTER, AS_OF, final=False))
    real_styles = assets.statements.workbook.line_styles(False)
    monkeypatch.setattr(
        assets.statements.workbook, "line_styles", lambda final: {**real_styles, "Held": [0] * 9}
    )
    with pytest.raises(RuntimeError, match="Held rows were written with other cell formats"):
        build_statement(draft)


def test_a_statement_sheet_longer_than_excel_allows_is_refused_by_name(example_q2, monkeypatch):
    quarter = Quarter(2026, 2)
    most = example_q2.execute(
        "SELECT max(greatest(credited_count, held_count, rejected_count)) FROM distributor_credits "
        "WHERE quarter = ?",
        [str(quarter)],
    ).fetchone()[0]
    monkeypatch.setattr(
        assets.statements.statement_files, "SHEET_ROWS", most + 1
    )  # the longest sheet just fits
    assert len(list(load_statements(example_q2, quarter, dt.date(2026, 6, 30), final=True))) > 0
    monkeypatch.setattr(assets.statements.statement_files, "SHEET_ROWS", most)
    with pytest.raises(
        StatementTooLong,
        match=rf"'s 2026-Q2 statement would have {most} lines on its \w+ sheet; "
        rf"an Excel sheet holds {most - 1} under its header row",
    ):
        list(load_statements(example_q2, quarter, dt.date(2026, 6, 30), final=True))


@pytest.mark.parametrize(
    ("final", "as_of", "dated"),
    [(False, dt.date(2026, 5, 31), dt.date(2026, 5, 31)), (True, dt.date(2026, 6, 30), dt.date(2026, 6, 30))],
)
def test_a_draft_is_dated_its_as_of_day_and_a_final_statement_the_quarters_last(
    example_q2, final, as_of, dated
):
    statements = list(load_statements(example_q2, Quarter(2026, 2), as_of, final))
    assert {statement.statement_date for statement in statements} == {dated}
    assert {statement.as_of for statement in statements} == {as_of}
    assert {statement.final for statement in statements} == {final}


def test_spooled_files_are_stored_and_read_back_as_made(example_q2, tmp_path):
    made = [
        StatementFile("NORTHSTAR.xlsx", "NORTHSTAR", b"statement bytes"),
        StatementFile("NORTHSTAR.csv", "NORTHSTAR", b"remittance,lines\n"),
    ]
    spooled = list(spool(iter(made), tmp_path))
    assert [f.content for f in spooled] == [f.content for f in made]  # on disk, not in memory
    stored = freeze_statements(example_q2, Quarter(2026, 2), spooled, b"journal", {}, "finance")
    assert [(f.file_name, f.sha256) for f in stored] == [(f.file_name, f.sha256) for f in made]
    read_back = StoredContents(example_q2, "2026-Q2", len(stored))
    assert len(read_back) == 2
    assert [(f.file_name, f.content) for f in read_back] == [(f.file_name, f.content) for f in made]
    assert stored_files(example_q2, Quarter(2026, 2)) == sorted(stored, key=lambda f: f.file_name)


def _made(order: list[tuple[str, str]]) -> list[StatementFile]:
    return [StatementFile(f"{d}.{kind}", d, f"{d} {kind} bytes".encode()) for d, kind in order]


@pytest.mark.parametrize(
    "order",
    [
        # as a close stores them: every statement, then every remittance file
        [("A", "xlsx"), ("B", "xlsx"), ("C", "xlsx"), ("A", "csv"), ("B", "csv"), ("C", "csv")],
        # any other order is read too (a file before its turn waits in memory)
        [("C", "csv"), ("B", "xlsx"), ("A", "csv"), ("C", "xlsx"), ("A", "xlsx"), ("B", "csv")],
    ],
)
def test_stored_files_are_read_a_distributor_at_a_time_in_distributor_order(
    example_q2, tmp_path, monkeypatch, order
):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 20)  # in parts, as a big close
    made = _made(order)
    freeze_statements(example_q2, Quarter(2026, 2), made, b"journal", {}, "finance")
    read = []
    for distributor_id, files in stored_by_distributor(example_q2, Quarter(2026, 2)):
        example_q2.execute("SELECT 1").fetchall()  # the caller's connection stays free meanwhile
        read.append((distributor_id, {kind: f.content for kind, f in files.items()}))
    assert read == [
        (d, {"xlsx": f"{d} xlsx bytes".encode(), "csv": f"{d} csv bytes".encode()}) for d in "ABC"
    ]


def test_a_distributor_without_a_remittance_file_gets_its_statement_alone(example_q2):
    made = _made([("A", "xlsx"), ("B", "xlsx"), ("B", "csv")])
    freeze_statements(example_q2, Quarter(2026, 2), made, b"journal", {}, "finance")
    assert [(d, sorted(files)) for d, files in stored_by_distributor(example_q2, Quarter(2026, 2))] == [
        ("A", ["xlsx"]),
        ("B", ["csv", "xlsx"]),
    ]
    assert [(d, sorted(files)) for d, files in by_distributor(reversed(made))] == [
        ("A", ["xlsx"]),
        ("B", ["csv", "xlsx"]),
    ]


def test_a_close_that_fails_midway_leaves_no_parts_and_the_earlier_close_as_it_was(
    example_q2, tmp_path, monkeypatch
):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 20)
    quarter = Quarter(2026, 2)
    freeze_statements(example_q2, quarter, _made([("A", "xlsx"), ("A", "csv")]), b"journal", {}, "finance")
    before = [(f.file_name, f.content) for f in stored_contents(example_q2, quarter)]
    spooled = list(spool(iter(_made([("A", "xlsx"), ("B", "xlsx"), ("A", "csv"), ("B", "csv")])), tmp_path))
    spooled[2].path.unlink()  # lost from the disk after the first part was stored
    with pytest.raises(FileNotFoundError):
        freeze_statements(example_q2, quarter, spooled, b"another journal", {}, "finance")
    waiting = example_q2.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'closing%'")
    assert waiting.fetchone() == (0,)
    assert [(f.file_name, f.content) for f in stored_contents(example_q2, quarter)] == before
    assert frozen_journal(example_q2, quarter) == b"journal"


def _waiting_parts(con) -> int:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'closing%'").fetchone()[0]


def test_the_next_file_is_made_while_one_is_stored(example_q2):
    next_asked = threading.Event()

    @dataclasses.dataclass(frozen=True)
    class SlowToRead:  # its bytes come only once the next file is being made
        file_name: str
        distributor_id: str

        @property
        def content(self) -> bytes:
            if not next_asked.wait(timeout=10):
                raise AssertionError("the next file was not made while this one was stored")
            return b"first bytes"

    def made():
        yield SlowToRead("A.xlsx", "A")
        next_asked.set()
        yield StatementFile("B.xlsx", "B", b"second bytes")

    stored = freeze_statements(example_q2, Quarter(2026, 2), made(), b"journal", {}, "finance")
    assert [f.file_name for f in stored] == ["A.xlsx", "B.xlsx"]
    assert [f.content for f in stored_contents(example_q2, Quarter(2026, 2))] == [
        b"first bytes",
        b"second bytes",
    ]


def _wait_for_a_part(con) -> int:
    """The waiting parts another connection sees, once there is one (the store runs in a thread)."""
    with con.cursor() as other:
        for _ in range(500):
            if parts := _waiting_parts(other):
                return parts
            time.sleep(0.01)
    return 0


def test_a_file_that_cannot_be_stored_stops_the_making_and_leaves_no_parts(example_q2, tmp_path, monkeypatch):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 1)  # a part per file
    made_count, parts_seen = 0, []

    def made():
        nonlocal made_count
        for index in range(1000):
            made_count += 1
            path = tmp_path / f"{index:06d}"
            if index != 1:
                path.write_bytes(b"bytes")
            yield SpooledFile(f"D{index:03d}.xlsx", f"D{index:03d}", path)  # the second is not on disk
            if index == 0:
                parts_seen.append(_wait_for_a_part(example_q2))
            time.sleep(0.001)

    with pytest.raises(FileNotFoundError):
        freeze_statements(example_q2, Quarter(2026, 2), made(), b"journal", {}, "finance")
    assert parts_seen == [1]  # the first file was stored as a part of its own
    assert made_count < 1000  # the making stopped once the store had failed
    assert _waiting_parts(example_q2) == 0
    assert stored_files(example_q2, Quarter(2026, 2)) == []


def test_a_failure_while_making_drops_the_parts_already_stored(example_q2, tmp_path, monkeypatch):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 1)
    parts_seen = []

    def made():
        yield from _made([("A", "xlsx"), ("B", "xlsx")])
        parts_seen.append(_wait_for_a_part(example_q2))
        raise StatementTooLong("too many lines")

    with pytest.raises(StatementTooLong):
        freeze_statements(example_q2, Quarter(2026, 2), spool(made(), tmp_path), b"journal", {}, "finance")
    assert parts_seen[0] >= 1
    assert _waiting_parts(example_q2) == 0
    assert stored_files(example_q2, Quarter(2026, 2)) == []
    assert example_q2.execute("SELECT count(*) FROM closed_journals").fetchone() == (0,)


def test_an_interrupt_while_files_are_stored_waits_for_the_store_and_drops_its_parts(example_q2, monkeypatch):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 1)

    @dataclasses.dataclass(frozen=True)
    class SlowToRead:
        file_name: str
        distributor_id: str

        @property
        def content(self) -> bytes:
            time.sleep(0.3)
            return b"bytes"

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.4)  # Ctrl-C while the store is on its second file
    try:
        with pytest.raises(KeyboardInterrupt):
            freeze_statements(
                example_q2,
                Quarter(2026, 2),
                [SlowToRead(f"D{n}.xlsx", f"D{n}") for n in range(10)],
                b"journal",
                {},
                "finance",
            )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not [t for t in threading.enumerate() if t.name == "rma-close-store"]  # waited for
    assert _waiting_parts(example_q2) == 0
    assert stored_files(example_q2, Quarter(2026, 2)) == []
