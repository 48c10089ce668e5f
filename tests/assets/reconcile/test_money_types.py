"""Money is DECIMAL(18,2) in every table and every step between them: a DOUBLE anywhere would
round, and the public columns would hide it by casting back (and Decimal("5.50") == 5.5 in Python)."""

import datetime as dt
import re

from assets.reconcile.rules import ACCRUED_LIABILITY_SQL, RunParameters, compute_quarter
from core.quarters import Quarter

MONEY_NAME = re.compile(r"amount|unit_credit|credit_total|liability|^debit$|^credit$|_total$")
KNOWN_MONEY = {
    ("stg_fulfillment_reports", "claimed_amount"),
    ("stg_price_list", "unit_credit"),
    ("claim_outcomes", "credit_amount"),
    ("claim_outcomes", "claimed_amount"),
    ("claim_outcomes", "amount_variance"),
    ("distributor_credits", "credit_total"),
    ("quarter_claim_outcomes", "amount_variance"),
    ("quarter_distributor_credits", "credit_total"),
}


def test_every_money_column_of_every_table_and_step_is_decimal_18_2(example_q2):
    con = example_q2
    compute_quarter(con, RunParameters(Quarter(2026, 2), dt.date(2026, 6, 30)))  # the temp steps
    columns = con.execute(
        """SELECT c.table_name, c.column_name, c.data_type
        FROM duckdb_columns() c JOIN duckdb_tables() t USING (database_name, schema_name, table_name)"""
    ).fetchall()
    floats = [(table, column, kind) for table, column, kind in columns if kind in ("FLOAT", "DOUBLE", "REAL")]
    assert floats == []
    money = {(table, column): kind for table, column, kind in columns if MONEY_NAME.search(column)}
    assert set(money) >= KNOWN_MONEY  # the search finds the columns it is meant to
    assert {key: kind for key, kind in money.items() if kind != "DECIMAL(18,2)"} == {}


def test_the_accrued_liability_query_is_decimal_18_2(example_q2):
    described = example_q2.execute(f"DESCRIBE ({ACCRUED_LIABILITY_SQL})", {"quarter": "2026-Q2"}).fetchall()
    assert ("accrued_liability", "DECIMAL(18,2)") in [(row[0], row[1]) for row in described]
