"""Where a source's files are found (rulebook §2): what is read, and what is quarantined whole."""

import os
import shutil
from pathlib import Path

import pytest

from assets.ingest.sources import SOURCES, list_input_files
from assets.ingest.staging import stage_source
from tests.conftest import FIXTURES
from tests.scenario import CLAIM_DEFAULTS, write_csv

WORKBOOKS = FIXTURES / "workbooks"


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    write_csv(root / "reference/distributors.csv", [{"distributor_id": "D1", "currency": "USD"}])
    return root


def staged(con, root, source):
    stage_source(con, root, SOURCES["distributors"])
    report = stage_source(con, root, SOURCES[source])
    quarantined = con.execute(
        "SELECT source_file, source_line, reason FROM quarantine WHERE source = ? ORDER BY ALL", [source]
    ).fetchall()
    return report, quarantined


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_workbooks_of_other_kinds_are_read_like_xlsx(con, data, kind):
    folder = data / "inbound/fulfillment_reports/D1"
    folder.mkdir(parents=True)
    shutil.copy(WORKBOOKS / f"claims.{kind}", folder / f"2026-05.{kind}")
    report, quarantined = staged(con, data, "fulfillment_reports")
    assert (report.rows_loaded, quarantined) == (2, [])
    assert con.execute(
        """SELECT source_line, rma_number, fulfilled_on::VARCHAR, claimed_amount::VARCHAR
        FROM stg_fulfillment_reports"""
    ).fetchall() == [(2, "R-1", "2026-05-01", "100.00"), (4, "R-2", "2026-05-02", "45.50")]


def test_subfolders_of_a_distributor_folder_belong_to_it(con, data):
    write_csv(data / "inbound/fulfillment_reports/D1/2026/may/a.csv", [CLAIM_DEFAULTS])
    report, quarantined = staged(con, data, "fulfillment_reports")
    assert (report.rows_loaded, quarantined) == (1, [])
    assert con.execute("SELECT distributor_id, source_file FROM stg_fulfillment_reports").fetchall() == [
        ("D1", "inbound/fulfillment_reports/D1/2026/may/a.csv")
    ]


def test_any_other_file_under_inbound_is_quarantined_whole(con, data):
    write_csv(data / "inbound/fulfillment_reports/D1/a.csv", [CLAIM_DEFAULTS])
    for relative in (
        "inbound/fulfillment_reports/D1/notes.txt",  # a distributor's other file
        "inbound/fulfillment_reports/D1/old/2025.pdf",  # in a subfolder
        "inbound/fulfilment_reports/D1/b.csv",  # a misspelt source folder: claims that would vanish
        "inbound/README",
    ):
        (data / relative).parent.mkdir(parents=True, exist_ok=True)
        (data / relative).write_text("anything")
    report, quarantined = staged(con, data, "fulfillment_reports")
    assert report.rows_loaded == 1
    assert quarantined == [
        ("inbound/README", 0, "UNSUPPORTED_FILE"),
        ("inbound/fulfillment_reports/D1/notes.txt", 0, "UNSUPPORTED_FILE"),
        ("inbound/fulfillment_reports/D1/old/2025.pdf", 0, "UNSUPPORTED_FILE"),
        ("inbound/fulfilment_reports/D1/b.csv", 0, "UNSUPPORTED_FILE"),
    ]


def test_case_and_receipt_files_are_read_from_their_folder_itself(con, data):
    receipt = {"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "2026-04-05"}
    write_csv(data / "inbound/receiving_logs/r.csv", [receipt])
    write_csv(data / "inbound/receiving_logs/archive/r.csv", [{**receipt, "receipt_id": "RC-2"}])
    (data / "inbound/receiving_logs/r.xlsx").write_bytes((WORKBOOKS / "claims.ods").read_bytes())
    report, quarantined = staged(con, data, "receiving_logs")
    assert report.rows_loaded == 1
    assert quarantined == [
        ("inbound/receiving_logs/archive/r.csv", 0, "UNSUPPORTED_FILE"),
        ("inbound/receiving_logs/r.xlsx", 0, "UNSUPPORTED_FILE"),
    ]


def test_a_folder_that_cannot_be_listed_is_quarantined_not_a_crash(con, data, monkeypatch):
    write_csv(data / "inbound/fulfillment_reports/D1/a.csv", [CLAIM_DEFAULTS])
    write_csv(data / "inbound/fulfillment_reports/D2/a.csv", [CLAIM_DEFAULTS])
    real_scandir = os.scandir

    def scandir(path):  # root is not refused by chmod, so refuse here as a locked folder would
        if str(path).endswith("D2"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report, quarantined = staged(con, data, "fulfillment_reports")
    assert report.rows_loaded == 1
    assert quarantined == [("inbound/fulfillment_reports/D2", 0, "UNREADABLE_FILE")]
    detail = con.execute("SELECT detail FROM quarantine").fetchone()[0]
    assert detail == "cannot list the folder: Permission denied"


def test_unsupported_files_are_not_staged_again_while_unchanged(con, data):
    (data / "inbound/receiving_logs").mkdir(parents=True)
    (data / "inbound/receiving_logs/notes.txt").write_text("x")
    write_csv(
        data / "inbound/receiving_logs/r.csv",
        [{"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "2026-04-05"}],
    )
    staged(con, data, "receiving_logs")
    again = stage_source(con, data, SOURCES["receiving_logs"])
    assert (again.files, again.files_staged, again.rebuilt) == (2, 0, False)


def test_each_file_is_listed_once_by_one_source(data):
    for relative in (
        "inbound/rma_cases/c.csv",
        "inbound/receiving_logs/r.csv",
        "inbound/fulfillment_reports/D1/f.csv",
        "inbound/x.txt",
    ):
        (data / relative).parent.mkdir(parents=True, exist_ok=True)
        (data / relative).write_text("a")
    listed = [
        f.relative
        for name in ("rma_cases", "receiving_logs", "fulfillment_reports")
        for f in list_input_files(data, SOURCES[name])
    ]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == [
        "inbound/fulfillment_reports/D1/f.csv",
        "inbound/receiving_logs/r.csv",
        "inbound/rma_cases/c.csv",
        "inbound/x.txt",
    ]
