"""The claim rules of rulebook §3 written the straightforward pandas way, to compare with the SQL.

Reads the same staged tables as `assets.reconcile.rules` and returns one row per claim in scope:
source_file, source_line, outcome, reason, credit_amount (text, so money compares exactly).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from core.quarters import Quarter, cutoff_of

# The rulebook's outcome of each reason (§3), written out, not taken from CLAIM_RULES: the race must
# be able to catch a rule table that gives a reason the wrong outcome.
OUTCOME_OF = {
    "CASE_QUARANTINED": "held",
    "UNKNOWN_RMA": "rejected",
    "NOT_DISTRIBUTOR_CHANNEL": "rejected",
    "WRONG_DISTRIBUTOR": "rejected",
    "RMA_CANCELLED": "rejected",
    "SERIAL_MISMATCH": "rejected",
    "NOT_DEFECTIVE": "rejected",
    "OUT_OF_WARRANTY": "rejected",
    "PENDING_VALIDATION": "held",
    "FULFILLED_BEFORE_RMA": "rejected",
    "ALREADY_CREDITED": "rejected",
    "DUPLICATE_CLAIM": "rejected",
    "AWAITING_RETURN": "held",
    "NO_PRICE": "held",
    "CREDITED": "credited",
}


def load_inputs(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> dict[str, pd.DataFrame]:
    """The tables the rules read, as DataFrames (money as text: pandas has no exact decimal)."""
    return {
        "cases": con.execute(
            """SELECT source_file, source_line, rma_number, updated_at, opened_at, channel, distributor_id,
                serial_number, warranty_end, diagnosis, diagnosed_at, return_required, status, product_sku
            FROM stg_rma_cases"""
        ).df(),
        "receipts": con.execute("SELECT rma_number, serial_number, received_at FROM stg_receiving_logs").df(),
        "claims": con.execute(
            "SELECT source_file, source_line, distributor_id, rma_number, fulfilled_on, defective_serial "
            "FROM stg_fulfillment_reports"
        ).df(),
        "distributors": con.execute("SELECT distributor_id, currency FROM stg_distributors").df(),
        "prices": con.execute(
            "SELECT source_file, source_line, sku, currency, CAST(unit_credit AS VARCHAR) AS unit_credit, "
            "valid_from, valid_to FROM stg_price_list"
        ).df(),
        "quarantined_cases": con.execute(
            """SELECT rma_number, source_line = 0 OR reason = 'MISSING_COLUMN:rma_number' AS whole_file
            FROM quarantine WHERE source = 'rma_cases'"""
        ).df(),
        "closed_final": con.execute(
            """SELECT source_file, source_line, rma_number, outcome FROM claim_outcomes
            WHERE outcome IN ('credited', 'rejected')
                AND quarter IN (SELECT quarter FROM quarter_runs WHERE state = 'closed' AND quarter < ?)""",
            [str(quarter)],
        ).df(),
    }


def claim_outcomes(inputs: dict[str, pd.DataFrame], as_of: dt.date) -> pd.DataFrame:
    cutoff = pd.Timestamp(cutoff_of(as_of))
    as_of_day = pd.Timestamp(as_of)

    cases = inputs["cases"]
    cases = cases[cases["updated_at"] <= cutoff]
    cases = cases.sort_values(["rma_number", "updated_at", "source_file", "source_line"]).drop_duplicates(
        "rma_number", keep="last"
    )
    cases = cases.drop(columns=["source_file", "source_line"])
    cases["in_warranty"] = cases["opened_at"].dt.normalize() <= cases["warranty_end"]

    receipts = inputs["receipts"]
    receipts = receipts[receipts["received_at"] <= cutoff]
    returns = (
        cases[["rma_number", "serial_number"]]
        .merge(receipts, on=["rma_number", "serial_number"])
        .groupby("rma_number", as_index=False)["received_at"]
        .min()
    )

    closed = inputs["closed_final"]
    claims = inputs["claims"].merge(inputs["distributors"], on="distributor_id")
    claims = claims[claims["fulfilled_on"] <= as_of_day]
    claims = claims.merge(
        closed[["source_file", "source_line"]], on=["source_file", "source_line"], how="left", indicator=True
    )
    claims = claims[claims["_merge"] == "left_only"].drop(columns="_merge")

    prices = inputs["prices"]
    priced = (
        claims[["source_file", "source_line", "rma_number", "currency", "fulfilled_on"]]
        .merge(cases[["rma_number", "product_sku"]], on="rma_number")
        .merge(
            prices, left_on=["product_sku", "currency"], right_on=["sku", "currency"], suffixes=("", "_price")
        )
    )
    priced = priced[
        (priced["valid_from"] <= priced["fulfilled_on"])
        & (priced["valid_to"].isna() | (priced["fulfilled_on"] <= priced["valid_to"]))
    ]
    priced = priced.sort_values(
        ["source_file", "source_line", "valid_from", "source_file_price", "source_line_price"]
    )
    priced = priced.drop_duplicates(["source_file", "source_line"], keep="last")[
        ["source_file", "source_line", "unit_credit"]
    ]

    facts = (
        claims.merge(cases.add_prefix("case_"), left_on="rma_number", right_on="case_rma_number", how="left")
        .merge(returns, on="rma_number", how="left")
        .merge(priced, on=["source_file", "source_line"], how="left")
    )
    known = facts["case_rma_number"].notna()
    quarantined = inputs["quarantined_cases"]
    may_be_quarantined = facts["rma_number"].isin(quarantined["rma_number"].dropna()) | bool(
        quarantined["whole_file"].any()
    )
    credited_before = facts["rma_number"].isin(closed.loc[closed["outcome"] == "credited", "rma_number"])
    early_rules = [
        ("CASE_QUARANTINED", ~known & may_be_quarantined),
        ("UNKNOWN_RMA", ~known),
        ("NOT_DISTRIBUTOR_CHANNEL", facts["case_channel"] == "direct"),
        (
            "WRONG_DISTRIBUTOR",
            facts["case_distributor_id"].isna() | (facts["case_distributor_id"] != facts["distributor_id"]),
        ),
        ("RMA_CANCELLED", facts["case_status"] == "cancelled"),
        ("SERIAL_MISMATCH", facts["defective_serial"] != facts["case_serial_number"]),
        ("NOT_DEFECTIVE", facts["case_diagnosis"].isin(["no_fault_found", "not_covered"])),
        ("OUT_OF_WARRANTY", facts["case_in_warranty"] == False),  # noqa: E712 (NA is not False)
        (
            "PENDING_VALIDATION",
            (facts["case_diagnosis"] == "pending") | (facts["case_diagnosed_at"] > cutoff),
        ),
        ("FULFILLED_BEFORE_RMA", facts["fulfilled_on"] < facts["case_opened_at"].dt.normalize()),
        ("ALREADY_CREDITED", credited_before),
    ]
    reason = pd.Series(
        np.select(
            [condition.fillna(False).to_numpy(bool) for _, condition in early_rules],
            [name for name, _ in early_rules],
            default="",
        ),
        index=facts.index,
    )
    standing = facts[reason == ""].sort_values(["fulfilled_on", "source_file", "source_line"])
    duplicates = standing.index[standing.duplicated("rma_number", keep="first")]
    reason[duplicates] = "DUPLICATE_CLAIM"
    open_claims = reason == ""
    awaiting = open_claims & (facts["case_return_required"] == True) & facts["received_at"].isna()  # noqa: E712
    reason[awaiting] = "AWAITING_RETURN"
    no_price = (reason == "") & facts["unit_credit"].isna()
    reason[no_price] = "NO_PRICE"
    reason[reason == ""] = "CREDITED"

    result = facts[["source_file", "source_line"]].copy()
    result["reason"] = reason
    result["outcome"] = reason.map(OUTCOME_OF)
    result["credit_amount"] = facts["unit_credit"].where(reason == "CREDITED")
    return result.sort_values(["source_file", "source_line"]).reset_index(drop=True)
