"""The validator process: the same findings as validating in-process, and a fallback when it dies."""

import dataclasses
import logging
import os
import tempfile
from pathlib import Path

import pytest

from checks.expectations.runner import Expectations
from checks.expectations.suites import SUITE_NAMES, Expect, build_suites, read_references
from checks.expectations.validator import ValidatorProcess, start_if_useful
from core.files import temp_folder_prefix

# Each test here waits on a process that imports Great Expectations: seconds, not milliseconds.
pytestmark = pytest.mark.slow

DAMAGE = {
    "clean": [],
    "broken": [
        "INSERT INTO stg_receiving_logs SELECT * FROM stg_receiving_logs WHERE receipt_id = 'RC-0001'",
        "UPDATE stg_rma_cases SET channel = 'fax' WHERE rma_number = 'R26-0101'",
        "UPDATE stg_fulfillment_reports SET distributor_id = 'GHOST' WHERE source_line = 2",
        "UPDATE claim_outcomes SET credit_amount = -1 WHERE outcome = 'credited' AND rma_number = 'R26-0101'",
        "UPDATE stg_distributors SET currency = 'euro' WHERE distributor_id = 'EUROPA-1'",
    ],
}


@pytest.fixture(scope="module")
def validator():
    process = ValidatorProcess()
    yield process
    process.close()


def results(con, validator=None):
    expectations = Expectations(validator)
    return {
        name: expectations.validate_suite(con, suite, "2026-Q2", memo=False)
        for name, suite in build_suites(read_references(con)).items()
    }


@pytest.mark.parametrize("damage", DAMAGE)
def test_the_validator_finds_what_this_process_finds(example_q2, validator, damage):
    for statement in DAMAGE[damage]:
        example_q2.execute(statement)
    here, there = results(example_q2), results(example_q2, validator)
    assert there == here
    assert set(there) == set(SUITE_NAMES)
    failed = {name for name, result in there.items() if not result.passed}
    # The euro currency also leaves the EUR prices unused (price_list).
    broken = {
        "receiving_logs",
        "rma_cases",
        "fulfillment_reports",
        "claim_outcomes",
        "distributors",
        "price_list",
    }
    assert failed == (set() if damage == "clean" else broken)
    assert os.listdir(validator._folder) == []  # every chunk file removed


def test_chunks_of_one_written_file_find_what_this_process_finds(example_q2, validator):
    for statement in DAMAGE["broken"]:
        example_q2.execute(statement)
    example_q2.execute("UPDATE stg_rma_cases SET diagnosis = 'broken:' || rma_number")
    suites = build_suites(read_references(example_q2))
    for name in ("rma_cases", "receiving_logs", "fulfillment_reports"):
        here = Expectations().validate_suite(example_q2, suites[name], "2026-Q2", chunk_rows=2, memo=False)
        there = Expectations(validator).validate_suite(
            example_q2, suites[name], "2026-Q2", chunk_rows=2, memo=False
        )
        assert there == here and not there.passed
    assert os.listdir(validator._folder) == []
    # the files the chunks were cut from are removed too
    left = {str(folder) for folder in Path(tempfile.gettempdir()).glob(temp_folder_prefix("gx") + "*")}
    assert left == {validator._folder}


def test_a_dead_validator_leaves_the_checks_to_this_process(example_q2, caplog):
    dead = ValidatorProcess()
    dead._process.kill()
    dead._process.join()
    try:
        with caplog.at_level(logging.WARNING):
            assert results(example_q2, dead) == results(example_q2)
    finally:
        dead.close()
    assert "validating in this process from now on" in caplog.text


def test_an_error_in_the_validator_fails_the_check_with_its_message(example_q2, validator):
    suite = build_suites(read_references(example_q2))["price_list"]
    broken = dataclasses.replace(suite, expectations=[Expect("ExpectNoSuchThing", {"column": "sku"})])
    with pytest.raises(RuntimeError, match="suite price_list: AttributeError"):
        Expectations(validator).validate_suite(example_q2, broken, memo=False)


def test_a_temporary_folder_with_a_quote_in_its_name(example_q2, monkeypatch, tmp_path):
    folder = tmp_path / "it's here"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    quoted = ValidatorProcess()
    try:
        assert quoted._folder.startswith(str(folder))
        assert results(example_q2, quoted) == results(example_q2)
    finally:
        quoted.close()


def test_answers_are_kept_until_their_ticket_is_asked_for(example_q2, validator):
    not_null = [(0, Expect("ExpectColumnValuesToNotBeNull", {"column": "x"}))]
    tickets = [
        validator.submit(example_q2, "SELECT unnest(?) AS x", [values], "tickets", not_null)
        for values in ([1, None], [1, 2], [None, None, None])
    ]
    answers = [validator.answer(ticket) for ticket in reversed(tickets)]
    assert [[(index, count) for index, count, _ in answer] for answer in answers] == [[(0, 3)], [], [(0, 1)]]
    assert os.listdir(validator._folder) == []


class CountingValidator(ValidatorProcess):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def submit(self, con, sql, params, suite_name, expectations):
        self.sent.append(suite_name)
        return super().submit(con, sql, params, suite_name, expectations)


@pytest.fixture(scope="module")
def counting_process():
    process = CountingValidator()  # one process for the module: each start imports GX again
    yield process
    process.close()


@pytest.fixture
def counting(counting_process):
    counting_process.sent.clear()
    return counting_process


def memo_results(con, names, expectations=None, ahead=False):
    expectations = expectations or Expectations()
    suites = build_suites(read_references(con))
    if ahead:
        for name in names:
            expectations.validate_ahead(con, suites[name], "2026-Q2")
    return {name: expectations.validate_suite(con, suites[name], "2026-Q2") for name in names}


MEMO_SUITES = ["rma_cases", "receiving_logs", "fulfillment_reports"]
AHEAD_SUITES = [*MEMO_SUITES, "claim_outcomes", "sla_status"]  # kept by file, and validated whole


def test_rows_validated_ahead_are_not_sent_again(example_q2, counting):
    example_q2.execute("UPDATE stg_rma_cases SET channel = 'fax' WHERE rma_number = 'R26-0101'")
    example_q2.execute(
        "UPDATE claim_outcomes SET credit_amount = -1 WHERE outcome = 'credited' AND rma_number = 'R26-0101'"
    )
    here = memo_results(
        example_q2.cursor(), AHEAD_SUITES
    )  # its own connection: memo tables in memory are shared
    example_q2.execute("DROP TABLE suite_batches; DROP TABLE suite_batch_files")
    expectations = Expectations(counting)
    there = memo_results(example_q2, AHEAD_SUITES, expectations, ahead=True)
    assert there == here and not there["rma_cases"].passed and not there["claim_outcomes"].passed
    # Each suite's rows once, ahead; then only the uniqueness candidates of each (none here).
    assert counting.sent == AHEAD_SUITES
    assert expectations.pending_ahead == 0


@pytest.mark.parametrize(
    "name, change",
    [
        ("receiving_logs", "UPDATE stg_receiving_logs SET serial_number = NULL WHERE receipt_id = 'RC-0001'"),
        (
            "sla_status",
            "UPDATE sla_status SET days_late = -1 "
            "WHERE rma_number = (SELECT min(rma_number) FROM sla_status)",
        ),
    ],
)
def test_rows_changed_after_validating_ahead_are_validated_again(example_q2, counting, name, change):
    suite = build_suites(read_references(example_q2))[name]
    expectations = Expectations(counting)
    expectations.validate_ahead(example_q2, suite, "2026-Q2")
    example_q2.execute(change)
    result = expectations.validate_suite(example_q2, suite, "2026-Q2")
    assert [p.unexpected_count for p in result.problems] == [1]
    assert counting.sent == [name, name]


def test_a_validator_that_dies_after_validating_ahead_leaves_the_rows_to_this_process(example_q2, caplog):
    here = memo_results(example_q2.cursor(), AHEAD_SUITES)
    example_q2.execute("DROP TABLE suite_batches; DROP TABLE suite_batch_files")
    dying = ValidatorProcess()
    try:
        suites = build_suites(read_references(example_q2))
        expectations = Expectations(dying)
        with caplog.at_level(logging.WARNING):
            for name in AHEAD_SUITES:
                expectations.validate_ahead(example_q2, suites[name], "2026-Q2")
            dying._process.kill()
            dying._process.join()
            there = {
                name: expectations.validate_suite(example_q2, suites[name], "2026-Q2")
                for name in AHEAD_SUITES
            }
    finally:
        dying.close()
    assert there == here
    assert "validating in this process from now on" in caplog.text


def test_close_stops_the_process_and_removes_its_folder():
    process = ValidatorProcess()
    process.close()
    assert not process._process.is_alive()
    assert not os.path.exists(process._folder)


def test_no_validator_where_dagster_is_loaded_already():
    assert start_if_useful() is None  # pytest loaded Dagster: GX is imported once, here
