"""Synthetic inputs in the rulebook layout: realistic mixes of outcomes, a few bad rows.

Deterministic for a seed. Every claim outcome and every SLA status shows up once the case
count is in the hundreds; a handful of deliberately bad rows exercise the quarantine.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pipelines.quarters import Quarter

CASE_COLUMNS = [
    "rma_number", "updated_at", "opened_at", "channel", "distributor_id", "customer_name", "product_sku",
    "serial_number", "ship_to_country", "warranty_end", "diagnosis", "diagnosed_at", "return_required",
    "disposition", "resolved_at", "status",
]
RECEIPT_COLUMNS = ["receipt_id", "rma_number", "serial_number", "received_at", "warehouse", "condition", "carrier", "tracking_number"]
CLAIM_COLUMNS = ["rma_number", "fulfilled_on", "defective_serial", "replacement_serial", "replacement_sku", "claimed_amount"]

# sku -> {currency: unit credit}; CAM-Z has no GBP price, so GBP claims for it are held NO_PRICE.
PRICES = {
    "ROUTER-X1": {"USD": "120.00", "EUR": "110.00", "GBP": "95.00"},
    "SWITCH-S8": {"USD": "45.50", "EUR": "42.00", "GBP": "36.90"},
    "CAM-Z": {"USD": "300.00", "EUR": "279.00"},
    "AP-W6": {"USD": "89.99", "EUR": "84.50", "GBP": "72.25"},
    "FW-G2": {"USD": "640.00", "EUR": "599.00", "GBP": "515.00"},
}
CURRENCIES = [("USD", "US"), ("EUR", "DE"), ("EUR", "NL"), ("GBP", "GB")]
COUNTRIES = ["US"] * 6 + ["CA", "DE", "JP", "BR"]
FIRST_NAMES = ["Ann", "Bo", "Cy", "Di", "Eva", "Gil", "Ida", "Jo", "Kai", "Lu", "Mo", "Nia", "Oz", "Pia", "Raj", "Sho"]
LAST_NAMES = ["Lee", "Chen", "Diaz", "Eng", "Fox", "Ho", "Ito", "Kim", "Lund", "Ma", "Ng", "Ode", "Park", "Qu", "Sen"]


@dataclass
class _Case:
    rma: str
    channel: str
    distributor: str
    sku: str
    serial: str
    opened: dt.datetime
    return_required: bool


def _ts(moment: dt.datetime, rng: random.Random) -> str:
    """ISO text, mostly UTC with Z, sometimes with an offset (the same instant)."""
    if rng.random() < 0.1:
        offset = rng.choice([-8, -5, 2, 9])
        local = moment + dt.timedelta(hours=offset)
        sign = "+" if offset >= 0 else "-"
        return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(offset):02d}:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _flag(value: bool, rng: random.Random) -> str:
    return rng.choice(["true", "yes", "Y", "1"]) if value else rng.choice(["false", "no", "N", "0"])


def generate_data(out: Path, seed: int = 7, cases: int = 400, distributors: int = 4,
                  start_quarter: str = "2026-Q1", quarters: int = 3) -> dict[str, int]:
    rng = random.Random(seed)
    first = Quarter.parse(start_quarter)
    last = first
    for _ in range(max(quarters, 1) - 1):
        last = last.next()
    window_start = dt.datetime.combine(first.first_day, dt.time(0))
    window_end = dt.datetime.combine(last.last_day, dt.time(23, 59, 59))
    span_seconds = int((window_end - window_start).total_seconds())

    for sub in ("inbound/rma_cases", "inbound/receiving_logs", "inbound/fulfillment_reports", "reference"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True, exist_ok=True)

    distributor_rows = []
    for index in range(1, distributors + 1):
        currency, country = CURRENCIES[(index - 1) % len(CURRENCIES)]
        distributor_id = f"DIST-{index:03d}"
        distributor_rows.append([distributor_id, f"Distributor {index:03d} Ltd", f"credits@dist{index:03d}.example", country, currency])
    currency_of = {row[0]: row[4] for row in distributor_rows}
    distributor_ids = list(currency_of)
    _write_csv(out / "reference/distributors.csv", ["distributor_id", "name", "email", "country", "currency"], distributor_rows)

    price_rows = []
    change_day = first.next().first_day if quarters > 1 else first.first_day
    for sku, by_currency in PRICES.items():
        for currency, amount in by_currency.items():
            if sku == "SWITCH-S8" and currency == "USD":  # a price change inside the window
                price_rows.append([sku, currency, amount, "2024-01-01", (change_day - dt.timedelta(days=1)).isoformat()])
                price_rows.append([sku, currency, "49.99", change_day.isoformat(), ""])
            else:
                price_rows.append([sku, currency, amount, "2024-01-01", ""])
    price_rows.append(["AP-W6", "USD", "-5.00", "2025-01-01", "2025-01-31"])  # bad: negative credit
    _write_csv(out / "reference/price_list.csv", ["sku", "currency", "unit_credit", "valid_from", "valid_to"], price_rows)

    versions: list[tuple[dt.datetime, list[str]]] = []
    receipts: list[tuple[dt.datetime, list[str]]] = []
    claims: dict[str, list[tuple[dt.date, list[str]]]] = {d: [] for d in distributor_ids}
    all_cases: list[_Case] = []
    receipt_number = 0

    def add_receipt(moment: dt.datetime, rma: str, serial: str) -> None:
        nonlocal receipt_number
        receipt_number += 1
        receipts.append((moment, [f"RC-{receipt_number:07d}", rma, serial, _ts(moment, rng), rng.choice(["RNO", "AMS", "SIN"]),
                                  rng.choice(["damaged", "intact", ""]), rng.choice(["UPS", "DHL", "FedEx"]), f"TRK{rng.randrange(10**9):09d}"]))

    for number in range(1, cases + 1):
        rma = f"R{first.year % 100:02d}-{number:07d}"
        channel = "distributor" if rng.random() < 0.7 else "direct"
        distributor = rng.choice(distributor_ids) if channel == "distributor" else ""
        sku = rng.choice(list(PRICES))
        serial = f"SN-{rng.randrange(16**8):08X}"
        opened = window_start + dt.timedelta(seconds=rng.randrange(span_seconds))
        warranty_end = (opened + dt.timedelta(days=rng.randint(-40, 700))).date()
        return_required = rng.random() < (0.45 if channel == "direct" else 0.3)
        country = rng.choice(COUNTRIES)
        customer = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        case = _Case(rma, channel, distributor, sku, serial, opened, return_required)
        all_cases.append(case)
        base = [rma, "", _ts(opened, rng), channel, distributor, customer, sku, serial, country, warranty_end.isoformat()]

        def version(at: dt.datetime, diagnosis: str, diagnosed: dt.datetime | None, disposition: str,
                    resolved: dt.datetime | None, status: str) -> None:
            if at > window_end:
                return
            row = list(base) + [diagnosis, _ts(diagnosed, rng) if diagnosed else "", _flag(return_required, rng),
                                disposition, _ts(resolved, rng) if resolved else "", status]
            row[1] = _ts(at, rng)
            versions.append((at, row))

        version(opened, "pending", None, "", None, "open")
        roll = rng.random()
        if roll < 0.06:
            continue  # never diagnosed: stays pending
        diagnosed = opened + dt.timedelta(hours=rng.randint(6, 24 * 8))
        diagnosis = "defective" if roll < 0.86 else ("no_fault_found" if roll < 0.94 else "not_covered")
        disposition = "none" if diagnosis != "defective" else (
            rng.choices(["repair", "replace", "credit"], [5, 4, 1])[0] if channel == "direct" else "replace")
        # The portal sometimes exports the diagnosis a few days late.
        exported = diagnosed + dt.timedelta(hours=rng.choice([0, 0, 0, 30, 80]))
        version(exported, diagnosis, diagnosed, disposition, None, "open" if diagnosis == "defective" else "closed")
        cancelled = rng.random() < 0.03
        if cancelled:
            version(exported + dt.timedelta(days=2), diagnosis, diagnosed, "", None, "cancelled")

        received = None
        if return_required and rng.random() < 0.85:
            received = diagnosed + dt.timedelta(hours=rng.randint(-48, 24 * 20))
            wrong_serial = rng.random() < 0.04
            add_receipt(received, rma if rng.random() > 0.05 else rma.lower() + " ", "SN-WRONG" if wrong_serial else serial)
            if wrong_serial:
                received = None

        if channel == "direct" and diagnosis == "defective" and disposition in ("repair", "replace") and not cancelled:
            clock = max(diagnosed, received) if return_required and received else diagnosed
            if not return_required or received:
                days = rng.choice([3, 8, 12, 20, 25, 29, 31, 36, 45, None, None])
                if days is not None:
                    resolved = clock + dt.timedelta(days=days, hours=rng.randint(0, 12))
                    version(resolved, diagnosis, diagnosed, disposition, resolved, "closed")

        if channel == "distributor":
            if rng.random() < 0.03:  # handed over before the RMA existed
                fulfilled = opened.date() - dt.timedelta(days=rng.randint(1, 3))
            else:
                fulfilled = max(opened.date(), diagnosed.date() if rng.random() < 0.7 else opened.date())
                fulfilled += dt.timedelta(days=rng.randint(0, 9))
            submitter = distributor if rng.random() > 0.02 else rng.choice(distributor_ids)
            claimed_serial = serial if rng.random() > 0.02 else f"SN-{rng.randrange(16**8):08X}"
            price = Decimal(PRICES[sku].get(currency_of[submitter], "0.00"))
            claimed = rng.choice(["", str(price), str(price), str(price + Decimal("5.00"))])
            line = [rma if rng.random() > 0.05 else f" {rma.lower()} ", fulfilled, claimed_serial,
                    f"SN-R{rng.randrange(16**8):08X}", sku, claimed]
            claims[submitter].append((fulfilled, line))
            repeat = rng.random()
            if repeat < 0.05:  # a second claim for the same RMA, soon or next quarter
                later = fulfilled + dt.timedelta(days=rng.randint(1, 20) if repeat < 0.015 else rng.randint(95, 110))
                claims[submitter].append((later, [line[0], later, *line[2:]]))

    # Claims that no case explains, one direct case claimed by a distributor, receipts for no case.
    for index in range(max(1, cases // 150)):
        submitter = rng.choice(distributor_ids)
        day = (window_start + dt.timedelta(seconds=rng.randrange(span_seconds))).date()
        claims[submitter].append((day, [f"R99-{index:07d}", day, "SN-UNKNOWN", "SN-RUNKNOWN", "ROUTER-X1", ""]))
        moment = window_start + dt.timedelta(seconds=rng.randrange(span_seconds))
        add_receipt(moment, f"R98-{index:07d}", "SN-NOCASE")
    direct_cases = [c for c in all_cases if c.channel == "direct"]
    if direct_cases:
        case = direct_cases[0]
        day = case.opened.date() + dt.timedelta(days=3)
        claims[distributor_ids[0]].append((day, [case.rma, day, case.serial, "SN-RDIRECT", case.sku, ""]))

    # Bad rows for the quarantine.
    if versions:
        bad = list(versions[len(versions) // 2][1])
        bad[10] = "broken"
        versions.append((versions[len(versions) // 2][0], bad))
    if receipts:
        duplicate = list(receipts[0][1])
        receipts.append((receipts[0][0] + dt.timedelta(days=1), duplicate))
        missing = list(receipts[-2][1])
        missing[2] = ""
        missing[0] = "RC-MISSING-SERIAL"
        receipts.append((receipts[-2][0], missing))

    counts = {"case versions": 0, "receipts": 0, "claims": 0}
    by_quarter: dict[Quarter, list[list[str]]] = {}
    for at, row in sorted(versions, key=lambda item: item[0]):
        by_quarter.setdefault(Quarter.of(at.date()), []).append(row)
    for quarter, rows in by_quarter.items():
        _write_csv(out / f"inbound/rma_cases/portal_{quarter.year}-q{quarter.number}.csv", CASE_COLUMNS, rows)
        counts["case versions"] += len(rows)
    receipts_by_quarter: dict[Quarter, list[list[str]]] = {}
    for at, row in sorted(receipts, key=lambda item: item[0]):
        if at <= window_end:
            receipts_by_quarter.setdefault(Quarter.of(at.date()), []).append(row)
    for quarter, rows in receipts_by_quarter.items():
        _write_csv(out / f"inbound/receiving_logs/receipts_{quarter.year}-q{quarter.number}.csv", RECEIPT_COLUMNS, rows)
        counts["receipts"] += len(rows)

    for distributor_index, (distributor_id, lines) in enumerate(claims.items()):
        by_month: dict[tuple[int, int], list[list]] = {}
        for day, line in sorted(lines, key=lambda item: item[0]):
            if day <= window_end.date():
                by_month.setdefault((day.year, day.month), []).append(line)
        folder = out / "inbound/fulfillment_reports" / distributor_id
        folder.mkdir(parents=True, exist_ok=True)
        for month_index, ((year, month), rows) in enumerate(sorted(by_month.items())):
            if month_index == 1 and rows:  # one text date that is no date
                rows[0] = list(rows[0])
                rows[0][1] = f"{year}-{month:02d}-32"
            stem = folder / f"{year}-{month:02d}"
            if (month_index + distributor_index) % 3 == 2:
                _write_xlsx(stem.with_suffix(".xlsx"), CLAIM_COLUMNS, rows)
            else:
                _write_csv(stem.with_suffix(".csv"), CLAIM_COLUMNS, [[*r[:1], _date_text(r[1]), *r[2:]] for r in rows])
            counts["claims"] += len(rows)
    unknown = out / "inbound/fulfillment_reports/UNKNOWN-CO"
    unknown.mkdir(parents=True, exist_ok=True)
    _write_csv(unknown / f"{first.year}-01.csv", CLAIM_COLUMNS, [["R00-0000001", first.first_day.isoformat(), "SN-1", "SN-2", "", ""]])
    counts["claims"] += 1
    counts["distributors"] = len(distributor_rows)
    return counts


def _date_text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_xlsx(path: Path, header: list[str], rows: list[list]) -> None:
    """Distributors' workbooks: date cells, amounts as numbers, blank cells left empty."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    workbook.set_properties({"created": dt.datetime(2026, 1, 1)})
    sheet = workbook.add_worksheet("Claims")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    money_format = workbook.add_format({"num_format": "0.00"})
    sheet.write_row(0, 0, header)
    for row_index, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(row_index, column, dt.datetime.combine(value, dt.time(0)), date_format)
            elif column == 5 and value:
                sheet.write_number(row_index, column, float(value), money_format)
            elif value not in ("", None):
                sheet.write_string(row_index, column, str(value))
    workbook.close()
