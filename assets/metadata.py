"""Metadata the Dagster UI shows on each materialization: row count, column schema, a preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

# What each column holds, for the column schema in the UI: by column name (a name means the same in
# every table), with a table's own meaning where it differs.
COLUMN_DESCRIPTIONS = {
    "quarter": "calendar quarter of the run, like 2026-Q3",
    "distributor_id": "the distributor (distributors.csv); for a claim, the report folder it came from",
    "rma_number": "RMA case number, trimmed and upper-cased",
    "source_file": "input file, relative to the data folder",
    "source_line": "physical line (or sheet row) where the row starts in its file",
    "line_span": "physical lines the row takes in its file (a quoted line break makes more than one)",
    "fulfilled_on": "day the distributor handed over the replacement",
    "outcome": "credited, held or rejected",
    "reason": "the rule that decided the claim (rulebook §3)",
    "rule_number": "number of that rule (0-14)",
    "credit_amount": "credit owed for the claim, in the distributor's currency (credited claims)",
    "claimed_amount": "amount the distributor claimed, when its report gives one",
    "amount_variance": "claimed minus credited",
    "currency": "ISO currency code",
    "due_quarter": "quarter the credit fell due (the latest of validation, fulfilment and receipt)",
    "late": "the credit fell due in a quarter before the one that credits it",
    "defective_serial": "serial number of the unit the end user returned",
    "replacement_serial": "serial number of the unit the distributor gave instead",
    "replacement_sku": "product of the replacement unit",
    "product_sku": "product of the RMA case",
    "credited_count": "claims credited",
    "credit_total": "sum of the credits, in the distributor's currency",
    "held_count": "claims held (decided in a later quarter)",
    "rejected_count": "claims rejected",
    "credit_memo": "credit memo number given at the close (CM-NNNNNN); empty for drafts and zero totals",
    "clock_start": "start of the 30-day clock: the later of validation and receipt",
    "due_on": "day the repair or replacement is due",
    "resolved_on": "day the case was resolved",
    "days_late": "days past due_on (0 when on time)",
    "incoterm": "DOMESTIC, or CIP for a shipment abroad",
    "disposition": "repair, replace or another disposition of the case",
    "ship_to_country": "ISO country the unit ships to",
    "customer_name": "customer of the case, as written",
    "kind": "what kind of exception",
    "detail": "what is wrong, in words",
    "updated_at": "when this version of the case was exported (UTC)",
    "opened_at": "when the RMA case was opened (UTC)",
    "channel": "direct or distributor",
    "serial_number": "serial number of the unit",
    "warranty_end": "last day of the warranty",
    "diagnosis": "defective, no_fault_found, not_covered or pending",
    "diagnosed_at": "when the diagnosis was made (UTC)",
    "return_required": "the defective unit must come back before a credit",
    "resolved_at": "when the case was resolved (UTC)",
    "status": "the case's status (open, closed, cancelled)",
    "receipt_id": "warehouse receipt number",
    "received_at": "when the warehouse received the unit (UTC)",
    "warehouse": "receiving warehouse",
    "carrier": "carrier of the shipment",
    "tracking_number": "carrier's tracking number",
    "condition": "condition of the received unit",
    "sku": "product",
    "unit_credit": "credit per unit in this currency",
    "valid_from": "first day the price applies",
    "valid_to": "last day the price applies (empty: open-ended)",
    "name": "name",
    "email": "e-mail address statements are sent to",
    "country": "ISO country",
    "address": "postal address",
    "legal_name": "the vendor's legal name, on every statement",
    "phone": "telephone number",
    "tax_id": "tax identification number",
    "credit_terms": "credit terms, in words",
    "dispute_days": "days a distributor has to dispute a line",
    "role": "ledger role: warranty_expense, credits_payable or accrued_liability",
    "account": "general-ledger account number",
    "external_code": "the distributors' own code for the reason",
    "source": "input source: distributors, price_list, rma_cases, receiving_logs, fulfillment_reports, ...",
    "raw": "the row's text as it stands in the file",
}
_PROFILE_COLUMNS = {
    "encoding": 'how the reports\' text is encoded: "utf-8" (blank), "cp1252" or "utf-16"',
    "delimiter": 'field separator: "," (blank), ";", "tab" or "|"',
    "decimal": 'decimal separator of claimed_amount: "." (blank) or ","',
    "thousands": 'thousands separator of claimed_amount: none (blank), ".", ",", "space" or "\'"',
    "date_format": "fulfilled_on's format besides ISO, lower-case, like dd.mm.yyyy (blank: ISO only)",
    "sheet": "the worksheet read in the distributor's workbooks, by name or number (blank: the first)",
    "header_row": "line or sheet row of the header (blank: the first non-empty one)",
}
TABLE_COLUMN_DESCRIPTIONS = {
    ("sla_status", "status"): "met, breached, at_risk (0-7 days left), open or awaiting_return",
    ("exceptions", "kind"): "a receipt that matches no case, or a case received with another serial",
    ("stg_distributors", "name"): "the distributor's name",
    ("quarantine", "reason"): "why the row was not loaded: MISSING_COLUMN:<col>, BAD_VALUE:<col>, ...",
    ("quarantine", "source_line"): "physical line where the row starts (0: the whole file)",
    ("quarantine", "rma_number"): "the row's RMA number, normalised, where it has one",
    **{("stg_report_profiles", column): text for column, text in _PROFILE_COLUMNS.items()},
    ("stg_column_aliases", "alias"): "a header the distributor writes, lower-case and trimmed",
    ("stg_column_aliases", "column"): "the report column that header stands for",
}


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    described = con.execute(f"DESCRIBE {table}").fetchall()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=row[0],
                type=row[1],
                description=TABLE_COLUMN_DESCRIPTIONS.get((table, row[0])) or COLUMN_DESCRIPTIONS.get(row[0]),
            )
            for row in described
        ]
    )


def table_metadata(
    con: duckdb.DuckDBPyConnection, table: str, row_count: int, preview: str
) -> dict[str, Any]:
    return {
        "dagster/row_count": row_count,
        "dagster/column_schema": column_schema(con, table),
        "table": dg.MetadataValue.text(table),
        "preview": dg.MetadataValue.md(preview),
    }
