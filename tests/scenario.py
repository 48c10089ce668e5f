"""Build a small data directory from a few rows, stage it and reconcile a quarter."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.ingest.sources import SOURCES
from assets.ingest.staging import stage_source
from assets.reconcile.rules import RunParameters, compute_quarter
from core.quarters import Quarter

CENT = Decimal("0.01")
CASE_DEFAULTS = {
    "rma_number": "R-1",
    "updated_at": "2026-04-03T10:00:00Z",
    "opened_at": "2026-04-02T09:00:00Z",
    "channel": "distributor",
    "distributor_id": "D1",
    "customer_name": "Ann",
    "product_sku": "SKU-A",
    "serial_number": "SN-1",
    "ship_to_country": "US",
    "warranty_end": "2027-01-01",
    "diagnosis": "defective",
    "diagnosed_at": "2026-04-03T10:00:00Z",
    "return_required": "false",
    "disposition": "replace",
    "resolved_at": "",
    "status": "open",
}
CLAIM_DEFAULTS = {
    "rma_number": "R-1",
    "fulfilled_on": "2026-04-10",
    "defective_serial": "SN-1",
    "replacement_serial": "SN-R1",
    "replacement_sku": "SKU-A",
    "claimed_amount": "",
}
RECEIPT_DEFAULTS = {
    "receipt_id": "RC-1",
    "rma_number": "R-1",
    "serial_number": "SN-1",
    "received_at": "2026-04-05T10:00:00Z",
}
DISTRIBUTORS = [{"distributor_id": "D1", "currency": "USD"}, {"distributor_id": "D2", "currency": "EUR"}]
PRICES = [
    {"sku": "SKU-A", "currency": "USD", "unit_credit": "100.00", "valid_from": "2025-01-01", "valid_to": ""}
]


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header or (list(rows[0]) if rows else [])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


class Scenario:
    def __init__(self, root: Path):
        self.root = root
        self.cases: list[dict] = []
        self.claims: dict[str, list[dict]] = {}
        self.receipts: list[dict] = []
        self.prices = list(PRICES)
        self.distributors = list(DISTRIBUTORS)
        self.con = duckdb.connect()

    def case(self, **values) -> Scenario:
        self.cases.append({**CASE_DEFAULTS, **values})
        return self

    def claim(self, distributor: str = "D1", **values) -> Scenario:
        self.claims.setdefault(distributor, []).append({**CLAIM_DEFAULTS, **values})
        return self

    def receipt(self, **values) -> Scenario:
        self.receipts.append({**RECEIPT_DEFAULTS, "receipt_id": f"RC-{len(self.receipts) + 1}", **values})
        return self

    def stage(self) -> None:
        write_csv(self.root / "reference/distributors.csv", self.distributors)
        write_csv(self.root / "reference/price_list.csv", self.prices)
        write_csv(self.root / "inbound/rma_cases/cases.csv", self.cases, list(CASE_DEFAULTS))
        write_csv(self.root / "inbound/receiving_logs/receipts.csv", self.receipts, list(RECEIPT_DEFAULTS))
        for distributor, rows in self.claims.items():
            write_csv(
                self.root / f"inbound/fulfillment_reports/{distributor}/claims.csv",
                rows,
                list(CLAIM_DEFAULTS),
            )
        for name in ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports"):
            stage_source(self.con, self.root, SOURCES[name])

    def reconcile(self, quarter: str = "2026-Q2", as_of: str | None = None) -> None:
        self.stage()
        q = Quarter.parse(quarter)
        compute_quarter(self.con, RunParameters(q, dt.date.fromisoformat(as_of) if as_of else q.last_day))

    def outcomes(self, quarter: str = "2026-Q2", as_of: str | None = None) -> list[tuple]:
        self.reconcile(quarter, as_of)
        rows = self.con.execute(
            """SELECT rma_number, outcome, reason, credit_amount, due_quarter, late, amount_variance
            FROM quarter_claim_outcomes ORDER BY source_file, source_line"""
        ).fetchall()
        # Decimal("5.50") == 5.5 in Python: the money's type is checked here, once for every rule test.
        for row in rows:
            for money in (row[3], row[6]):
                assert money is None or (isinstance(money, Decimal) and money == money.quantize(CENT)), row
        return rows

    def sla(self, quarter: str = "2026-Q2", as_of: str | None = None) -> list[tuple]:
        self.reconcile(quarter, as_of)
        return self.con.execute(
            """SELECT rma_number, status, clock_start, due_on, resolved_on, days_late, incoterm
            FROM quarter_sla_status ORDER BY rma_number"""
        ).fetchall()
