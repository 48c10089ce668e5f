"""Rulebook §3 and §4 as DuckDB SQL: claim outcomes, SLA status, exceptions, credits per quarter.

Each step is one statement over whole tables. `reconcile_quarter` computes a quarter into temp
tables and replaces that quarter's rows of the public tables in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from core.quarters import Quarter, cutoff_of
from core.warehouse import in_transaction, prepare


@dataclass(frozen=True)
class Rule:
    number: int
    reason: str
    outcome: str
    when: str  # SQL over claim_facts
    meaning: str


# The claim rules of §3, in order: the first that applies gives the claim its outcome.
CLAIM_RULES: tuple[Rule, ...] = (
    Rule(
        0,
        "CASE_QUARANTINED",
        "held",
        "case_rma_number IS NULL AND case_may_be_quarantined",
        "The RMA case may be among the input rows in quarantine; held until they are fixed",
    ),
    Rule(1, "UNKNOWN_RMA", "rejected", "case_rma_number IS NULL", "No RMA case with this number"),
    Rule(2, "NOT_DISTRIBUTOR_CHANNEL", "rejected", "channel = 'direct'", "The RMA is a direct-customer case"),
    Rule(
        3,
        "WRONG_DISTRIBUTOR",
        "rejected",
        "case_distributor_id IS DISTINCT FROM distributor_id",
        "The RMA belongs to another distributor",
    ),
    Rule(4, "RMA_CANCELLED", "rejected", "status = 'cancelled'", "The RMA case was cancelled"),
    Rule(
        5,
        "SERIAL_MISMATCH",
        "rejected",
        "defective_serial <> case_serial_number",
        "Defective serial differs from the RMA's serial",
    ),
    Rule(
        6,
        "NOT_DEFECTIVE",
        "rejected",
        "diagnosis IN ('no_fault_found', 'not_covered')",
        "Diagnosis found no covered defect",
    ),
    Rule(7, "OUT_OF_WARRANTY", "rejected", "NOT in_warranty", "The RMA was opened after the warranty ended"),
    Rule(
        8,
        "PENDING_VALIDATION",
        "held",
        "diagnosis = 'pending' OR diagnosed_at > getvariable('cutoff')",
        "Diagnosis not complete yet",
    ),
    Rule(
        9,
        "FULFILLED_BEFORE_RMA",
        "rejected",
        "fulfilled_on < CAST(opened_at AS DATE)",
        "Replacement handed over before the RMA was opened",
    ),
    Rule(
        10,
        "ALREADY_CREDITED",
        "rejected",
        "credited_in_closed_quarter",
        "The RMA was credited in an earlier closed quarter",
    ),
    Rule(
        11,
        "DUPLICATE_CLAIM",
        "rejected",
        "duplicate_of_earlier_claim",
        "Another claim for the same RMA came first",
    ),
    Rule(
        12,
        "AWAITING_RETURN",
        "held",
        "return_required AND received_at IS NULL",
        "The defective unit has not been received yet",
    ),
    Rule(
        13,
        "NO_PRICE",
        "held",
        "unit_credit IS NULL",
        "No credit price for the product in the distributor's currency",
    ),
    Rule(14, "CREDITED", "credited", "TRUE", "Credited"),
)
# Rule 11 compares the claims still standing after rules 0-10, so it runs as a second pass.
_DUPLICATE_RULE = 11
_FIRST_PASS = tuple(rule for rule in CLAIM_RULES if rule.number < _DUPLICATE_RULE)
_SECOND_PASS = tuple(rule for rule in CLAIM_RULES if rule.number >= _DUPLICATE_RULE)

RULE_BY_REASON = {rule.reason: rule for rule in CLAIM_RULES}


def _case_of(rules: tuple[Rule, ...]) -> str:
    branches = "\n        ".join(
        f"WHEN {rule.when} THEN '{rule.reason}'  -- rule {rule.number}" for rule in rules
    )
    return f"CASE\n        {branches}\n    END"


_RULE_OUTCOMES_VALUES = ", ".join(f"({r.number}, '{r.reason}', '{r.outcome}')" for r in CLAIM_RULES)

# Each claim with what the rules look at: its case as of the cutoff, its return, its price.
_CLAIM_FACTS_SQL = """SELECT c.*,
            k.rma_number AS case_rma_number, k.channel, k.distributor_id AS case_distributor_id,
            k.status, k.serial_number AS case_serial_number, k.diagnosis, k.diagnosed_at,
            k.opened_at, k.in_warranty, k.return_required, k.product_sku, k.diagnosed_at AS validated_at,
            r.received_at, p.unit_credit,
            c.rma_number IN (
                SELECT rma_number FROM closed_final_claims WHERE outcome = 'credited'
            ) AS credited_in_closed_quarter,
            c.rma_number IN (SELECT rma_number FROM quarantined_cases)
                OR (SELECT count(*) > 0 FROM quarantined_case_files) AS case_may_be_quarantined
        FROM claims_in_scope c
        LEFT JOIN cases_as_of k ON k.rma_number = c.rma_number
        LEFT JOIN case_returns r ON r.rma_number = c.rma_number
        LEFT JOIN claim_prices p ON p.source_file = c.source_file AND p.source_line = c.source_line"""

# The first rule that applies; a duplicate claim is one after an earlier standing claim of the RMA.
_CLAIM_RULINGS_SQL = f"""WITH first_pass AS (
            SELECT *, {_case_of(_FIRST_PASS)} AS early_reason
            FROM claim_facts
        ), standing AS (
            SELECT *, early_reason IS NULL AND row_number() OVER (
                PARTITION BY early_reason IS NULL, rma_number
                ORDER BY fulfilled_on, source_file, source_line
            ) > 1 AS duplicate_of_earlier_claim
            FROM first_pass
        )
        SELECT *, coalesce(early_reason, {_case_of(_SECOND_PASS)}) AS reason
        FROM standing"""

STEPS: tuple[tuple[str, str], ...] = (
    (
        "closed_quarters",
        """SELECT quarter FROM quarter_runs
        WHERE state = 'closed' AND quarter < getvariable('quarter')""",
    ),
    (
        "closed_final_claims",
        """SELECT source_file, source_line, rma_number, outcome FROM claim_outcomes
        WHERE quarter IN (SELECT quarter FROM closed_quarters) AND outcome IN ('credited', 'rejected')""",
    ),
    (
        "claims_in_scope",
        """SELECT f.*, d.currency
        FROM stg_fulfillment_reports f
        JOIN stg_distributors d USING (distributor_id)
        ANTI JOIN closed_final_claims c
            ON c.source_file = f.source_file AND c.source_line = f.source_line
        WHERE f.fulfilled_on <= getvariable('as_of')""",
    ),
    (
        "receipts_as_of",
        "SELECT * FROM stg_receiving_logs WHERE received_at <= getvariable('cutoff')",
    ),
    (
        "cases_as_of",
        """SELECT *,
            CAST(opened_at AS DATE) <= warranty_end AS in_warranty,
            diagnosis = 'defective' AND CAST(opened_at AS DATE) <= warranty_end
                AND status <> 'cancelled' AND diagnosed_at <= getvariable('cutoff') AS validated
        FROM stg_rma_cases
        -- The latest line of each case; arg_max over row ids beats a window over every version.
        WHERE rowid IN (
            SELECT arg_max(rowid, (updated_at, source_file, source_line)) FROM stg_rma_cases
            WHERE updated_at <= getvariable('cutoff') AND rma_number IN (
                -- Only the cases the quarter can use: those of its claims and receipts, and the
                -- direct cases with a version open or resolved in the quarter (the latest
                -- version, if it counts for the SLA, is one of those). Most of a long history
                -- is neither, and skipping it halves this step.
                SELECT rma_number FROM claims_in_scope
                UNION ALL
                SELECT rma_number FROM receipts_as_of
                WHERE CAST(received_at AS DATE) >= getvariable('quarter_start')
                UNION ALL
                SELECT rma_number FROM stg_rma_cases
                WHERE updated_at <= getvariable('cutoff') AND channel = 'direct' AND (
                    resolved_at IS NULL OR resolved_at > getvariable('cutoff')
                    OR CAST(resolved_at AS DATE) >= getvariable('quarter_start'))
            )
            GROUP BY rma_number
        )""",
    ),
    (
        "case_returns",
        """SELECT k.rma_number, min(r.received_at) AS received_at
        FROM cases_as_of k
        JOIN receipts_as_of r ON r.rma_number = k.rma_number AND r.serial_number = k.serial_number
        GROUP BY k.rma_number""",
    ),
    (
        "claim_prices",
        # The latest price row valid on the claim's day (by its file and line after valid_from):
        # arg_max beats a window over every claim's candidate prices.
        """SELECT c.source_file, c.source_line,
            arg_max_null(p.unit_credit, (p.valid_from, p.source_file, p.source_line)) AS unit_credit
        FROM claims_in_scope c
        JOIN cases_as_of k ON k.rma_number = c.rma_number
        JOIN stg_price_list p
            ON p.sku = k.product_sku AND p.currency = c.currency
            AND p.valid_from <= c.fulfilled_on AND (p.valid_to IS NULL OR c.fulfilled_on <= p.valid_to)
        GROUP BY c.source_file, c.source_line""",
    ),
    (
        # Rule 0: the RMA numbers of case rows in quarantine, and the case files quarantined whole
        # (their rows are tied to no RMA number).
        "quarantined_cases",
        """SELECT DISTINCT rma_number FROM quarantine
        WHERE source = 'rma_cases' AND rma_number IS NOT NULL""",
    ),
    (
        "quarantined_case_files",
        """SELECT DISTINCT source_file FROM quarantine
        WHERE source = 'rma_cases' AND (source_line = 0 OR reason = 'MISSING_COLUMN:rma_number')""",
    ),
    (
        "quarter_claim_outcomes",
        # One statement from the facts to the outcomes: two fewer wide temp tables of every claim.
        f"""WITH claim_facts AS ({_CLAIM_FACTS_SQL}),
        claim_rulings AS ({_CLAIM_RULINGS_SQL}),
        rule_outcomes(rule_number, reason, outcome) AS (VALUES {_RULE_OUTCOMES_VALUES}),
        credited AS (
            SELECT c.*, o.rule_number, o.outcome,
                CASE WHEN o.outcome = 'credited' THEN c.unit_credit END AS credit_amount,
                CASE WHEN o.outcome = 'credited' THEN rma_quarter(greatest(
                    CAST(c.validated_at AS DATE), c.fulfilled_on,
                    CASE WHEN c.return_required THEN CAST(c.received_at AS DATE) END
                )) END AS due_quarter
            FROM claim_rulings c JOIN rule_outcomes o USING (reason)
        )
        SELECT getvariable('quarter') AS quarter, distributor_id, rma_number, source_file,
            source_line, fulfilled_on, outcome, reason, credit_amount, currency, due_quarter,
            due_quarter < getvariable('quarter') AS late, claimed_amount,
            CAST(claimed_amount - credit_amount AS DECIMAL(18,2)) AS amount_variance,
            rule_number, defective_serial, replacement_serial, replacement_sku, product_sku
        FROM credited
        ORDER BY distributor_id, source_file, source_line""",
    ),
    (
        "quarter_sla_status",
        """WITH applicable AS (
            SELECT k.*, r.received_at,
                k.return_required AND r.received_at IS NULL AS awaiting_return,
                CASE WHEN k.resolved_at <= getvariable('cutoff')
                    THEN CAST(k.resolved_at AS DATE) END AS resolved_on
            FROM cases_as_of k LEFT JOIN case_returns r USING (rma_number)
            WHERE k.channel = 'direct' AND k.validated AND k.disposition IN ('repair', 'replace')
        ), clocked AS (
            SELECT *,
                CASE WHEN NOT awaiting_return THEN greatest(
                    diagnosed_at, CASE WHEN return_required THEN received_at END
                ) END AS clock_start
            FROM applicable
        ), due AS (
            SELECT *, CAST(clock_start AS DATE) + 30 AS due_on FROM clocked
        ), judged AS (
            SELECT *, CASE
                WHEN awaiting_return THEN 'awaiting_return'
                WHEN resolved_on IS NOT NULL AND resolved_on <= due_on THEN 'met'
                WHEN resolved_on IS NOT NULL OR getvariable('as_of') > due_on THEN 'breached'
                WHEN due_on - getvariable('as_of') <= 7 THEN 'at_risk'
                ELSE 'open'
            END AS sla
            FROM due
        )
        SELECT getvariable('quarter') AS quarter, rma_number, clock_start, due_on, resolved_on,
            sla AS status,
            CAST(CASE WHEN sla = 'breached'
                THEN coalesce(resolved_on, getvariable('as_of')) - due_on ELSE 0 END AS INTEGER) AS days_late,
            CASE WHEN ship_to_country = getvariable('home_country')
                THEN 'DOMESTIC' ELSE 'CIP' END AS incoterm,
            disposition, ship_to_country, customer_name
        FROM judged
        WHERE resolved_on IS NULL OR resolved_on >= getvariable('quarter_start')
        ORDER BY rma_number""",
    ),
    (
        "quarter_exceptions",
        """SELECT getvariable('quarter') AS quarter,
            CASE WHEN k.rma_number IS NULL
                THEN 'UNMATCHED_RECEIPT' ELSE 'RECEIPT_SERIAL_MISMATCH' END AS kind,
            r.source_file, r.source_line, r.rma_number,
            CASE WHEN k.rma_number IS NULL
                THEN 'receipt ' || r.receipt_id || ': no RMA case ' || r.rma_number
                    || ' as of ' || getvariable('as_of')
                ELSE 'receipt ' || r.receipt_id || ': serial ' || r.serial_number
                    || ' but the case has ' || k.serial_number
            END AS detail
        FROM receipts_as_of r LEFT JOIN cases_as_of k USING (rma_number)
        WHERE (k.rma_number IS NULL OR k.serial_number <> r.serial_number)
            AND CAST(r.received_at AS DATE) >= getvariable('quarter_start')
        ORDER BY r.source_file, r.source_line""",
    ),
    (
        "quarter_distributor_credits",
        """SELECT quarter, distributor_id, any_value(currency) AS currency,
            CAST(count(*) FILTER (WHERE outcome = 'credited') AS INTEGER) AS credited_count,
            CAST(coalesce(sum(credit_amount), 0) AS DECIMAL(18,2)) AS credit_total,
            CAST(count(*) FILTER (WHERE outcome = 'held') AS INTEGER) AS held_count,
            CAST(count(*) FILTER (WHERE outcome = 'rejected') AS INTEGER) AS rejected_count,
            CAST(NULL AS VARCHAR) AS credit_memo  -- given at the close
        FROM quarter_claim_outcomes
        GROUP BY quarter, distributor_id
        ORDER BY distributor_id""",
    ),
)

# Accrued liability: what a quarter's held claims will cost once they clear, where a price
# exists (the same price rule as claim_prices). One row per distributor; $quarter is the quarter.
ACCRUED_LIABILITY_SQL = """
WITH held_prices AS (
    SELECT o.distributor_id, p.unit_credit
    FROM claim_outcomes o
    JOIN stg_distributors d USING (distributor_id)
    JOIN stg_price_list p ON p.sku = o.product_sku AND p.currency = d.currency
        AND p.valid_from <= o.fulfilled_on AND (p.valid_to IS NULL OR o.fulfilled_on <= p.valid_to)
    WHERE o.quarter = $quarter AND o.outcome = 'held'
    QUALIFY row_number() OVER (
        PARTITION BY o.source_file, o.source_line
        ORDER BY p.valid_from DESC, p.source_file DESC, p.source_line DESC
    ) = 1
)
SELECT distributor_id, CAST(sum(unit_credit) AS DECIMAL(18,2)) AS accrued_liability
FROM held_prices GROUP BY distributor_id
"""

OUTPUT_TABLES = {
    "claim_outcomes": "quarter_claim_outcomes",
    "sla_status": "quarter_sla_status",
    "exceptions": "quarter_exceptions",
    "distributor_credits": "quarter_distributor_credits",
}


@dataclass(frozen=True)
class RunParameters:
    quarter: Quarter
    as_of: dt.date
    home_country: str = "US"


def set_run_variables(con: duckdb.DuckDBPyConnection, params: RunParameters) -> None:
    values = {
        "quarter": str(params.quarter),
        "quarter_start": params.quarter.first_day,
        "as_of": params.as_of,
        "cutoff": cutoff_of(params.as_of),
        "home_country": params.home_country.strip().upper(),
    }
    for name, value in values.items():
        con.execute(f"SET VARIABLE {name} = ?", [value])


def compute_quarter(con: duckdb.DuckDBPyConnection, params: RunParameters) -> None:
    """Fill this connection's temp tables `quarter_*` with the quarter's results."""
    prepare(con)
    set_run_variables(con, params)
    for name, sql in STEPS:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")


def reconcile_quarter(con: duckdb.DuckDBPyConnection, params: RunParameters) -> None:
    """Compute the quarter and replace its rows in the four public tables at once."""
    compute_quarter(con, params)
    quarter = str(params.quarter)
    statements: list[tuple[str, list]] = []
    for table, computed in OUTPUT_TABLES.items():
        columns = ", ".join(
            row[0] for row in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
        )
        statements.append((f"DELETE FROM {table} WHERE quarter = ?", [quarter]))
        statements.append((f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {computed}", []))
    statements.append(
        (
            """INSERT INTO quarter_runs (quarter, state, as_of, run_at) VALUES (?, 'draft', ?, ?)
            ON CONFLICT (quarter) DO UPDATE
            SET state = 'draft', as_of = excluded.as_of, run_at = excluded.run_at""",
            [quarter, params.as_of, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
        )
    )
    in_transaction(con, statements, name="reconcile")
