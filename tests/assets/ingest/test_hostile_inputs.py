"""Hostile input: each bad part is quarantined with a clear message and the rest still loads."""

import os

import pytest

from assets.ingest.sources import SOURCES
from assets.ingest.staging import MAX_RAW_CHARS, stage_source
from tests.scenario import CLAIM_DEFAULTS, write_csv

GOOD_CLAIM = ",".join(CLAIM_DEFAULTS) + "\nR-1,2026-05-01,SN-1,SN-R1,SKU,\n"


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    write_csv(
        root / "reference/distributors.csv",
        [
            {"distributor_id": "D1", "currency": "USD"},
            {"distributor_id": "Nordic Ünï. Co", "currency": "EUR"},
        ],
    )
    (root / "inbound/fulfillment_reports/D1").mkdir(parents=True)
    (root / "inbound/fulfillment_reports/D1/0-good.csv").write_text(GOOD_CLAIM)
    return root


def claims_folder(root):
    return root / "inbound/fulfillment_reports/D1"


def stage_claims(con, root):
    stage_source(con, root, SOURCES["distributors"])
    report = stage_source(con, root, SOURCES["fulfillment_reports"])
    rows = con.execute(
        "SELECT source_file, source_line, reason, detail FROM quarantine "
        "WHERE source = 'fulfillment_reports' ORDER BY ALL"
    ).fetchall()
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    return report, rows


def only_problem(con, root, file_name):
    report, rows = stage_claims(con, root)
    assert report.rows_loaded == 1, "the good file still loads"
    assert {row[0] for row in rows} == {f"inbound/fulfillment_reports/D1/{file_name}"}
    return rows


def test_empty_file(con, data):
    (claims_folder(data) / "empty.csv").write_bytes(b"")
    [(_, line, reason, detail)] = only_problem(con, data, "empty.csv")
    assert (line, reason, detail) == (0, "UNREADABLE_FILE", "empty file: no header row")


def test_header_only_file_has_nothing_to_lose(con, data):
    (claims_folder(data) / "header.csv").write_text(",".join(CLAIM_DEFAULTS) + "\n")
    report, rows = stage_claims(con, data)
    assert (report.rows_loaded, rows) == (1, [])


def test_binary_garbage_named_csv(con, data):
    (claims_folder(data) / "garbage.csv").write_bytes(os.urandom(4096) + b"\x00")
    [(_, line, reason, detail)] = only_problem(con, data, "garbage.csv")
    assert (line, reason) == (0, "UNREADABLE_FILE") and detail


def test_xlsx_that_is_not_a_zip(con, data):
    (claims_folder(data) / "fake.xlsx").write_text(GOOD_CLAIM)
    [(_, line, reason, detail)] = only_problem(con, data, "fake.xlsx")
    assert (line, reason) == (0, "UNREADABLE_FILE") and "XLSX" in detail


def test_semicolon_delimiter(con, data):
    (claims_folder(data) / "semi.csv").write_text(GOOD_CLAIM.replace(",", ";"))
    [(_, line, reason, detail)] = only_problem(con, data, "semi.csv")
    assert (line, reason) == (2, "MISSING_COLUMN:rma_number") and "semicolon" in detail


def test_non_utf8_bytes(con, data):
    (claims_folder(data) / "latin.csv").write_bytes(GOOD_CLAIM.replace("SN-R1", "SN-Ré").encode("latin-1"))
    [(_, line, reason, detail)] = only_problem(con, data, "latin.csv")
    assert (line, reason) == (0, "UNREADABLE_FILE") and "UTF-8" in detail


def test_fifty_megabyte_field(con, data):
    huge = "X" * (50 * 1024 * 1024)
    (claims_folder(data) / "huge.csv").write_text(GOOD_CLAIM.replace("SN-R1", huge))
    [(_, line, reason, _detail)] = only_problem(con, data, "huge.csv")
    assert (line, reason) == (2, "BAD_VALUE:replacement_serial")
    (raw,) = con.execute("SELECT raw FROM quarantine").fetchone()
    assert len(raw) < MAX_RAW_CHARS + 100 and raw.endswith("characters in all]")


def test_duplicated_header_names_first_counts(con, data):
    header = ",".join(CLAIM_DEFAULTS) + ",rma_number"
    (claims_folder(data) / "dup.csv").write_text(header + "\nR-2,2026-05-01,SN-1,SN-R1,SKU,,IGNORED\n")
    report, rows = stage_claims(con, data)
    assert rows == [] and report.rows_loaded == 2
    assert con.execute(
        "SELECT count(*) FROM stg_fulfillment_reports WHERE rma_number = 'R-2'"
    ).fetchone() == (1,)


def test_formulas_and_control_characters_stay_text(con, data):
    text = '=HYPERLINK("http://x")\x07\x1b'
    write_csv(
        claims_folder(data) / "formula.csv",
        [{**CLAIM_DEFAULTS, "replacement_serial": text, "replacement_sku": "+1-2"}],
    )
    report, rows = stage_claims(con, data)
    assert rows == [] and report.rows_loaded == 2
    assert con.execute(
        "SELECT replacement_serial FROM stg_fulfillment_reports WHERE source_file LIKE '%formula.csv'"
    ).fetchone() == (text,)


@pytest.mark.parametrize("day", ["1999-12-31", "2100-01-01", "9999-12-31"])
def test_dates_before_2000_or_far_in_the_future(con, data, day):
    write_csv(claims_folder(data) / "dates.csv", [{**CLAIM_DEFAULTS, "fulfilled_on": day}])
    [(_, line, reason, _detail)] = only_problem(con, data, "dates.csv")
    assert (line, reason) == (2, "BAD_VALUE:fulfilled_on")


def test_distributor_folder_with_spaces_dots_and_non_ascii(con, data):
    folder = data / "inbound/fulfillment_reports/Nordic Ünï. Co"
    folder.mkdir()
    (folder / "a.csv").write_text(GOOD_CLAIM)
    unknown = data / "inbound/fulfillment_reports/Ünknown. Co"
    unknown.mkdir()
    (unknown / "a.csv").write_text(GOOD_CLAIM)
    report, rows = stage_claims(con, data)
    assert report.rows_loaded == 2
    assert rows == [
        (
            "inbound/fulfillment_reports/Ünknown. Co/a.csv",
            2,
            "UNKNOWN_DISTRIBUTOR",
            "folder 'Ünknown. Co' is not in reference/distributors.csv",
        )
    ]


def test_symlink_pointing_outside_is_not_followed(con, data, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(GOOD_CLAIM)
    os.symlink(secret, claims_folder(data) / "link.csv")
    [(_, line, reason, detail)] = only_problem(con, data, "link.csv")
    assert (line, reason) == (0, "UNREADABLE_FILE") and "outside the data directory" in detail


def test_symlinked_folder_pointing_outside_is_not_followed(con, data, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.csv").write_text(GOOD_CLAIM)
    os.symlink(outside, data / "inbound/fulfillment_reports/D1-link")
    write_csv(
        data / "reference/distributors.csv",
        [{"distributor_id": "D1", "currency": "USD"}, {"distributor_id": "D1-link", "currency": "USD"}],
    )
    report, rows = stage_claims(con, data)
    assert report.rows_loaded == 1
    # The link itself is the one row (rulebook §2): what lies outside is not even listed.
    assert rows == [
        (
            "inbound/fulfillment_reports/D1-link",
            0,
            "UNREADABLE_FILE",
            "symbolic link leading outside the data directory, not followed",
        )
    ]
