"""Credit memo numbers and the journal (rulebook §7.2, §7.3)."""

from decimal import Decimal

from assets.statements.ledger import build_journal, journal_problems, next_credit_memos
from core.quarters import Quarter

Q2 = Quarter(2026, 2)
ACCOUNTS = {"warranty_expense": "5400", "credits_payable": "2100", "accrued_liability": "2150"}


def test_memo_numbers_follow_the_last_one_in_byte_order(example_q2):
    example_q2.execute("UPDATE distributor_credits SET credit_total = 5.00 WHERE distributor_id = 'EUROPA-1'")
    example_q2.execute("INSERT INTO credit_memos VALUES ('CM-000041', '2026-Q1', 'X', 'USD', 1.00)")
    assert next_credit_memos(example_q2, Q2) == {"EUROPA-1": "CM-000042", "NORTHSTAR": "CM-000043"}


def test_a_distributor_without_credit_gets_no_memo(example_q2):
    assert next_credit_memos(example_q2, Q2) == {"NORTHSTAR": "CM-000001"}


def test_the_journal_balances_and_adds_up(example_q2):
    journal = build_journal(example_q2, Q2, {"NORTHSTAR": "CM-000001"}, ACCOUNTS)
    credits = {"NORTHSTAR": Decimal("169.99"), "EUROPA-1": Decimal("0.00")}
    assert journal_problems(journal, credits) == []
    unbalanced = journal.replace(b",240.00,,,", b",240.01,,,", 1)
    assert journal_problems(unbalanced, credits) == ["entry 2026-Q2-accrual-NORTHSTAR in USD is off by 0.01"]
    assert journal_problems(journal, {**credits, "NORTHSTAR": Decimal("170.00")}) == [
        "NORTHSTAR: credit memo entries 169.99, distributor_credits 170.00"
    ]


def test_a_distributor_id_like_a_formula_is_text_in_the_journal(example_q2):
    example_q2.execute(
        "UPDATE distributor_credits SET distributor_id = '=CMD()' WHERE distributor_id = 'NORTHSTAR'"
    )
    example_q2.execute(
        "UPDATE stg_distributors SET distributor_id = '=CMD()' WHERE distributor_id = 'NORTHSTAR'"
    )
    example_q2.execute(
        "UPDATE claim_outcomes SET distributor_id = '=CMD()' WHERE distributor_id = 'NORTHSTAR'"
    )
    journal = build_journal(example_q2, Q2, {"=CMD()": "CM-000001"}, ACCOUNTS).decode()
    assert "2026-Q2-credit_memo-'=CMD()" in journal and ",'=CMD(),USD," in journal
    assert journal_problems(journal.encode(), {"=CMD()": Decimal("169.99")}) == []
