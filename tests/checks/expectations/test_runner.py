"""The Great Expectations suites: they pass on good data and fail, with examples, on bad data."""

import dataclasses
import gc
import tempfile
import weakref
from pathlib import Path

import pandas as pd
import pytest

from checks.expectations import runner
from checks.expectations.gx import EXAMPLES, frame_problems
from checks.expectations.runner import Expectations
from checks.expectations.suites import SUITE_NAMES, WARN, Expect, Suite, build_suites, read_references
from checks.expectations.validator import write_parquet
from core.files import temp_folder_prefix

validate_suite = Expectations().validate_suite  # in this process, as in the UI's runs


def run(con, name):
    return validate_suite(con, build_suites(read_references(con))[name], "2026-Q2")


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_every_suite_passes_on_the_worked_example(example_q2, name):
    result = run(example_q2, name)
    assert result.passed, result.summary
    assert result.rows > 0


def test_duplicate_receipt_ids_fail_with_examples(example_q2):
    example_q2.execute(
        "INSERT INTO stg_receiving_logs SELECT * FROM stg_receiving_logs WHERE receipt_id = 'RC-0001'"
    )
    result = run(example_q2, "receiving_logs")
    assert result.blocking
    [problem] = result.problems
    assert (problem.expectation, problem.target, problem.unexpected_count) == (
        "ExpectColumnValuesToBeUnique",
        "receipt_id",
        2,
    )
    assert problem.examples[0] == "RC-0001"
    assert "receipt_id" in result.summary


def test_negative_credit_blocks(example_q2):
    example_q2.execute(
        "UPDATE claim_outcomes SET credit_amount = -1 WHERE outcome = 'credited' AND rma_number = 'R26-0101'"
    )
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
    example_q2.execute(
        "UPDATE stg_receiving_logs SET received_at = TIMESTAMP '1999-12-31 00:00:00' "
        "WHERE receipt_id = 'RC-0001'"
    )
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
    example_q2.execute(
        "INSERT INTO stg_receiving_logs SELECT * FROM stg_receiving_logs WHERE receipt_id = 'RC-0001'"
    )
    example_q2.execute("UPDATE stg_fulfillment_reports SET distributor_id = 'GHOST' WHERE source_line = 2")
    example_q2.execute("INSERT INTO stg_rma_cases SELECT * FROM stg_rma_cases LIMIT 3")
    example_q2.execute("UPDATE stg_rma_cases SET diagnosis = 'broken' WHERE rma_number LIKE '%1'")
    suite = build_suites(read_references(example_q2))[name]
    whole = validate_suite(example_q2, suite, "2026-Q2", chunk_rows=1_000_000, memo=False)
    chunked = validate_suite(example_q2, suite, "2026-Q2", chunk_rows=3, memo=False)
    assert not whole.passed and whole.rows == chunked.rows
    assert comparable(chunked) == comparable(whole)


def test_chunks_of_consecutive_rows_show_the_frames_first_unexpected_rows(example_q2, monkeypatch):
    """More unexpected rows than examples, over many chunks: the examples are those of the whole
    frame, in its order, and the rows were written once for all the chunks."""
    example_q2.execute("UPDATE stg_rma_cases SET diagnosis = 'broken:' || rma_number")
    suite = build_suites(read_references(example_q2))["rma_cases"]
    whole = validate_suite(example_q2, suite, "2026-Q2", chunk_rows=1_000_000, memo=False)
    writes = []
    monkeypatch.setattr(runner, "write_parquet", lambda *args: writes.append(args[1]) or write_parquet(*args))
    folders = set(Path(tempfile.gettempdir()).glob(f"{temp_folder_prefix('gx')}*"))
    chunked = validate_suite(example_q2, suite, "2026-Q2", chunk_rows=2, memo=False)
    [broken] = [p for p in whole.problems if p.target == "diagnosis"]
    assert broken.unexpected_count > EXAMPLES * 2
    assert chunked.problems == whole.problems
    assert len(writes) == 1  # the per-row expectations' rows; the uniqueness has no duplicates here
    assert set(Path(tempfile.gettempdir()).glob(f"{temp_folder_prefix('gx')}*")) == folders  # removed


def test_a_failure_after_the_rows_are_written_removes_their_file(example_q2, monkeypatch):
    suite = build_suites(read_references(example_q2))["rma_cases"]
    folders = set(Path(tempfile.gettempdir()).glob(f"{temp_folder_prefix('gx')}*"))

    def fail(*args):  # the uniqueness's answer, asked for after the per-row rows were written
        raise RuntimeError("Great Expectations failed")

    monkeypatch.setattr(Expectations, "_collect", fail)
    with pytest.raises(RuntimeError, match="Great Expectations failed"):
        Expectations().validate_suite(example_q2, suite, "2026-Q2", chunk_rows=2, memo=False)
    assert set(Path(tempfile.gettempdir()).glob(f"{temp_folder_prefix('gx')}*")) == folders


def test_uniqueness_on_the_duplicated_keys_counts_what_the_whole_frame_counts(con):
    con.execute("CREATE TABLE keys (a VARCHAR, b INTEGER)")
    con.execute("""INSERT INTO keys VALUES ('x', 1), ('x', 1), ('x', 2), ('y', NULL), ('y', NULL),
        (NULL, NULL), (NULL, NULL), (NULL, 3), ('z', 4), (NULL, 5), (NULL, 5)""")
    suite = Suite(
        "keys",
        "keys",
        "SELECT a, b FROM keys",
        {},
        "a",
        [
            Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["a", "b"]}),
            Expect("ExpectColumnValuesToBeUnique", {"column": "a"}, WARN),
            Expect("ExpectColumnValuesToBeUnique", {"column": "b"}),
        ],
    )
    whole = frame_problems(con.execute(suite.sql).df(), "keys", list(enumerate(suite.expectations)))
    result = validate_suite(con, suite)
    assert result.rows == 11
    assert [(p.unexpected_count, sorted(p.examples)) for p in result.problems] == [
        (count, sorted(examples)) for _, count, examples in sorted(whole)
    ]
    assert [p.unexpected_count for p in result.problems] == [whole[0][1], 5, whole[2][1]]


def memo_state(con, name):
    return con.execute("SELECT count(*) FROM suite_batches WHERE suite = ?", [name]).fetchone()[0]


def comparable(result):
    """The problems; their examples only where all fit, since which ones are shown depends on row order."""
    return [
        (
            p.expectation,
            p.target,
            p.unexpected_count,
            sorted(p.examples) if p.unexpected_count <= EXAMPLES else len(p.examples),
        )
        for p in result.problems
    ]


@pytest.mark.parametrize("name", ["receiving_logs", "fulfillment_reports", "rma_cases"])
def test_unchanged_files_are_not_validated_again_and_keep_their_failures(example_q2, name):
    example_q2.execute("UPDATE stg_fulfillment_reports SET distributor_id = 'GHOST' WHERE source_line = 2")
    example_q2.execute("UPDATE stg_rma_cases SET diagnosis = 'broken' WHERE rma_number LIKE '%1'")
    example_q2.execute(
        "UPDATE stg_receiving_logs SET received_at = TIMESTAMP '1999-12-31 00:00:00' "
        "WHERE receipt_id = 'RC-0001'"
    )
    suite = build_suites(read_references(example_q2))[name]
    first = validate_suite(example_q2, suite)
    again = validate_suite(example_q2, suite)
    assert not first.passed and first.rows_revalidated == first.rows > 0
    assert again.rows_revalidated == 0 and again.rows == first.rows
    assert comparable(again) == comparable(first) == comparable(validate_suite(example_q2, suite, memo=False))


def test_a_changed_file_is_validated_again_with_its_batch(example_q2):
    suite = build_suites(read_references(example_q2))["fulfillment_reports"]
    assert validate_suite(example_q2, suite).passed
    example_q2.execute("""UPDATE stg_fulfillment_reports SET claimed_amount = -1
        WHERE source_file = (SELECT min(source_file) FROM stg_fulfillment_reports) AND source_line = 2""")
    changed = validate_suite(example_q2, suite)
    assert (
        changed.blocking and changed.rows_revalidated == changed.rows
    )  # the files were validated as one batch
    assert comparable(changed) == comparable(validate_suite(example_q2, suite, memo=False))
    assert memo_state(example_q2, "fulfillment_reports") == 1
    example_q2.execute("UPDATE stg_fulfillment_reports SET claimed_amount = 1 WHERE claimed_amount = -1")
    assert validate_suite(example_q2, suite).passed


def test_new_files_are_validated_alone_and_added_to_what_was_kept(example_q2):
    suite = build_suites(read_references(example_q2))["receiving_logs"]
    before = validate_suite(example_q2, suite)
    example_q2.execute("""INSERT INTO stg_receiving_logs BY NAME SELECT * REPLACE (
        'inbound/receiving_logs/later.csv' AS source_file, receipt_id || '-LATER' AS receipt_id,
        NULL AS serial_number)
        FROM stg_receiving_logs""")
    after = validate_suite(example_q2, suite)
    assert after.rows == 2 * before.rows and after.rows_revalidated == before.rows
    assert [p.unexpected_count for p in after.problems] == [before.rows]
    assert memo_state(example_q2, "receiving_logs") == 2


def test_other_expectations_validate_again(example_q2):
    suite = build_suites(read_references(example_q2))["fulfillment_reports"]
    rows = validate_suite(example_q2, suite).rows
    fewer = dataclasses.replace(suite, expectations=suite.expectations[:-1])
    assert validate_suite(example_q2, fewer).rows_revalidated == rows
    assert validate_suite(example_q2, fewer).rows_revalidated == 0


def test_duplicate_examples_come_in_key_order(example_q2):
    for receipt_id in ("RC-0005", "RC-0003", "RC-0001"):
        example_q2.execute(
            "INSERT INTO stg_receiving_logs SELECT * FROM stg_receiving_logs "
            f"WHERE receipt_id = '{receipt_id}'"
        )
    [problem] = run(example_q2, "receiving_logs").problems
    assert problem.examples == ["RC-0001", "RC-0001", "RC-0003", "RC-0003", "RC-0005"]


def test_a_validated_frame_is_not_kept():
    # GX would keep each data asset's last frame for the process's lifetime (hundreds of MiB at 1M).
    frame = pd.DataFrame({"rma_number": ["R1", None]})
    expectations = [(0, Expect("ExpectColumnValuesToNotBeNull", {"column": "rma_number"}))]
    assert frame_problems(frame, "kept_frames", expectations) == [(0, 1, ["nan"])]
    alive = weakref.ref(frame)
    del frame
    gc.collect()
    assert alive() is None
