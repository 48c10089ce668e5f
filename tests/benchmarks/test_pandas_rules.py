"""The benchmark's pandas rules must agree with the SQL, or its race compares nothing."""

import datetime as dt

from assets.ingest.sources import SOURCES
from assets.ingest.staging import stage_source
from assets.reconcile.rules import RunParameters, compute_quarter
from benchmarks.pandas_rules import claim_outcomes, load_inputs
from core.quarters import Quarter
from synthetic.generate import generate_data
from tests.conftest import EXAMPLE_DATA

COLUMNS = "source_file, source_line, outcome, reason, CAST(credit_amount AS VARCHAR) AS credit_amount"


def sql_and_pandas(con, quarter: Quarter):
    compute_quarter(con, RunParameters(quarter, quarter.last_day))
    sql = con.execute(
        f"SELECT {COLUMNS} FROM quarter_claim_outcomes ORDER BY source_file, source_line"
    ).fetchall()
    frame = claim_outcomes(load_inputs(con, quarter), quarter.last_day)
    rows = [
        (f, int(line), outcome, reason, None if credit != credit or credit is None else credit)
        for f, line, reason, outcome, credit in frame[
            ["source_file", "source_line", "reason", "outcome", "credit_amount"]
        ].itertuples(index=False)
    ]
    return sql, rows


def stage_all(con, data):
    for name in ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports"):
        stage_source(con, data, SOURCES[name])


def test_pandas_rules_match_sql_on_the_worked_example(con):
    stage_all(con, EXAMPLE_DATA)
    sql, in_pandas = sql_and_pandas(con, Quarter(2026, 2))
    assert len(sql) == 14  # the example's 2026-Q2 rows in expected_claim_outcomes.csv
    assert in_pandas == sql


def test_pandas_rules_match_sql_on_generated_data_after_a_close(con, tmp_path):
    generate_data(tmp_path, seed=5, cases=600, distributors=4)
    stage_all(con, tmp_path)
    compute_quarter(con, RunParameters(Quarter(2026, 2), dt.date(2026, 6, 30)))
    con.execute("INSERT INTO claim_outcomes BY NAME SELECT * FROM quarter_claim_outcomes")
    con.execute("INSERT INTO quarter_runs (quarter, state, as_of) VALUES ('2026-Q2', 'closed', '2026-06-30')")
    sql, in_pandas = sql_and_pandas(con, Quarter(2026, 3))
    assert {row[3] for row in sql} >= {
        "CREDITED",
        "ALREADY_CREDITED",
        "DUPLICATE_CLAIM",
        "AWAITING_RETURN",
        "NO_PRICE",
    }
    assert in_pandas == sql


def test_the_race_counts_only_the_claims_that_differ():
    import pandas as pd

    from benchmarks.quarter_close import disagreements

    def frame(rows):
        return pd.DataFrame(
            rows, columns=["source_file", "source_line", "outcome", "reason", "credit_amount"]
        )

    sql = frame([("a.csv", 2, "credited", "CREDITED", "1.00"), ("a.csv", 3, "held", "NO_PRICE", None)])
    assert len(disagreements(sql, sql.copy())) == 0
    in_pandas = frame(
        [("a.csv", 2, "credited", "CREDITED", "1.00"), ("a.csv", 3, "rejected", "NO_PRICE", None)]
    )
    assert disagreements(sql, in_pandas)["source_line"].tolist() == [3]
    assert disagreements(sql, in_pandas.iloc[:1])["source_line"].tolist() == [3]  # missing on one side
