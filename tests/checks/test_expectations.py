"""The Great Expectations suites: they pass on good data and fail, with examples, on bad data."""

import pytest

from checks.expectations import validate_suite
from checks.quality import SUITE_NAMES, read_references
from checks.suites import WARN, build_suites

def run(con, name):
    return validate_suite(con, build_suites(read_references(con))[name], "2026-Q2")


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_every_suite_passes_on_the_worked_example(example_q2, name):
    result = run(example_q2, name)
    assert result.passed, result.summary
    assert result.rows > 0


def test_duplicate_receipt_ids_fail_with_examples(example_q2):
    example_q2.execute("INSERT INTO stg_receiving_logs SELECT * FROM stg_receiving_logs WHERE receipt_id = 'RC-0001'")
    result = run(example_q2, "receiving_logs")
    assert result.blocking
    [problem] = result.problems
    assert (problem.expectation, problem.target, problem.unexpected_count) == ("ExpectColumnValuesToBeUnique", "receipt_id", 2)
    assert problem.examples[0] == "RC-0001"
    assert "receipt_id" in result.summary


def test_negative_credit_blocks(example_q2):
    example_q2.execute("UPDATE claim_outcomes SET credit_amount = -1 WHERE outcome = 'credited' AND rma_number = 'R26-0101'")
    result = run(example_q2, "claim_outcomes")
    assert result.blocking
    assert {p.expectation for p in result.problems} == {"ExpectColumnValuesToBeBetween"}


def test_credit_on_a_held_claim_blocks(example_q2):
    example_q2.execute("UPDATE claim_outcomes SET credit_amount = 1 WHERE outcome = 'held'")
    result = run(example_q2, "claim_outcomes")
    assert [p.target for p in result.problems] == ["credit_amount_matches_outcome"]


def test_money_stored_as_float_is_a_type_problem(example_q2):
    example_q2.execute("ALTER TABLE stg_price_list ALTER unit_credit TYPE DOUBLE")
    result = run(example_q2, "price_list")
    assert any(p.expectation == "column type" and p.target == "unit_credit" for p in result.problems)


def test_implausible_dates_only_warn(example_q2):
    example_q2.execute("UPDATE stg_receiving_logs SET received_at = TIMESTAMP '1999-12-31 00:00:00' WHERE receipt_id = 'RC-0001'")
    result = run(example_q2, "receiving_logs")
    assert not result.passed and not result.blocking
    assert [p.severity for p in result.problems] == [WARN]


def test_unknown_distributor_in_claims_blocks(example_q2):
    example_q2.execute("UPDATE stg_fulfillment_reports SET distributor_id = 'GHOST' WHERE source_line = 2")
    result = run(example_q2, "fulfillment_reports")
    assert result.blocking and result.problems[0].unexpected_count == 4
    assert set(result.problems[0].examples) == {"GHOST"}


@pytest.mark.parametrize("name", ["receiving_logs", "fulfillment_reports", "rma_cases"])
def test_validating_in_chunks_finds_exactly_what_one_frame_finds(example_q2, name):
    example_q2.execute("INSERT INTO stg_receiving_logs SELECT * FROM stg_receiving_logs WHERE receipt_id = 'RC-0001'")
    example_q2.execute("UPDATE stg_fulfillment_reports SET distributor_id = 'GHOST' WHERE source_line = 2")
    example_q2.execute("INSERT INTO stg_rma_cases SELECT * FROM stg_rma_cases LIMIT 3")
    example_q2.execute("UPDATE stg_rma_cases SET diagnosis = 'broken' WHERE rma_number LIKE '%1'")
    suite = build_suites(read_references(example_q2))[name]
    whole = validate_suite(example_q2, suite, "2026-Q2", chunk_rows=1_000_000)
    chunked = validate_suite(example_q2, suite, "2026-Q2", chunk_rows=3)
    assert not whole.passed and whole.rows == chunked.rows
    assert [(p.expectation, p.target, p.unexpected_count, sorted(p.examples)) for p in chunked.problems] == [
        (p.expectation, p.target, p.unexpected_count, sorted(p.examples)) for p in whole.problems
    ]
