"""Rulebook §2.5: distributors' own report formats, described once in reference files.

The fixtures in tests/fixtures/profiles are the claims of `northstar-2026-04.csv` (§2) as real
systems write them (most by LibreOffice; see make_fixtures.py). Each, with its profile, must
give every claim the outcome the §2 file gives it.
"""

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.ingest.sources import SOURCES
from assets.ingest.staging import stage_source
from assets.reconcile.rules import RunParameters, reconcile_quarter
from checks.conservation import rows_accounted_for
from core.quarters import Quarter
from tests.conftest import EXAMPLE_DATA, FIXTURES
from tests.scenario import write_csv

PROFILES = FIXTURES / "profiles"
REPORT = "inbound/fulfillment_reports/NORTHSTAR/2026-04"  # + the suffix of the file that replaces it
PROFILE_COLUMNS = ["distributor_id", "encoding", "delimiter", "decimal", "thousands", "date_format"]
PROFILE_COLUMNS += ["sheet", "header_row"]
OWN_HEADERS = [
    ("RMA Number", "rma_number"),
    ("Ship Date", "fulfilled_on"),
    ("Faulty S/N", "defective_serial"),
    ("New S/N", "replacement_serial"),
    ("Part Number", "replacement_sku"),
    ("Amount", "claimed_amount"),
]
SECOND_SHEET = {"sheet": "Claims", "header_row": "4"}
# Each fixture, its profile row (without distributor_id) and its aliases.
FORMATS = {
    "semicolon-decimal-comma.csv": (
        {
            "encoding": "cp1252",
            "delimiter": ";",
            "decimal": ",",
            "thousands": ".",
            "date_format": "DD.MM.YYYY",
        },
        [],
    ),
    "windows-1252.csv": ({"encoding": "cp1252"}, []),
    "hand-cp1252.csv": ({"encoding": "cp1252"}, []),
    "unicode-text.csv": ({"encoding": "utf-16", "delimiter": "tab"}, []),
    "own-headers.csv": (None, OWN_HEADERS),
    "second-sheet.xlsx": (SECOND_SHEET, []),
    "second-sheet.ods": (SECOND_SHEET, []),
    "second-sheet.xls": (SECOND_SHEET, []),
}
CLAIM_COLUMNS = """distributor_id, rma_number, fulfilled_on, outcome, reason, credit_amount, currency,
    due_quarter, late, claimed_amount, amount_variance, rule_number, defective_serial, replacement_serial,
    replacement_sku, product_sku"""


def example_with(tmp_path: Path, fixture: str, profile: dict | None, aliases: list) -> Path:
    """The worked example's data with NORTHSTAR's April report replaced by `fixture`, and without
    NORTHSTAR's other reports (the profile is for all of a distributor's files, which these are not
    written in)."""
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA, data)
    for other in (data / REPORT).parent.iterdir():
        other.unlink()
    shutil.copy(PROFILES / fixture, data / f"{REPORT}{Path(fixture).suffix}")
    if profile is not None:
        write_csv(
            data / "reference/report_profiles.csv",
            [{"distributor_id": "NORTHSTAR", **profile}],
            PROFILE_COLUMNS,
        )
    if aliases:
        rows = [
            {"distributor_id": "NORTHSTAR", "alias": alias, "column": column} for alias, column in aliases
        ]
        write_csv(data / "reference/column_aliases.csv", rows)
    return data


def reconciled(data: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for source in SOURCES.values():
        stage_source(con, data, source)
    reconcile_quarter(con, RunParameters(Quarter(2026, 2), dt.date(2026, 6, 30)))
    return con


def claims_of_the_report(con) -> list[tuple]:
    return con.execute(
        f"SELECT {CLAIM_COLUMNS} FROM claim_outcomes WHERE source_file LIKE ? ORDER BY source_line",
        [f"{REPORT}.%"],
    ).fetchall()


def other_claims(con) -> list[tuple]:
    return con.execute(
        "SELECT * FROM claim_outcomes WHERE source_file NOT LIKE ? ORDER BY source_file, source_line",
        [f"{REPORT}.%"],
    ).fetchall()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[list, list, list]:
    """The §2 file's claims, the other claims and the credits, as the example gives them."""
    con = reconciled(example_with(tmp_path_factory.mktemp("baseline"), "northstar-2026-04.csv", None, []))
    with con:
        credits = con.execute("SELECT * FROM distributor_credits ORDER BY ALL").fetchall()
        return claims_of_the_report(con), other_claims(con), credits


@pytest.mark.parametrize("fixture", list(FORMATS))
def test_a_profiled_report_gives_every_claim_the_outcome_of_the_same_claim_in_the_standard_format(
    tmp_path, baseline, fixture
):
    profile, aliases = FORMATS[fixture]
    expected_claims, expected_others, expected_credits = baseline
    assert len(expected_claims) == 6 and {row[3] for row in expected_claims} == {
        "credited",
        "rejected",
        "held",
    }
    with reconciled(example_with(tmp_path, fixture, profile, aliases)) as con:
        assert claims_of_the_report(con) == expected_claims  # claim by claim, in line order
        assert other_claims(con) == expected_others
        assert con.execute("SELECT * FROM distributor_credits ORDER BY ALL").fetchall() == expected_credits
        assert (
            con.execute(
                "SELECT count(*) FROM quarantine WHERE source_file LIKE ?", [f"{REPORT}.%"]
            ).fetchone()[0]
            == 0
        )
        for name in ("report_profiles", "column_aliases", "fulfillment_reports"):
            assert rows_accounted_for(con, name)[0], name


@pytest.mark.parametrize(
    "fixture, reasons",
    [
        ("semicolon-decimal-comma.csv", ["UNREADABLE_FILE"]),  # Windows-1252 is not UTF-8
        ("windows-1252.csv", ["UNREADABLE_FILE"]),
        ("unicode-text.csv", ["UNREADABLE_FILE"]),
        ("own-headers.csv", ["MISSING_COLUMN:rma_number"]),
        ("second-sheet.xlsx", []),  # its first sheet has a note and no rows
    ],
)
def test_without_its_profile_none_of_the_reports_claims_loads(tmp_path, fixture, reasons):
    with reconciled(example_with(tmp_path, fixture, None, [])) as con:
        assert claims_of_the_report(con) == []
        assert [
            reason
            for (reason,) in con.execute(
                "SELECT DISTINCT reason FROM quarantine WHERE source_file LIKE ?", [f"{REPORT}.%"]
            ).fetchall()
        ] == reasons


# --- bad profiles and files that do not fit them ---


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    write_csv(
        root / "reference/distributors.csv",
        [{"distributor_id": "D1", "currency": "EUR"}, {"distributor_id": "D2", "currency": "EUR"}],
    )
    return root


def report(root: Path, name: str, text: str, encoding: str = "utf-8", distributor: str = "D1") -> None:
    path = root / "inbound/fulfillment_reports" / distributor / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def profiles(root: Path, *rows: dict) -> None:
    write_csv(root / "reference/report_profiles.csv", list(rows), PROFILE_COLUMNS)


def aliases(root: Path, *rows: tuple[str, str, str]) -> None:
    write_csv(
        root / "reference/column_aliases.csv",
        [{"distributor_id": d, "alias": a, "column": c} for d, a, c in rows],
    )


def stage_all(con, root: Path):
    for name in ("distributors", "report_profiles", "column_aliases", "fulfillment_reports"):
        staged = stage_source(con, root, SOURCES[name])
    return staged


def quarantined(con, source: str) -> list[tuple]:
    return con.execute(
        "SELECT source_line, reason FROM quarantine WHERE source = ? ORDER BY ALL", [source]
    ).fetchall()


def loaded(con) -> list[tuple]:
    return con.execute(
        """SELECT distributor_id, source_line, rma_number, fulfilled_on, claimed_amount
        FROM stg_fulfillment_reports ORDER BY ALL"""
    ).fetchall()


HEADER = "rma_number,fulfilled_on,defective_serial,replacement_serial,claimed_amount\n"
STANDARD = HEADER + "R-1,2026-05-04,S1,S2,1234.50\n"
GERMAN = HEADER.replace(",", ";") + "R-1;04.05.2026;S1;S2;1.234,50\n"


def test_bad_profile_rows_are_quarantined_and_their_distributors_read_by_the_standard(con, data):
    profiles(
        data,
        {"distributor_id": "NOBODY", "delimiter": ";"},
        {"distributor_id": "D1", "encoding": "latin-9", "delimiter": ";"},
        {"distributor_id": "D2", "decimal": ",", "thousands": ","},
        {"distributor_id": "D2", "delimiter": ";"},
    )
    with (data / "reference/report_profiles.csv").open("a") as file:
        file.write("D1,,,,.,,,\nD1,,,,,,,0\n")  # thousands equal to the default decimal; header row 0
    report(data, "a.csv", STANDARD)
    report(data, "b.csv", STANDARD, distributor="D2")
    stage_all(con, data)
    assert quarantined(con, "report_profiles") == [
        (2, "UNKNOWN_DISTRIBUTOR"),
        (3, "BAD_VALUE:encoding"),
        (4, "BAD_VALUE:thousands"),
        (5, "DUPLICATE_PROFILE"),  # D2's first row decides, bad as it is: §2 for D2
        (6, "BAD_VALUE:thousands"),
        (7, "BAD_VALUE:header_row"),
    ]
    assert loaded(con) == [
        ("D1", 2, "R-1", dt.date(2026, 5, 4), 1234.5),
        ("D2", 2, "R-1", dt.date(2026, 5, 4), 1234.5),
    ]


def test_aliases_name_columns_and_the_first_alias_present_counts(con, data):
    aliases(
        data,
        ("D1", "RMA No", "rma_number"),
        ("D1", " rma number ", "rma_number"),  # matched like headers: trimmed, any case
        ("D1", "Date", "fulfilled_on"),
        ("D1", "date", "claimed_amount"),  # the same alias again
        ("D1", "Old", "defective_serial"),
        ("D1", "New", "replacement_serial"),
        ("D1", "Price", "unit_price"),  # no such column
        ("NOBODY", "Price", "claimed_amount"),
    )
    # "RMA Number" comes first in the file, "RMA No" first in the aliases: the aliases' order counts.
    report(data, "a.csv", "RMA Number,Date,Old,New,RMA No\nR-WRONG,2026-05-04,S1,S2,R-1\n")
    stage_all(con, data)
    assert quarantined(con, "column_aliases") == [
        (5, "DUPLICATE_ALIAS"),
        (8, "BAD_VALUE:column"),
        (9, "UNKNOWN_DISTRIBUTOR"),
    ]
    assert loaded(con) == [("D1", 2, "R-1", dt.date(2026, 5, 4), None)]


def test_a_report_without_a_required_column_or_alias_names_both_in_its_quarantine(con, data):
    aliases(data, ("D1", "RMA No", "rma_number"))
    report(
        data, "a.csv", "RMA Number,fulfilled_on,defective_serial,replacement_serial\nR-1,2026-05-04,S1,S2\n"
    )
    stage_all(con, data)
    assert con.execute(
        "SELECT reason, detail FROM quarantine WHERE source = 'fulfillment_reports'"
    ).fetchall() == [
        (
            "MISSING_COLUMN:rma_number",
            "header has no 'rma_number' column (nor one of its aliases in reference/column_aliases.csv)",
        )
    ]


def test_a_semicolon_report_without_a_profile_says_where_to_describe_it(con, data):
    report(data, "a.csv", GERMAN)
    stage_all(con, data)
    (detail,) = con.execute("SELECT detail FROM quarantine").fetchone()
    assert "semicolon-separated: describe the distributor's format in reference/report_profiles.csv" in detail


def test_values_the_profile_cannot_read_are_bad_values_and_iso_dates_are_still_read(con, data):
    profiles(data, {"distributor_id": "D1", "delimiter": ";", "decimal": ",", "date_format": "DD.MM.YYYY"})
    report(
        data,
        "a.csv",
        "rma_number;fulfilled_on;defective_serial;replacement_serial;claimed_amount\n"
        "R-1;04.05.2026;S1;S2;47,00\n"
        "R-2;2026-05-04;S1;S2;0,5\n"  # ISO date: still read
        "R-3;05/04/2026;S1;S2;1\n"  # another date format
        "R-4;4.5.2026;S1;S2;1\n"  # DD.MM.YYYY wants two digits
        "R-5;31.02.2026;S1;S2;1\n"  # no such day
        "R-6;04.05.2026;S1;S2;47.00\n"  # the standard decimal point, not this profile's
        "R-7;04.05.2026;S1;S2;1.234,50\n"  # thousands separator the profile does not declare
        "R-8;04.05.2026;S1;S2;0,125\n",  # three decimals
    )
    stage_all(con, data)
    assert loaded(con) == [
        ("D1", 2, "R-1", dt.date(2026, 5, 4), 47),
        ("D1", 3, "R-2", dt.date(2026, 5, 4), 0.5),
    ]
    assert con.execute("SELECT source_line, reason, raw FROM quarantine ORDER BY source_line").fetchall() == [
        (4, "BAD_VALUE:fulfilled_on", "R-3;05/04/2026;S1;S2;1"),
        (5, "BAD_VALUE:fulfilled_on", "R-4;4.5.2026;S1;S2;1"),
        (6, "BAD_VALUE:fulfilled_on", "R-5;31.02.2026;S1;S2;1"),
        (7, "BAD_VALUE:claimed_amount", "R-6;04.05.2026;S1;S2;47.00"),
        (8, "BAD_VALUE:claimed_amount", "R-7;04.05.2026;S1;S2;1.234,50"),
        (9, "BAD_VALUE:claimed_amount", "R-8;04.05.2026;S1;S2;0,125"),
    ]


@pytest.mark.parametrize(
    "profile, text, encoding, reason",
    [
        ({"delimiter": ";"}, STANDARD, "utf-8", "MISSING_COLUMN:rma_number"),
        ({"decimal": ","}, STANDARD, "utf-8", "BAD_VALUE:claimed_amount"),
        (
            {"date_format": "MM/DD/YYYY"},
            STANDARD.replace("2026-05-04", "04.05.2026"),
            "utf-8",
            "BAD_VALUE:fulfilled_on",
        ),
        ({"encoding": "utf-16"}, STANDARD, "utf-8", "UNREADABLE_FILE"),  # no byte-order mark
        ({"encoding": "utf-8"}, STANDARD, "cp1252", None),  # ASCII: the same in both
        ({"encoding": "utf-8"}, STANDARD.replace("S1", "Süd"), "cp1252", "UNREADABLE_FILE"),
    ],
)
def test_a_profile_that_does_not_fit_the_file_quarantines_its_rows_and_loses_none(
    con, data, profile, text, encoding, reason
):
    profiles(data, {"distributor_id": "D1", **profile})
    report(data, "a.csv", text, encoding)
    stage_all(con, data)
    reasons = [
        r
        for (r,) in con.execute(
            "SELECT reason FROM quarantine WHERE source = 'fulfillment_reports'"
        ).fetchall()
    ]
    assert reasons == ([reason] if reason else [])
    assert rows_accounted_for(con, "fulfillment_reports")[0]


def test_a_byte_order_mark_decides_the_encoding(con, data):
    profiles(data, {"distributor_id": "D1", "encoding": "cp1252"})
    report(data, "a.csv", "\ufeff" + STANDARD.replace("S1", "Süd"))  # UTF-8 with its BOM
    report(data, "b.csv", "\ufeff" + STANDARD.replace("S1", "Süd"), "utf-16-le")  # UTF-16 with its BOM
    stage_all(con, data)
    assert quarantined(con, "fulfillment_reports") == []
    assert con.execute("SELECT DISTINCT defective_serial FROM stg_fulfillment_reports").fetchall() == [
        ("SÜD",)
    ]


def test_a_missing_worksheet_quarantines_the_workbook_naming_its_sheets(con, data):
    profiles(data, {"distributor_id": "D1", "sheet": "Claims"})
    target = data / "inbound/fulfillment_reports/D1/a.xlsx"
    target.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "example/data/inbound/fulfillment_reports/NORTHSTAR/2026-06.xlsx", target)
    stage_all(con, data)
    ((reason, detail),) = con.execute("SELECT reason, detail FROM quarantine").fetchall()
    assert reason == "UNREADABLE_FILE" and detail.startswith("no worksheet 'Claims' (the workbook has '")


@pytest.mark.parametrize("sheet", ["Claims", " claims ", "2"])
def test_the_sheet_is_found_by_name_in_any_case_or_by_number(con, data, sheet):
    profiles(data, {"distributor_id": "D1", "sheet": sheet, "header_row": "4"})
    shutil.copytree(
        PROFILES, data / "inbound/fulfillment_reports/D1", ignore=shutil.ignore_patterns("*.csv", "*.py")
    )
    stage_all(con, data)
    assert quarantined(con, "fulfillment_reports") == []
    assert con.execute("SELECT count(*), min(source_line) FROM stg_fulfillment_reports").fetchone() == (18, 5)


def test_a_changed_profile_stages_again_only_its_distributors_files(con, data):
    report(data, "a.csv", GERMAN)
    report(data, "b.csv", GERMAN)
    report(data, "c.csv", STANDARD, distributor="D2")
    assert stage_all(con, data).files_staged == 3
    assert len(quarantined(con, "fulfillment_reports")) == 2
    assert stage_all(con, data).files_staged == 0

    profiles(data, {"distributor_id": "D1", "delimiter": ";", "decimal": ",", "thousands": ".",
                    "date_format": "DD.MM.YYYY"})  # fmt: skip
    again = stage_all(con, data)
    assert (again.files_staged, again.rebuilt) == (2, False)
    assert quarantined(con, "fulfillment_reports") == []
    assert loaded(con) == [
        ("D1", 2, "R-1", dt.date(2026, 5, 4), 1234.5),
        ("D1", 2, "R-1", dt.date(2026, 5, 4), 1234.5),
        ("D2", 2, "R-1", dt.date(2026, 5, 4), 1234.5),
    ]
    assert stage_all(con, data).files_staged == 0
    aliases(data, ("D2", "Amount", "claimed_amount"))  # D2's aliases change D2's files only
    assert stage_all(con, data).files_staged == 1
    (data / "reference/report_profiles.csv").unlink()
    assert stage_all(con, data).files_staged == 2
    assert len(quarantined(con, "fulfillment_reports")) == 2


def test_a_file_that_does_not_fit_its_profile_says_so_in_its_quarantine(con, data):
    profiles(data, {"distributor_id": "D1", "delimiter": ";"}, {"distributor_id": "D2", "header_row": "9"})
    report(data, "a.csv", STANDARD)
    report(data, "b.csv", STANDARD, distributor="D2")
    stage_all(con, data)
    assert con.execute("SELECT source_file, reason, detail FROM quarantine ORDER BY ALL").fetchall() == [
        (
            "inbound/fulfillment_reports/D1/a.csv",
            "MISSING_COLUMN:rma_number",
            "header has no 'rma_number' column (the file looks comma-separated, but the distributor's "
            "profile in reference/report_profiles.csv says semicolon)",
        ),
        (
            "inbound/fulfillment_reports/D2/b.csv",
            "UNREADABLE_FILE",
            "no header row at or after line 9 (its profile's header_row)",
        ),
    ]


def test_only_a_distributors_unreadable_report_points_to_the_profiles(con, data):
    report(data, "a.csv", STANDARD.replace("S1", "Süd"), "cp1252")
    portal = data / "inbound/rma_cases/portal.csv"
    portal.parent.mkdir(parents=True)
    portal.write_bytes("rma_number,updated_at\nR-1,Süd\n".encode("cp1252"))
    stage_all(con, data)
    stage_source(con, data, SOURCES["rma_cases"])
    assert con.execute("SELECT source, reason, detail FROM quarantine ORDER BY source").fetchall() == [
        (
            "fulfillment_reports",
            "UNREADABLE_FILE",
            "not UTF-8 text (byte 91) (if it is Windows-1252, set encoding cp1252: describe the "
            "distributor's format in reference/report_profiles.csv)",
        ),
        ("rma_cases", "UNREADABLE_FILE", "not UTF-8 text (byte 27)"),
    ]
