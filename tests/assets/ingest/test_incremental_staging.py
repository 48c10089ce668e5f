"""Staging reads only new and changed files, and ends exactly where staging everything would."""

import csv
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

import assets.ingest.staging
from assets.ingest.sources import SOURCES
from assets.ingest.staging import stage_source
from synthetic.generate import generate_data

ORDER = ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generated") / "data"
    generate_data(root, seed=5, cases=300, distributors=3)
    return root


@pytest.fixture
def data(generated, tmp_path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / "data"))


def stage_all(con, data: Path) -> dict:
    return {name: stage_source(con, data, SOURCES[name]) for name in ORDER}


def contents(con) -> dict[str, list]:
    tables = {name: f"SELECT * FROM {SOURCES[name].table} ORDER BY ALL" for name in ORDER}
    tables["quarantine"] = "SELECT * FROM quarantine ORDER BY ALL"
    tables["ingest_log"] = "SELECT * FROM ingest_log ORDER BY ALL"
    tables["ingested_files"] = (
        "SELECT source, source_file, sha256, rows_read FROM ingested_files ORDER BY ALL"
    )
    return {name: con.execute(sql).fetchall() for name, sql in tables.items()}


def assert_same_as_staging_from_scratch(con, data: Path) -> None:
    with duckdb.connect() as fresh:
        reports = stage_all(fresh, data)
        assert all(report.rebuilt for report in reports.values())
        assert contents(con) == contents(fresh)


def first_file(folder: Path, pattern: str = "*.csv") -> Path:
    return sorted(folder.rglob(pattern))[0]


def edit_a_data_line(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",", ",x", 1)  # the first value of the first data row changes
    path.write_text("".join(lines))


def test_unchanged_files_are_not_staged_again(con, data):
    stage_all(con, data)
    before = contents(con)
    reports = stage_all(con, data)
    assert all(report.files_staged == 0 and not report.rebuilt for report in reports.values())
    assert contents(con) == before


def test_a_changed_file_in_the_middle_replaces_only_its_own_rows(con, data):
    stage_all(con, data)
    cases = sorted((data / "inbound/rma_cases").glob("*.csv"))
    edit_a_data_line(cases[len(cases) // 2])
    reports = stage_all(con, data)
    assert reports["rma_cases"].files_staged == 1 and not reports["rma_cases"].rebuilt
    assert_same_as_staging_from_scratch(con, data)


def test_deleted_and_added_files(con, data):
    stage_all(con, data)
    claims = sorted((data / "inbound/fulfillment_reports").rglob("*.csv"))
    claims[0].unlink()
    added = claims[1].parent / "2099-01.csv"
    shutil.copyfile(claims[1], added)
    reports = stage_all(con, data)
    assert reports["fulfillment_reports"].files_staged == 1 and not reports["fulfillment_reports"].rebuilt
    assert_same_as_staging_from_scratch(con, data)


def test_a_new_last_receipts_file_is_checked_against_the_receipt_ids_already_staged(con, data):
    stage_all(con, data)
    folder = data / "inbound/receiving_logs"
    with first_file(folder).open(newline="") as handle:
        header, first_row = list(csv.reader(handle))[:2]
    with (folder / "receipts_2099-01.csv").open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, first_row])
    reports = stage_all(con, data)
    assert reports["receiving_logs"].files_staged == 1 and not reports["receiving_logs"].rebuilt
    assert con.execute(
        "SELECT reason FROM quarantine WHERE source_file = 'inbound/receiving_logs/receipts_2099-01.csv'"
    ).fetchall() == [("DUPLICATE_RECEIPT_ID",)]
    assert_same_as_staging_from_scratch(con, data)


def test_an_early_receipts_change_rebuilds_the_source(con, data):
    """Which of two equal receipt ids is the duplicate depends on path order: all of it is judged again."""
    stage_all(con, data)
    edit_a_data_line(first_file(data / "inbound/receiving_logs"))
    reports = stage_all(con, data)
    assert reports["receiving_logs"].rebuilt
    assert_same_as_staging_from_scratch(con, data)


def test_a_distributor_change_rebuilds_the_sources_judged_against_distributors(con, data):
    stage_all(con, data)
    with (data / "reference/distributors.csv").open("a") as handle:
        handle.write("NEWDIST,New Co,new@example.com,DE,EUR\n")
    reports = stage_all(con, data)
    assert reports["rma_cases"].rebuilt and reports["fulfillment_reports"].rebuilt
    assert reports["receiving_logs"].files_staged == 0
    assert_same_as_staging_from_scratch(con, data)


def test_a_file_that_cannot_be_opened_is_tried_again_every_run(con, data, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("rma_number\n")
    (data / "inbound/rma_cases/zz_link.csv").symlink_to(outside)
    stage_all(con, data)
    reports = stage_all(con, data)
    assert reports["rma_cases"].files_staged == 1
    assert con.execute(
        "SELECT source_line, reason FROM quarantine WHERE source_file = 'inbound/rma_cases/zz_link.csv'"
    ).fetchall() == [(0, "UNREADABLE_FILE")]
    assert_same_as_staging_from_scratch(con, data)


def test_new_staging_code_stages_everything_again(con, data, monkeypatch):
    stage_all(con, data)
    monkeypatch.setattr("assets.ingest.staging._staging_fingerprint", lambda source, known: "another version")
    reports = stage_all(con, data)
    assert all(report.rebuilt and report.files_staged == report.files for report in reports.values())


def physical_rows(con) -> dict[str, list]:
    """Every staged table and the quarantine in the order their rows are stored."""
    names = {name: SOURCES[name].table for name in ORDER} | {"quarantine": "quarantine"}
    return {
        name: con.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for name, table in names.items()
    }


def test_files_judged_a_batch_at_a_time_give_the_same_rows_in_the_same_order(con, data, monkeypatch):
    edit_a_data_line(first_file(data / "inbound" / "rma_cases"))  # a quarantined case row
    stage_all(con, data)
    in_one_batch = physical_rows(con)
    assert any(row[0] == "rma_cases" for row in in_one_batch["quarantine"])
    monkeypatch.setattr(assets.ingest.staging, "STAGE_BATCH_BYTES", 1)  # a batch per file
    with duckdb.connect() as batched:
        stage_all(batched, data)
        assert physical_rows(batched) == in_one_batch
        edit_a_data_line(sorted((data / "inbound" / "rma_cases").glob("*.csv"))[1])
        report = stage_source(batched, data, SOURCES["rma_cases"])
        assert (report.files_staged, report.rebuilt) == (1, False)
        assert_same_as_staging_from_scratch(batched, data)


def test_a_failure_in_a_later_batch_leaves_the_staged_rows_as_they_were(con, data, monkeypatch):
    stage_all(con, data)
    before = contents(con)
    monkeypatch.setattr(assets.ingest.staging, "STAGE_BATCH_BYTES", 1)
    for path in (data / "inbound" / "rma_cases").glob("*.csv"):
        edit_a_data_line(path)
    parsed = []
    real_parse = assets.ingest.staging._parse

    def parse_then_fail(*args):
        parsed.append(args[1].relative)
        if len(parsed) == 3:
            raise OSError("disk gone")
        return real_parse(*args)

    monkeypatch.setattr(assets.ingest.staging, "_parse", parse_then_fail)
    with pytest.raises(OSError, match="disk gone"):
        stage_source(con, data, SOURCES["rma_cases"])
    assert contents(con) == before
    assert scratch_tables(con) == []  # the batches written before the failure are gone too


def scratch_tables(con) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'staging\\_%' ESCAPE '\\'"
        ).fetchall()
    ]


def test_each_batch_is_committed_as_it_is_written(con, data, monkeypatch):
    """Within one transaction DuckDB kept every batch's temp tables until the commit (10 GB at
    ten million cases): another connection sees each batch's rows before the next is read, and
    the staged table only once all are in."""
    monkeypatch.setattr(assets.ingest.staging, "STAGE_BATCH_BYTES", 1)  # a batch per file
    files = sorted((data / "inbound" / "rma_cases").glob("*.csv"))
    assert len(files) >= 3
    for name in ORDER[:2]:
        stage_source(con, data, SOURCES[name])
    seen = []
    real_parse = assets.ingest.staging._parse

    def parse_and_look(*args):
        with con.cursor() as other:
            waiting = other.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'staging_rma_cases_rows'"
            ).fetchone()[0]
            seen.append(
                (
                    other.execute(
                        "SELECT count(DISTINCT source_file) FROM staging_rma_cases_rows"
                    ).fetchone()[0]
                    if waiting
                    else None,
                    other.execute(
                        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stg_rma_cases'"
                    ).fetchone()[0],
                )
            )
        return real_parse(*args)

    monkeypatch.setattr(assets.ingest.staging, "_parse", parse_and_look)
    stage_source(con, data, SOURCES["rma_cases"])
    assert seen[:3] == [(None, 0), (1, 0), (2, 0)]
    assert scratch_tables(con) == []
    assert con.execute("SELECT count(DISTINCT source_file) FROM stg_rma_cases").fetchone()[0] == len(files)


@pytest.mark.parametrize("batch_bytes", [1, assets.ingest.staging.STAGE_BATCH_BYTES])
def test_what_a_killed_run_left_in_the_waiting_tables_is_dropped(con, data, monkeypatch, batch_bytes):
    """By the next run, whether it stages in batches (1 byte: a batch per file) or in one."""
    monkeypatch.setattr(assets.ingest.staging, "STAGE_BATCH_BYTES", batch_bytes)
    # As a run killed between two batches leaves them (its clean-up never ran).
    con.execute("CREATE TABLE staging_rma_cases_rows AS SELECT 'stale' AS source_file, 1 AS junk")
    con.execute("CREATE TABLE staging_rma_cases_quarantine AS SELECT 'stale' AS source_file")
    stage_all(con, data)
    assert scratch_tables(con) == []
    assert_same_as_staging_from_scratch(con, data)


def _stat_keys(con) -> dict[str, str | None]:
    return dict(con.execute("SELECT source_file, stat_key FROM ingested_files").fetchall())


def test_files_changed_too_recently_keep_no_stat_and_get_one_once_settled(con, data, monkeypatch):
    stage_all(con, data)  # the copies were just written: their times vouch for nothing yet
    assert set(_stat_keys(con).values()) == {None}
    monkeypatch.setattr(assets.ingest.staging, "STAT_SETTLED_NS", 0)
    reports = stage_all(con, data)  # hashed, found unchanged, their stats kept
    assert all(report.files_staged == 0 for report in reports.values())
    assert None not in _stat_keys(con).values()


def test_settled_unchanged_files_are_not_read_again(con, data, monkeypatch):
    monkeypatch.setattr(assets.ingest.staging, "STAT_SETTLED_NS", 0)
    stage_all(con, data)
    before = contents(con)

    def no_reading(*args, **kwargs):
        pytest.fail("an unchanged file was read again")

    monkeypatch.setattr(assets.ingest.staging, "_file_bytes", no_reading)
    reports = stage_all(con, data)
    assert all(report.files_staged == 0 and not report.rebuilt for report in reports.values())
    assert contents(con) == before


def test_a_rewrite_that_keeps_the_size_and_the_modified_time_is_still_seen(con, data, monkeypatch):
    monkeypatch.setattr(assets.ingest.staging, "STAT_SETTLED_NS", 0)
    stage_all(con, data)
    path = sorted((data / "inbound/rma_cases").glob("*.csv"))[0]
    before = path.stat()
    time.sleep(0.05)  # past the coarse clock's tick: the rewrite gets a change time of its own
    text = path.read_text()
    path.write_text(text.replace(",direct,", ",DIRECT,", 1) if ",direct," in text else text.upper())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as a copy with -p would
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    reports = stage_all(con, data)
    assert reports["rma_cases"].files_staged == 1
    assert_same_as_staging_from_scratch(con, data)
