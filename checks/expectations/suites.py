"""Great Expectations suites, kept as code: one per staged source and per reconciliation output.

An expectation of severity "error" guards a number that reaches a statement: its failure
blocks the statements. "warn" marks what ops should look at while the run goes on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from assets.reconcile.rules import CLAIM_RULES

ERROR = "error"
WARN = "warn"
EARLIEST_PLAUSIBLE = dt.datetime(2000, 1, 1)
SLA_STATUSES = ["awaiting_return", "met", "breached", "at_risk", "open"]


@dataclass(frozen=True)
class Expect:
    expectation: str  # a GX 1.x expectation class name
    kwargs: dict[str, Any]
    severity: str = ERROR


@dataclass(frozen=True)
class References:
    """What the suites compare against, read from the warehouse at check time."""

    distributor_ids: list[str]
    currencies: list[str]
    today: dt.date

    @property
    def latest_plausible(self) -> dt.datetime:
        """The start of the 13th month from now: a year ahead, to a month's end. The bound moves
        once a month, so the results kept by file (runner.py) last that long."""
        months = self.today.year * 12 + self.today.month - 1 + 13
        return dt.datetime(months // 12, months % 12 + 1, 1)


@dataclass(frozen=True)
class Suite:
    name: str
    table: str
    sql: str  # the frame to validate; `?` is the quarter for partitioned tables
    columns: dict[str, str]  # column -> DuckDB type the table must have
    # Many rows with duplicated keys are validated in chunks by this column: one of every unique key's.
    chunk_by: str
    expectations: list[Expect] = field(default_factory=list)
    partitioned: bool = False
    # Per-row results kept by source_file, a column of the frame: only changed files are validated again.
    memo_by_file: bool = False


def _not_null(*columns: str, severity: str = ERROR) -> list[Expect]:
    return [Expect("ExpectColumnValuesToNotBeNull", {"column": c}, severity) for c in columns]


def _plausible(refs: References, *columns: str) -> list[Expect]:
    return [
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": c, "min_value": EARLIEST_PLAUSIBLE, "max_value": refs.latest_plausible},
            WARN,
        )
        for c in columns
    ]


def _in_set(column: str, values: list, severity: str = ERROR) -> Expect:
    return Expect("ExpectColumnValuesToBeInSet", {"column": column, "value_set": values}, severity)


def _always_true(column: str, severity: str = ERROR) -> Expect:
    return Expect("ExpectColumnValuesToBeInSet", {"column": column, "value_set": [True]}, severity)


def _non_negative(column: str, severity: str = ERROR) -> Expect:
    return Expect("ExpectColumnValuesToBeBetween", {"column": column, "min_value": 0}, severity)


def _unique(*columns: str, severity: str = ERROR) -> Expect:
    if len(columns) == 1:
        return Expect("ExpectColumnValuesToBeUnique", {"column": columns[0]}, severity)
    return Expect("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)}, severity)


def build_suites(refs: References) -> dict[str, Suite]:
    """Every suite by the name of the asset it guards."""
    suites = [
        Suite(
            "distributors",
            "stg_distributors",
            "SELECT source_file, distributor_id, currency FROM stg_distributors",
            {"distributor_id": "VARCHAR", "currency": "VARCHAR"},
            "distributor_id",
            [
                *_not_null("distributor_id", "currency"),
                _unique("distributor_id"),
                Expect("ExpectColumnValuesToMatchRegex", {"column": "currency", "regex": "^[A-Z]{3}$"}),
            ],
            memo_by_file=True,
        ),
        Suite(
            "price_list",
            "stg_price_list",
            """SELECT source_file, sku, currency, unit_credit, valid_from, valid_to,
                currency IN (SELECT currency FROM stg_distributors) AS currency_is_used
            FROM stg_price_list""",
            {
                "sku": "VARCHAR",
                "currency": "VARCHAR",
                "unit_credit": "DECIMAL(18,2)",
                "valid_from": "DATE",
                "valid_to": "DATE",
            },
            "sku",
            [
                *_not_null("sku", "currency", "unit_credit", "valid_from"),
                _non_negative("unit_credit"),
                Expect(
                    "ExpectColumnPairValuesAToBeGreaterThanB",
                    {
                        "column_A": "valid_to",
                        "column_B": "valid_from",
                        "or_equal": True,
                        "ignore_row_if": "either_value_is_missing",
                    },
                ),
                _always_true("currency_is_used", WARN),
            ],
            memo_by_file=True,
        ),
        Suite(
            "rma_cases",
            "stg_rma_cases",
            """SELECT source_file, rma_number, updated_at, opened_at, channel, serial_number, diagnosis,
                diagnosed_at, status,
                channel = 'direct' OR distributor_id IN (SELECT distributor_id FROM stg_distributors)
                    AS distributor_known,
                channel = 'direct' OR product_sku IN (SELECT sku FROM stg_price_list) AS sku_has_a_price
            FROM stg_rma_cases""",
            {
                "rma_number": "VARCHAR",
                "updated_at": "TIMESTAMP",
                "opened_at": "TIMESTAMP",
                "channel": "VARCHAR",
                "warranty_end": "DATE",
                "return_required": "BOOLEAN",
                "diagnosed_at": "TIMESTAMP",
                "resolved_at": "TIMESTAMP",
            },
            "rma_number",
            [
                *_not_null("rma_number", "updated_at", "opened_at", "channel", "serial_number", "status"),
                _unique(
                    "rma_number", "updated_at", severity=WARN
                ),  # ties are legal (the later line wins) but odd
                _in_set("channel", ["direct", "distributor"]),
                _in_set("diagnosis", ["pending", "defective", "no_fault_found", "not_covered"]),
                _in_set("status", ["open", "closed", "cancelled"]),
                _always_true("distributor_known"),
                _always_true("sku_has_a_price", WARN),
                *_plausible(refs, "updated_at", "opened_at", "diagnosed_at"),
            ],
            memo_by_file=True,
        ),
        Suite(
            "receiving_logs",
            "stg_receiving_logs",
            "SELECT source_file, receipt_id, rma_number, serial_number, received_at FROM stg_receiving_logs",
            {
                "receipt_id": "VARCHAR",
                "rma_number": "VARCHAR",
                "serial_number": "VARCHAR",
                "received_at": "TIMESTAMP",
            },
            "receipt_id",
            [
                *_not_null("receipt_id", "rma_number", "serial_number", "received_at"),
                _unique("receipt_id"),
                *_plausible(refs, "received_at"),
            ],
            memo_by_file=True,
        ),
        Suite(
            "fulfillment_reports",
            "stg_fulfillment_reports",
            """SELECT source_file, source_line, distributor_id, rma_number, fulfilled_on, claimed_amount
            FROM stg_fulfillment_reports""",
            {
                "source_file": "VARCHAR",
                "source_line": "INTEGER",
                "distributor_id": "VARCHAR",
                "rma_number": "VARCHAR",
                "fulfilled_on": "DATE",
                "claimed_amount": "DECIMAL(18,2)",
            },
            "source_file",
            [
                *_not_null("source_file", "source_line", "distributor_id", "rma_number", "fulfilled_on"),
                _unique("source_file", "source_line"),
                _in_set("distributor_id", refs.distributor_ids),
                _non_negative("claimed_amount"),
                *_plausible(refs, "fulfilled_on"),
            ],
            memo_by_file=True,
        ),
        Suite(
            "claim_outcomes",
            "claim_outcomes",
            """SELECT source_file, source_line, distributor_id, outcome, reason, credit_amount, currency,
                (outcome = 'credited') = (credit_amount IS NOT NULL) AS credit_amount_matches_outcome,
                (outcome = 'credited') = (due_quarter IS NOT NULL AND late IS NOT NULL)
                    AS due_quarter_matches_outcome,
                currency = (SELECT currency FROM stg_distributors d WHERE d.distributor_id = c.distributor_id)
                    AS currency_is_the_distributors
            FROM claim_outcomes c WHERE quarter = ?""",
            {
                "quarter": "VARCHAR",
                "credit_amount": "DECIMAL(18,2)",
                "claimed_amount": "DECIMAL(18,2)",
                "amount_variance": "DECIMAL(18,2)",
                "late": "BOOLEAN",
                "fulfilled_on": "DATE",
            },
            "source_file",
            [
                _unique("source_file", "source_line"),
                _in_set("outcome", ["credited", "held", "rejected"]),
                _in_set("reason", [rule.reason for rule in CLAIM_RULES]),
                _non_negative("credit_amount"),
                _always_true("credit_amount_matches_outcome"),
                _always_true("due_quarter_matches_outcome"),
                _always_true("currency_is_the_distributors"),
                _in_set("currency", refs.currencies),
            ],
            partitioned=True,
        ),
        Suite(
            "distributor_credits",
            "distributor_credits",
            "SELECT distributor_id, currency, credited_count, credit_total FROM distributor_credits "
            "WHERE quarter = ?",
            {"credit_total": "DECIMAL(18,2)", "credited_count": "INTEGER"},
            "distributor_id",
            [
                _unique("distributor_id"),
                _in_set("distributor_id", refs.distributor_ids),
                _non_negative("credit_total"),
                _non_negative("credited_count"),
            ],
            partitioned=True,
        ),
        Suite(
            "exceptions",
            "exceptions",
            "SELECT kind, source_file, source_line, rma_number FROM exceptions WHERE quarter = ?",
            {"source_line": "INTEGER"},
            "source_file",
            [
                _in_set("kind", ["UNMATCHED_RECEIPT", "RECEIPT_SERIAL_MISMATCH"], WARN),
                *_not_null("source_file", "source_line", severity=WARN),
                _unique("source_file", "source_line", severity=WARN),
            ],
            partitioned=True,
        ),
        Suite(
            "sla_status",
            "sla_status",
            """SELECT rma_number, status, days_late, incoterm,
                (status = 'awaiting_return') = (clock_start IS NULL) AS clock_matches_status
            FROM sla_status WHERE quarter = ?""",
            {"clock_start": "TIMESTAMP", "due_on": "DATE", "resolved_on": "DATE", "days_late": "INTEGER"},
            "rma_number",
            [
                _unique("rma_number", severity=WARN),
                _in_set("status", SLA_STATUSES, WARN),
                _in_set("incoterm", ["CIP", "DOMESTIC"], WARN),
                _non_negative("days_late", WARN),
                _always_true("clock_matches_status", WARN),
            ],
            partitioned=True,
        ),
    ]
    return {suite.name: suite for suite in suites}


def read_references(con) -> References:
    """The distributors and currencies staged now: what the suites compare against."""
    rows = con.execute(
        "SELECT distributor_id, currency FROM stg_distributors ORDER BY distributor_id"
    ).fetchall()
    return References([r[0] for r in rows], sorted({r[1] for r in rows}), dt.date.today())


SUITE_NAMES = list(build_suites(References([], [], dt.date(2000, 1, 1))))
