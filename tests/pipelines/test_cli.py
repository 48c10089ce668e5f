"""The CLI: user errors are one line and a non-zero exit; close, re-run and refusal."""

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import assets.statements.statement_files
from pipelines.cli import main
from tests.conftest import EXAMPLE_ARGS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "2026-Q9"], "unknown quarter '2026-Q9'"),
        (["run", "1999-Q4"], "unknown quarter 1999-Q4"),
        (["release", "1999-Q4", "--by", "x"], "unknown quarter 1999-Q4"),
        (["run", "2026-Q2", "--as-of", "2026-07-01"], "outside 2026-Q2"),
        (["run", "2026-Q2", "--data-dir", "no/such/dir"], "data directory 'no/such/dir' does not exist"),
        (
            ["run", "2026-Q2", "--data-dir", "pyproject.toml"],
            "data directory 'pyproject.toml' is a file, not a folder",
        ),
    ],
)
def test_user_errors(args, message, capsys, tmp_path):
    assert main([*args, "--warehouse", str(tmp_path / "wh.duckdb")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_no_traceback_from_the_console_script(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "2026-Q2", "--data-dir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("rma-recon: error:")


COMMON = EXAMPLE_ARGS


@pytest.mark.slow
def test_close_refuses_earlier_open_quarter_and_freezes_late_data(closed_example_cwd, capsys):
    # Running or closing an open quarter before the latest closed one is refused.
    for args in (["run", "2026-Q1"], ["run", "2026-Q1", "--close"]):
        assert main([*args, *COMMON]) == 2
        assert "2026-Q2 is already closed" in capsys.readouterr().err
    before = {p.name: p.read_bytes() for p in (closed_example_cwd / "out/2026-Q2").glob("*.xlsx")}
    # Late data for Q2 arrives after the close: Q2 does not change, Q3 picks it up.
    late = closed_example_cwd / "data/inbound/fulfillment_reports/NORTHSTAR/2026-06-late.csv"
    late.write_text(
        "rma_number,fulfilled_on,defective_serial,replacement_serial\nR26-0112,2026-06-20,SN-A0112,SN-X\n"
    )
    assert main(["run", "2026-Q2", *COMMON]) == 0
    assert main(["run", "2026-Q2", "--close", *COMMON]) == 0
    after = {p.name: p.read_bytes() for p in (closed_example_cwd / "out/2026-Q2").glob("*.xlsx")}
    assert after == before
    assert main(["run", "2026-Q3", *COMMON]) == 0
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        rows = con.execute(
            "SELECT quarter, reason FROM claim_outcomes WHERE source_file LIKE '%late.csv' ORDER BY quarter"
        ).fetchall()
    assert rows == [("2026-Q3", "WRONG_DISTRIBUTOR")]


@pytest.mark.slow
def test_draft_rerun_replaces_only_its_quarter(closed_example_cwd):
    assert main(["run", "2026-Q3", *COMMON]) == 0
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        q2 = con.execute("SELECT * FROM claim_outcomes WHERE quarter = '2026-Q2' ORDER BY ALL").fetchall()
    assert main(["run", "2026-Q3", "--as-of", "2026-07-15", *COMMON]) == 0
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        assert (
            con.execute("SELECT * FROM claim_outcomes WHERE quarter = '2026-Q2' ORDER BY ALL").fetchall()
            == q2
        )
        assert (
            con.execute("SELECT state, as_of FROM quarter_runs WHERE quarter = '2026-Q3'").fetchone()[0]
            == "draft"
        )
        assert con.execute(
            "SELECT count(*) FROM claim_outcomes WHERE quarter = '2026-Q3' AND fulfilled_on > '2026-07-15'"
        ).fetchone() == (0,)


def _status(capsys) -> dict[str, list[str]]:
    """`rma-recon status`, its lines by quarter: the quarter's row and the line under it."""
    assert main(["status", "--warehouse", "wh.duckdb"]) == 0
    by_quarter: dict[str, list[str]] = {}
    for line in capsys.readouterr().out.splitlines()[1:]:
        if line.startswith("20"):
            by_quarter[line.split()[0]] = [line]
        else:
            by_quarter[list(by_quarter)[-1]].append(line.strip())
    return by_quarter


@pytest.mark.slow
def test_status_shows_who_closed_and_released_and_a_stale_draft(example_cwd, capsys):
    assert main(["run", "2026-Q3", "--as-of", "2026-08-31", *COMMON]) == 0
    assert main(["run", "2026-Q2", "--close", "--by", "alice", *COMMON]) == 0
    capsys.readouterr()
    status = _status(capsys)
    assert status["2026-Q2"][0].split()[:3] == ["2026-Q2", "closed", "2026-06-30"]
    assert "USD 169.99" in status["2026-Q2"][0]
    assert (
        status["2026-Q2"][1].startswith("closed by alice at ") and "not released yet" in status["2026-Q2"][1]
    )
    assert status["2026-Q3"][1] == "STALE: 2026-Q2 was closed after this draft ran; run 2026-Q3 again"

    assert main(["release", "2026-Q2", "--by", "bob", *COMMON]) == 0
    assert main(["run", "2026-Q3", "--as-of", "2026-08-31", *COMMON]) == 0
    capsys.readouterr()
    status = _status(capsys)
    assert "released by bob at " in status["2026-Q2"][1]
    assert status["2026-Q3"] == [status["2026-Q3"][0]]  # fresh again: nothing under it
    assert status["2026-Q3"][0].split()[:3] == ["2026-Q3", "draft", "2026-08-31"]
    assert "USD 289.99" in status["2026-Q3"][0]


def test_status_without_a_warehouse(tmp_path, capsys):
    assert main(["status", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "run a quarter first" in capsys.readouterr().err


@pytest.mark.slow
def test_a_statement_too_long_for_excel_fails_the_close_in_one_line(example_cwd, capsys, monkeypatch):
    monkeypatch.setattr(assets.statements.statement_files, "SHEET_ROWS", 2)  # a header and one line
    assert main(["run", "2026-Q2", "--close", *COMMON]) == 1
    [error] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rma-recon: error:")]
    assert "2026-Q2 statement would have" in error and error.endswith(
        "an Excel sheet holds 1 under its header row"
    )
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        assert con.execute("SELECT state FROM quarter_runs WHERE quarter = '2026-Q2'").fetchone() == (
            "draft",
        )


@pytest.mark.slow
def test_a_line_inserted_into_a_closed_quarters_report_stops_the_run(closed_example_cwd, capsys):
    report = closed_example_cwd / "data/inbound/fulfillment_reports/NORTHSTAR/2026-04.csv"
    header, *lines = report.read_text().splitlines(keepends=True)
    report.write_text(header + "R26-0099,2026-05-15,SN-NEW00001,SN-RNEW1,ROUTER-X1,120.00\n" + "".join(lines))
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        before = con.execute("SELECT * FROM claim_outcomes ORDER BY ALL").fetchall()
    capsys.readouterr()
    assert main(["run", "2026-Q3", "--close", *COMMON]) == 1
    [error] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rma-recon: error:")]
    assert (
        "cannot reconcile 2026-Q3: inbound/fulfillment_reports/NORTHSTAR/2026-04.csv line 2 held a claim"
        in error
    )
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        assert con.execute("SELECT * FROM claim_outcomes ORDER BY ALL").fetchall() == before
        assert con.execute("SELECT count(*) FROM quarter_runs WHERE quarter = '2026-Q3'").fetchone() == (0,)
    # Put back as submitted, and the correction sent as a new file: the run goes on.
    report.write_text(header + "".join(lines))
    (report.parent / "2026-04-correction.csv").write_text(
        header + "R26-0099,2026-05-15,SN-NEW00001,SN-RNEW1,,\n"
    )
    assert main(["run", "2026-Q3", *COMMON]) == 0


@pytest.mark.slow
def test_a_rerun_leaves_the_users_own_files_in_a_statements_folder(closed_example_cwd):
    for quarter in ("2026-Q2", "2026-Q3"):
        folder = closed_example_cwd / "out" / quarter
        (folder / "sent").mkdir(parents=True, exist_ok=True)
        (folder / "approval_signed.pdf").write_bytes(b"%PDF signed by the controller")
        (folder / "sent/NORTHSTAR.eml").write_text("sent on Monday")
    assert main(["run", "2026-Q2", *COMMON]) == 0  # a closed quarter re-emitted
    assert main(["run", "2026-Q3", *COMMON]) == 0
    assert main(["run", "2026-Q3", "--as-of", "2026-07-15", *COMMON]) == 0  # a draft re-run
    ours = {"2026-Q2": ["EUROPA-1.csv", "EUROPA-1.xlsx", "NORTHSTAR.csv", "NORTHSTAR.xlsx"]}  # closed
    ours["2026-Q3"] = ["EUROPA-1.xlsx", "NORTHSTAR.xlsx"]  # a draft has no remittance files
    for quarter in ("2026-Q2", "2026-Q3"):
        folder = closed_example_cwd / "out" / quarter
        assert sorted(p.name for p in folder.iterdir()) == [*ours[quarter], "approval_signed.pdf", "sent"]
        assert (folder / "sent/NORTHSTAR.eml").read_text() == "sent on Monday"


@pytest.mark.slow
def test_closing_a_later_quarter_supersedes_an_earlier_draft(example_cwd, capsys):
    assert main(["run", "2026-Q2", *COMMON]) == 0
    (example_cwd / "out/2026-Q2/approval_signed.pdf").write_bytes(b"%PDF")
    assert main(["run", "2026-Q3", "--close", *COMMON]) == 0
    assert sorted(p.name for p in (example_cwd / "out/2026-Q2").iterdir()) == ["approval_signed.pdf"]
    assert not (example_cwd / "out/finance/2026-Q2-summary.xlsx").exists()
    capsys.readouterr()
    assert main(["status", "--warehouse", "wh.duckdb", "--statements-dir", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[1].split()[:2] == ["2026-Q2", "superseded"] and "superseded by the close of 2026-Q3" in lines[1]
    )
    assert lines[2].split()[:2] == ["2026-Q3", "closed"] and lines[3].lstrip().startswith("closed by ")
    assert len(lines) == 4  # no line about files on disk
    assert main(["run", "2026-Q2", *COMMON]) == 2  # earlier than the latest closed quarter


def test_a_warehouse_that_is_not_a_duckdb_file_is_refused_before_anything_is_written(example_cwd, capsys):
    csv = example_cwd / "data/reference/distributors.csv"
    before = sorted(p.relative_to(example_cwd) for p in example_cwd.rglob("*"))
    assert (
        main(
            [
                "run",
                "2026-Q2",
                "--close",
                "--data-dir",
                "data",
                "--warehouse",
                str(csv),
                "--statements-dir",
                "out",
            ]
        )
        == 2
    )
    [error] = capsys.readouterr().err.strip().splitlines()
    assert error == (
        f"rma-recon: error: the warehouse {str(csv)!r} exists and is not a DuckDB database; "
        "name a new file or the right one"
    )
    assert sorted(p.relative_to(example_cwd) for p in example_cwd.rglob("*")) == before  # no lock, no outbox
    assert main(["status", "--warehouse", str(csv)]) == 2


def test_an_empty_file_left_by_a_failed_creation_is_taken_for_a_new_warehouse(tmp_path):
    from core.warehouse import clear_empty_warehouse, warehouse_problem

    empty = tmp_path / "wh.duckdb"
    empty.touch()
    assert warehouse_problem(empty) is None
    clear_empty_warehouse(empty)
    assert not empty.exists()


@pytest.mark.slow
def test_credit_memo_numbers_are_gap_free_and_never_change(closed_example_cwd):
    final = closed_example_cwd / "out/2026-Q2"
    before = {p.name: p.read_bytes() for p in final.iterdir()}
    journal = (closed_example_cwd / "out/finance/2026-Q2-journal.csv").read_bytes()
    assert main(["run", "2026-Q3", "--close", *COMMON]) == 0
    assert main(["run", "2026-Q2", *COMMON]) == 0  # a closed quarter re-emitted
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        memos = con.execute(
            "SELECT quarter, distributor_id, credit_memo FROM distributor_credits ORDER BY 1, 2"
        ).fetchall()
        assert con.execute("SELECT credit_memo, amount FROM credit_memos ORDER BY 1").fetchall() == [
            ("CM-000001", Decimal("169.99")),
            ("CM-000002", Decimal("289.99")),
        ]
    assert memos == [
        ("2026-Q2", "EUROPA-1", None),  # no credit, no memo
        ("2026-Q2", "NORTHSTAR", "CM-000001"),
        ("2026-Q3", "EUROPA-1", None),
        ("2026-Q3", "NORTHSTAR", "CM-000002"),
    ]
    assert {p.name: p.read_bytes() for p in final.iterdir()} == before  # statements and remittance files
    assert (closed_example_cwd / "out/finance/2026-Q2-journal.csv").read_bytes() == journal
    remittance = (closed_example_cwd / "out/2026-Q3/NORTHSTAR.csv").read_text().splitlines()
    assert remittance[0].split(",")[-1] == "credit_memo" and remittance[1].endswith(",CM-000002")


@pytest.mark.slow
def test_a_close_without_a_vendor_is_refused_in_one_line(example_cwd, capsys):
    (example_cwd / "data/reference/vendor.csv").unlink()
    assert main(["run", "2026-Q2", *COMMON]) == 0  # drafts run without it
    assert main(["run", "2026-Q2", "--close", *COMMON]) == 1
    [error] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rma-recon: error:")]
    assert error.startswith(
        "rma-recon: error: cannot close 2026-Q2: reference/vendor.csv is missing: add it with"
    )
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        assert con.execute("SELECT state FROM quarter_runs").fetchall() == [("draft",)]
        assert con.execute("SELECT count(*) FROM closed_journals").fetchone() == (0,)


@pytest.mark.slow
def test_a_ledger_file_without_every_role_refuses_the_close(example_cwd, capsys):
    (example_cwd / "data/reference/gl_accounts.csv").write_text("role,account\nwarranty_expense,6100\n")
    assert main(["run", "2026-Q2", "--close", *COMMON]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "reference/gl_accounts.csv has no account for credits_payable, accrued_liability" in error


@pytest.mark.slow
def test_a_closed_quarter_re_emits_its_stored_bytes_even_when_the_renderers_change(
    closed_example_cwd, monkeypatch
):
    """Rulebook §5: a re-run of a closed quarter writes the stored bytes back; it never renders again
    (a library upgrade or a fix to the layout must not change a statement a distributor has)."""
    import assets.statements.defs
    import assets.statements.statement_files

    out = closed_example_cwd / "out"
    before = {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    stored = [name for name in before if name.parts[0] == "2026-Q2" or name.name == "2026-Q2-journal.csv"]
    assert len(stored) == 5  # two statements, two remittance files, the journal
    monkeypatch.setattr(
        assets.statements.statement_files, "build_statement", lambda statement: b"re-rendered"
    )
    monkeypatch.setattr(assets.statements.defs, "remittance_files", lambda *args: [])
    monkeypatch.setattr(assets.statements.defs, "build_journal", lambda *args: b"re-rendered")
    for path in stored:
        (out / path).unlink()  # so the run must write them
    assert main(["run", "2026-Q2", *COMMON]) == 0
    assert {name: (out / name).read_bytes() for name in stored} == {name: before[name] for name in stored}


def test_the_summary_gives_each_distributors_figures_and_the_quarters_counts(example_q2):
    import csv
    import datetime as dt

    from core.quarters import Quarter
    from pipelines.cli import summary_text
    from tests.conftest import FIXTURES

    def expected(name: str) -> list[dict]:
        with open(FIXTURES / "example" / name, newline="") as file:
            return [row for row in csv.DictReader(file) if row.get("quarter", "2026-Q2") == "2026-Q2"]

    text = summary_text(
        example_q2, Quarter(2026, 2), Path("out"), Path("out/outbox"), dt.datetime(2000, 1, 1)
    )
    lines = text.splitlines()
    assert lines[0] == "2026-Q2 (draft, as of 2026-06-30)"
    credits = expected("expected_distributor_credits.csv")
    section = lines[lines.index("Credits per distributor:") + 2 :]
    printed = {line.split()[0]: line.split()[1:] for line in section[: section.index("")]}
    assert printed == {
        row["distributor_id"]: [
            row["currency"],
            row["credited_count"],
            f"{Decimal(row['credit_total']):,.2f}",
            row["held_count"],
            row["rejected_count"],
        ]
        for row in credits
    }
    per_currency = lines[lines.index("Credits per currency:") + 2 : lines.index("Credits per currency:") + 4]
    assert [line.split()[:4] for line in per_currency] == [
        ["1", row["currency"], row["credited_count"], f"{Decimal(row['credit_total']):,.2f}"]
        for row in sorted(credits, key=lambda row: row["currency"])
    ]
    outcomes = [row["outcome"] for row in expected("expected_claim_outcomes.csv")]
    sla = [row["status"] for row in expected("expected_sla_status.csv")]
    assert f"Held claims: {outcomes.count('held')}   Rejected claims: {outcomes.count('rejected')}" in lines
    assert f"SLA breaches: {sla.count('breached')}   At risk: {sla.count('at_risk')}" in lines
    assert f"Quarantined input rows: {len(expected('expected_quarantine.csv'))}" in lines
    assert "Statements: out/2026-Q2" in lines and "Finance summary: out/finance/2026-Q2-summary.xlsx" in lines
    assert lines[-1] == "Delivery: nothing sent (a draft)"


def test_the_summary_lists_the_top_distributors_of_each_currency_and_totals_them_all(example_q2):
    import datetime as dt

    from core.quarters import Quarter
    from pipelines.cli import summary_text

    example_q2.execute(
        """INSERT INTO distributor_credits (quarter, distributor_id, currency, credited_count, credit_total,
            held_count, rejected_count) VALUES ('2026-Q2', 'BIGGER', 'USD', 3, 1000.01, 0, 0)"""
    )
    lines = summary_text(
        example_q2, Quarter(2026, 2), Path("out"), Path("out/outbox"), dt.datetime(2000, 1, 1), top=1
    ).splitlines()
    heading = "Top 1 distributors by credit in each currency (--all lists every one):"
    listed = lines[lines.index(heading) + 2 :]
    assert [line.split()[:2] for line in listed[: listed.index("")]] == [
        ["EUROPA-1", "EUR"],
        ["BIGGER", "USD"],
    ]
    usd = next(line.split() for line in lines if line.split()[1:2] == ["USD"] and line.split()[0] == "2")
    assert usd[2:4] == ["5", "1,170.00"]  # both USD distributors: 2 + 3 credited, 169.99 + 1,000.01


@pytest.mark.slow
def test_a_run_counts_its_checks_and_names_the_failed_ones(example_cwd, capsys, monkeypatch):
    from pipelines.definitions import defs
    from pipelines.jobs import quarterly_reconciliation

    job = defs.resolve_job_def(quarterly_reconciliation.name)
    checks = len(job.asset_layer.asset_graph.asset_check_keys)
    assert main(["run", "2026-Q2", *COMMON]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"Checks: {checks} passed, 0 failed"
    # A price in a currency no distributor uses: a warning, counted and named, and the run goes on.
    with open("data/reference/price_list.csv", "a") as prices:
        prices.write("SKU-NOBODY,JPY,1,2026-01-01,\n")
    assert main(["run", "2026-Q2", *COMMON]) == 0
    printed = capsys.readouterr()
    failed = [line for line in printed.err.splitlines() if line.startswith("rma-recon: warning: check ")]
    assert len(failed) == 1 and failed[0].startswith("rma-recon: warning: check price_list_expectations")
    assert printed.out.splitlines()[-1] == f"Checks: {checks - 1} passed, 1 failed"


@pytest.mark.slow
def test_a_quarter_before_the_first_one_runs_from_the_cli(example_cwd):
    # The UI's partitions start at RMA_FIRST_QUARTER; the CLI moves the start back for its run.
    # A process of its own: the partitions are built when the assets are first imported.
    def run(first_quarter: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "run", "2026-Q2", *COMMON],
            env={**os.environ, "RMA_FIRST_QUARTER": first_quarter, "GX_ANALYTICS_ENABLED": "false"},
            capture_output=True,
            text=True,
        )

    assert run("2026-Q3").returncode == 0
    assert (example_cwd / "out/2026-Q2/NORTHSTAR.xlsx").exists()
    refused = run("soon")
    assert refused.returncode == 2 and refused.stderr.startswith("rma-recon: error: RMA_FIRST_QUARTER='soon'")


def test_quarantine_lists_each_row_with_its_file_line_and_reason(example_q2_warehouse, capsys):
    import csv

    from tests.conftest import FIXTURES

    with open(FIXTURES / "example/expected_quarantine.csv", newline="") as file:
        expected = list(csv.DictReader(file))
    assert main(["quarantine", "--warehouse", str(example_q2_warehouse)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{len(expected)} input row(s) in quarantine"
    for row in expected:
        assert any(
            line.split()[:3] == [row["source"], f"{row['source_file']}:{row['source_line']}", row["reason"]]
            for line in out
        ), row
    assert main(["quarantine", "--warehouse", str(example_q2_warehouse), "--source", "rma_cases"]) == 0
    assert capsys.readouterr().out == "no input row is in quarantine for that selection\n"


def _quarantine_printed(tmp_path, capsys, row: dict) -> str:
    """What `rma-recon quarantine` prints for a warehouse holding this one quarantine row."""
    import duckdb

    from core.warehouse import prepare

    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        prepare(con)
        con.execute(
            f"INSERT INTO quarantine ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
    assert main(["quarantine", "--warehouse", str(warehouse)]) == 0
    return capsys.readouterr().out


def test_quarantine_shows_control_characters_as_escapes_not_terminal_codes(tmp_path, capsys):
    out = _quarantine_printed(
        tmp_path,
        capsys,
        {
            "source": "rma_cases",
            "source_file": "inbound/rma_cases/a.csv",
            "source_line": 3,
            "reason": "BAD_VALUE:opened_at",
            "raw": "R-1,\x1b[31mred\x07",
        },
    )
    assert "\x1b" not in out and "\x07" not in out and "R-1,\\x1b[31mred\\x07" in out


def test_quarantine_escapes_control_characters_in_file_names_and_details(tmp_path, capsys):
    out = _quarantine_printed(
        tmp_path,
        capsys,
        {
            "source": "fulfillment_reports",
            "source_file": "inbound/fulfillment_reports/\x1b[2J/a.csv",
            "source_line": 0,
            "reason": "UNKNOWN_DISTRIBUTOR",
            "detail": "folder '\x1b[2J' is not in reference/distributors.csv",
            "raw": "",
        },
    )
    assert "\x1b" not in out and "fulfillment_reports/\\x1b[2J/a.csv:0" in out and "folder '\\x1b[2J'" in out


def test_profile_prints_the_rows_to_paste_for_a_distributors_folder(tmp_path, capsys):
    from tests.conftest import FIXTURES

    folder = tmp_path / "data/inbound/fulfillment_reports/NORDWAREN"
    folder.mkdir(parents=True)
    (folder / "2026-04.csv").write_bytes((FIXTURES / "profiles/semicolon-decimal-comma.csv").read_bytes())
    assert main(["profile", str(folder)]) == 0
    out = capsys.readouterr().out
    assert 'NORDWAREN,cp1252,;,",",.,DD.MM.YYYY,,\n' in out
    assert "With these rows, 6 of 6 rows of 1 file(s) would load, none quarantined." in out
    assert not (tmp_path / "data/reference").exists()  # nothing saved


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing"], "'missing' does not exist"),
        (["empty"], "no CSV file or workbook in 'empty'"),
        (
            ["report.csv"],
            "which distributor? give --distributor ID (the folder name under fulfillment_reports)",
        ),
    ],
)
def test_profile_refuses_in_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "report.csv").write_text("rma_number\n")
    assert main(["profile", *args]) == 2
    assert capsys.readouterr().err == f"rma-recon: error: {message}\n"


@pytest.mark.slow
def test_onboarding_a_distributors_format_as_the_readme_shows(example_cwd, capsys):
    """Run `profile`, paste what it prints into the two reference files, run: the claims load."""
    from tests.conftest import FIXTURES

    with open("data/reference/distributors.csv", "a") as file:
        file.write("NORDWAREN,Nordwaren GmbH,ap@nordwaren.example,DE,EUR\n")
    folder = example_cwd / "data/inbound/fulfillment_reports/NORDWAREN"
    folder.mkdir()
    german = (FIXTURES / "profiles/semicolon-decimal-comma.csv").read_bytes()
    own_header = "RMA-Nr.;Lieferdatum;Seriennummer;Ersatz-Seriennummer;Artikelnummer;Betrag;Kunde\r\n"
    (folder / "2026-04.csv").write_bytes(own_header.encode("cp1252") + german.split(b"\n", 1)[1])
    assert main(["profile", "data/inbound/fulfillment_reports/NORDWAREN"]) == 0
    printed = capsys.readouterr().out.split("\n\n")
    profile_rows = next(block for block in printed if block.startswith("distributor_id,encoding,"))
    alias_rows = next(block for block in printed if block.startswith("distributor_id,alias,column"))
    assert alias_rows.count("\n") == 6
    Path("data/reference/report_profiles.csv").write_text(profile_rows + "\n")
    Path("data/reference/column_aliases.csv").write_text(alias_rows + "\n")
    assert main(["run", "2026-Q2", *EXAMPLE_ARGS]) == 0
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        loaded = con.execute(
            "SELECT rma_number, fulfilled_on, claimed_amount FROM stg_fulfillment_reports "
            "WHERE distributor_id = 'NORDWAREN' ORDER BY source_line"
        ).fetchall()
        quarantined = con.execute(
            "SELECT count(*) FROM quarantine WHERE source_file LIKE '%NORDWAREN%'"
        ).fetchone()
    assert len(loaded) == 6 and quarantined == (0,)
    assert loaded[0][1:] == (dt.date(2026, 4, 5), Decimal("1234.50"))
