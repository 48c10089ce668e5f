"""The validator process: the same findings as validating in-process, and a fallback when it dies."""

import dataclasses
import logging
import os

import pytest

from checks.expectations import validate_suite, validating_in
from checks.quality import SUITE_NAMES, read_references
from checks.suites import Expect, build_suites
from checks.validator import ValidatorProcess, start_if_useful

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
    with validating_in(validator):
        return {
            name: validate_suite(con, suite, "2026-Q2", memo=False)
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
    broken = {"receiving_logs", "rma_cases", "fulfillment_reports", "claim_outcomes", "distributors", "price_list"}
    assert failed == (set() if damage == "clean" else broken)
    assert os.listdir(validator._folder) == []  # every chunk file removed


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
    with validating_in(validator), pytest.raises(RuntimeError, match="suite price_list: AttributeError"):
        validate_suite(example_q2, broken, memo=False)


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


def test_close_stops_the_process_and_removes_its_folder():
    process = ValidatorProcess()
    process.close()
    assert not process._process.is_alive()
    assert not os.path.exists(process._folder)


def test_no_validator_where_dagster_is_loaded_already():
    assert start_if_useful() is None  # pytest loaded Dagster: GX is imported once, here
