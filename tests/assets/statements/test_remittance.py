"""The remittance file (rulebook §7.5): one row per claim, the distributor's own codes, no formulas."""

import csv
import io

from assets.statements.remittance import REMITTANCE_COLUMNS, remittance_files, spreadsheet_safe
from core.quarters import Quarter


def rows(example_q2, memos=None):
    files = dict(remittance_files(example_q2, Quarter(2026, 2), memos or {"NORTHSTAR": "CM-000001"}))
    return {d: list(csv.reader(io.StringIO(content.decode()))) for d, content in files.items()}


def test_one_row_per_claim_in_file_and_line_order(example_q2):
    northstar = rows(example_q2)["NORTHSTAR"]
    assert northstar[0] == REMITTANCE_COLUMNS
    assert [(r[0].rsplit("/", 1)[1], int(r[1])) for r in northstar[1:]] == sorted(
        (r[0].rsplit("/", 1)[1], int(r[1])) for r in northstar[1:]
    )
    credited = [r for r in northstar[1:] if r[5] == "credited"]
    assert [(r[2], r[10], r[11], r[12]) for r in credited] == [
        ("R26-0101", "120.00", "USD", "CM-000001"),
        ("R26-0102", "49.99", "USD", "CM-000001"),
    ]
    assert all(r[12] == "" for r in northstar[1:] if r[5] != "credited")


def test_external_codes_come_from_the_reason_map(example_q2):
    example_q2.execute(
        "INSERT INTO stg_reason_code_map BY NAME SELECT 'NO_PRICE' AS reason, '=NP' AS external_code"
    )
    europa = rows(example_q2)["EUROPA-1"]
    no_price = [r for r in europa if r[6] == "NO_PRICE"]
    assert [r[7:9] for r in no_price] == [
        ["No credit price for the product in the distributor's currency", "'=NP"]
    ]


def test_text_that_would_start_a_formula_gets_an_apostrophe():
    assert [spreadsheet_safe(v) for v in ("=1+1", "+1", "-1", "@SUM", "\t=", "\r=", "plain", None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM",
        "'\t=",
        "'\r=",
        "plain",
        "",
    ]
