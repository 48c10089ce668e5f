"""`rma-recon profile`: the suggested profile and aliases for a distributor's own format."""

import csv
import io
from pathlib import Path

import pytest

from assets.ingest.profile_suggestion import (
    distributor_of,
    match_header,
    suggest,
    suggestion_text,
    try_suggestion,
)
from tests.assets.ingest.test_profiles import FORMATS, PROFILES

BLANK_PROFILE = {"encoding": "", "delimiter": "", "decimal": "", "thousands": "", "date_format": ""}
BLANK_PROFILE |= {"sheet": "", "header_row": ""}


@pytest.mark.parametrize("fixture", list(FORMATS))
def test_the_suggestion_for_each_real_format_is_the_profile_that_reads_it(fixture):
    profile, aliases = FORMATS[fixture]
    suggestion = suggest(PROFILES / fixture, "NORTHSTAR")
    expected = {"distributor_id": "NORTHSTAR", **BLANK_PROFILE, **(profile or {})}
    assert suggestion.profile_row == expected
    assert suggestion.aliases == aliases
    assert suggestion.notes == []
    trial = try_suggestion(suggestion, [PROFILES / fixture])
    assert (trial.rows_read, trial.rows_loaded, trial.quarantined) == (6, 6, [])


def test_a_standard_report_needs_no_profile():
    suggestion = suggest(PROFILES / "northstar-2026-04.csv", "NORTHSTAR")
    assert not suggestion.needs_profile and suggestion.aliases == []
    text = suggestion_text(suggestion, try_suggestion(suggestion, [PROFILES / "northstar-2026-04.csv"]), [])
    assert "no profile is needed" in text and "Read as it is, 6 of 6 rows" in text


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_dates_that_fit_day_first_and_month_first_are_flagged(tmp_path):
    path = write(
        tmp_path / "a.csv", "RMA,Date,Serial,New Serial\nR-1,04/05/2026,S1,S2\nR-2,11/12/2026,S3,S4\n"
    )
    suggestion = suggest(path, "D1")
    assert suggestion.date_format == "dd/mm/yyyy"
    assert any("both DD/MM/YYYY and MM/DD/YYYY" in note for note in suggestion.notes)
    path = write(tmp_path / "b.csv", "RMA,Date,Serial,New Serial\nR-1,04/25/2026,S1,S2\n")
    assert suggest(path, "D1").date_format == "mm/dd/yyyy"


@pytest.mark.parametrize(
    "amounts, decimal, thousands",
    [
        (["12.50", "1234.5"], ".", None),
        (["12,50", "1234,5"], ",", None),
        (["1.234,50", "12,00"], ",", "."),
        (["1,234.50", "12.00"], ".", ","),
        (["1 234,50", "12,00"], ",", "space"),
        (["1'234.50"], ".", "'"),
    ],
)
def test_separators_are_read_from_the_amounts(tmp_path, amounts, decimal, thousands):
    rows = "".join(f'R-{i};2026-05-04;S{i};N{i};"{amount}"\n' for i, amount in enumerate(amounts))
    path = write(tmp_path / "a.csv", "rma;date;serial;new serial;amount\n" + rows)
    suggestion = suggest(path, "D1")
    assert (suggestion.delimiter, suggestion.decimal, suggestion.thousands) == (";", decimal, thousands)
    trial = try_suggestion(suggestion, [path])
    assert trial.rows_loaded == len(amounts), trial.quarantined


def test_a_title_block_above_a_csv_header_gives_the_header_line(tmp_path):
    path = write(
        tmp_path / "a.csv",
        'Claims April\n"Exported\n2026-05-02"\n\n'
        "rma_number,fulfilled_on,defective_serial,replacement_serial\nR-1,2026-05-04,S1,S2\n",
    )
    suggestion = suggest(path, "D1")
    assert suggestion.header_row == 5  # the physical line: the quoted title spans two
    assert try_suggestion(suggestion, [path]).rows_loaded == 1


def test_a_missing_column_and_a_formula_looking_header_are_left_to_the_user(tmp_path):
    path = write(tmp_path / "a.csv", "=RMA(),Ship Date,Faulty S/N,Remarks\n1,2026-05-04,S1,x\n")
    suggestion = suggest(path, "D1")
    assert suggestion.aliases == [("Ship Date", "fulfilled_on"), ("Faulty S/N", "defective_serial")]
    assert suggestion.notes == [
        "rma_number: its header '=RMA()' looks like a formula; not suggested",
        "rma_number: no header looks like it; add an alias row for it by hand",
        "replacement_serial: no header looks like it; add an alias row for it by hand",
    ]
    text = suggestion_text(suggestion, try_suggestion(suggestion, [path]), [path])
    assert "0 of 1 rows of 1 file(s) would load; 1 would be quarantined:" in text
    assert "a.csv line 2: MISSING_COLUMN:rma_number" in text


def test_headers_match_synonyms_without_case_accents_or_punctuation():
    header = ["N° RMA", "Numéro de série", "Date d'expédition", "New-S/N", "rma_number"]
    assert match_header(header) == {
        "rma_number": 4,  # the standard name first
        "defective_serial": 1,
        "fulfilled_on": 2,
        "replacement_serial": 3,
    }


def test_the_distributor_is_the_folder_under_fulfillment_reports(tmp_path):
    folder = tmp_path / "data/inbound/fulfillment_reports/ACME/2026"
    folder.mkdir(parents=True)
    report = write(folder / "a.csv", "x\n")
    assert distributor_of(report) == "ACME"
    assert distributor_of(folder.parent) == "ACME"
    assert distributor_of(tmp_path / "data/inbound/fulfillment_reports") is None
    assert distributor_of(report.parent.parent.parent.parent / "elsewhere.csv") is None


def test_the_printed_rows_are_csv_that_staging_reads_back():
    suggestion = suggest(PROFILES / "semicolon-decimal-comma.csv", "NORTHSTAR")
    text = suggestion_text(
        suggestion, try_suggestion(suggestion, [PROFILES / "semicolon-decimal-comma.csv"]), []
    )
    lines = text.splitlines()
    header_at = lines.index(
        "distributor_id,encoding,delimiter,decimal,thousands,date_format,sheet,header_row"
    )
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[header_at : header_at + 2]))))
    assert rows == [
        {
            "distributor_id": "NORTHSTAR",
            "encoding": "cp1252",
            "delimiter": ";",
            "decimal": ",",
            "thousands": ".",
            "date_format": "DD.MM.YYYY",
            "sheet": "",
            "header_row": "",
        }
    ]
