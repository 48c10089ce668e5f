"""Synthetic inputs in the rulebook layout: realistic mixes of outcomes, a few bad rows.

Deterministic for a seed. Every claim outcome and every SLA status shows up once the case
count is in the hundreds; a handful of deliberately bad rows exercise the quarantine.
Cases are drawn as numpy arrays and formatted by DuckDB, so a million cases take seconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from core.files import remove_abandoned_temp_folders, temp_folder_prefix
from core.quarters import Quarter

CASE_COLUMNS = [
    "rma_number",
    "updated_at",
    "opened_at",
    "channel",
    "distributor_id",
    "customer_name",
    "product_sku",
    "serial_number",
    "ship_to_country",
    "warranty_end",
    "diagnosis",
    "diagnosed_at",
    "return_required",
    "disposition",
    "resolved_at",
    "status",
]
RECEIPT_COLUMNS = [
    "receipt_id",
    "rma_number",
    "serial_number",
    "received_at",
    "warehouse",
    "condition",
    "carrier",
    "tracking_number",
]
CLAIM_COLUMNS = [
    "rma_number",
    "fulfilled_on",
    "defective_serial",
    "replacement_serial",
    "replacement_sku",
    "claimed_amount",
]

# sku -> {currency: unit credit}; CAM-Z has no GBP price, so GBP claims for it are held NO_PRICE.
PRICES = {
    "ROUTER-X1": {"USD": "120.00", "EUR": "110.00", "GBP": "95.00"},
    "SWITCH-S8": {"USD": "45.50", "EUR": "42.00", "GBP": "36.90"},
    "CAM-Z": {"USD": "300.00", "EUR": "279.00"},
    "AP-W6": {"USD": "89.99", "EUR": "84.50", "GBP": "72.25"},
    "FW-G2": {"USD": "640.00", "EUR": "599.00", "GBP": "515.00"},
}
SKUS = list(PRICES)
CURRENCIES = [("USD", "US"), ("EUR", "DE"), ("EUR", "NL"), ("GBP", "GB")]
COUNTRIES = ["US"] * 6 + ["CA", "DE", "JP", "BR"]
FIRST_NAMES = [
    "Ann",
    "Bo",
    "Cy",
    "Di",
    "Eva",
    "Gil",
    "Ida",
    "Jo",
    "Kai",
    "Lu",
    "Mo",
    "Nia",
    "Oz",
    "Pia",
    "Raj",
    "Sho",
]
LAST_NAMES = [
    "Lee",
    "Chen",
    "Diaz",
    "Eng",
    "Fox",
    "Ho",
    "Ito",
    "Kim",
    "Lund",
    "Ma",
    "Ng",
    "Ode",
    "Park",
    "Qu",
    "Sen",
]
DIAGNOSES = ["pending", "defective", "no_fault_found", "not_covered"]
DISPOSITIONS = ["", "repair", "replace", "credit", "none"]
STATUSES = ["open", "closed", "cancelled"]
VENDOR_COLUMNS = ["legal_name", "email", "address", "phone", "tax_id"]
VENDOR_ROW = [
    "Sample Networks Inc.",
    "credits@samplenetworks.example",
    "1 Sample Way, San Jose, CA 95110, USA",
    "+1 408 555 0199",
    "US-00-0000000",
]
SORT_MEMORY = "2GB"
HOUR = 3600
DAY = 86400

# Portal export macros: mostly UTC with Z, one in ten with an offset (the same instant).
_FORMAT_MACROS = """
CREATE OR REPLACE TEMP MACRO ts_text(seconds, offset_hours) AS CASE
    WHEN seconds IS NULL THEN NULL
    WHEN offset_hours = 0 THEN strftime(make_timestamp(seconds * 1000000), '%Y-%m-%dT%H:%M:%SZ')
    ELSE strftime(make_timestamp((seconds + offset_hours * 3600) * 1000000), '%Y-%m-%dT%H:%M:%S')
        || CASE WHEN offset_hours >= 0 THEN '+' ELSE '-' END
        || lpad(CAST(abs(offset_hours) AS VARCHAR), 2, '0') || ':00'
END;
CREATE OR REPLACE TEMP MACRO day_text(days) AS
    strftime(DATE '1970-01-01' + CAST(days AS INTEGER), '%Y-%m-%d');
CREATE OR REPLACE TEMP MACRO month_of(seconds) AS strftime(make_timestamp(seconds * 1000000), '%Y-%m');
"""


def _offsets(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.where(rng.random(size) < 0.1, rng.choice([-8, -5, 2, 9], size), 0)


def _pick(rng: np.random.Generator, values: list[str], size: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), size)]


def _flag_texts(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    yes = _pick(rng, ["true", "yes", "Y", "1"], len(values))
    no = _pick(rng, ["false", "no", "N", "0"], len(values))
    return np.where(values, yes, no)


def generate_data(
    out: Path,
    seed: int = 7,
    cases: int = 400,
    distributors: int = 4,
    start_quarter: str = "2026-Q1",
    quarters: int = 3,
) -> dict[str, int]:
    # Python strings, as the frames are built from them: with pyarrow installed, pandas would copy
    # every text column into Arrow beside them (a tenth more peak memory, the same files).
    with pd.option_context("mode.string_storage", "python"):
        return _generate_data(out, seed, cases, distributors, start_quarter, quarters)


def _generate_data(
    out: Path, seed: int, cases: int, distributors: int, start_quarter: str, quarters: int
) -> dict[str, int]:
    remove_abandoned_temp_folders("generate")  # spill folders of generators that were killed
    rng = np.random.default_rng(seed)
    out = Path(out)
    first = Quarter.parse(start_quarter)
    last = first
    for _ in range(max(quarters, 1) - 1):
        last = last.next()
    epoch = dt.datetime(1970, 1, 1)
    window_start = int((dt.datetime.combine(first.first_day, dt.time(0)) - epoch).total_seconds())
    window_end = int((dt.datetime.combine(last.last_day, dt.time(23, 59, 59)) - epoch).total_seconds())
    last_day = window_end // DAY

    for sub in ("inbound/rma_cases", "inbound/receiving_logs", "inbound/fulfillment_reports", "reference"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True, exist_ok=True)

    distributor_rows = []
    for index in range(1, distributors + 1):
        currency, country = CURRENCIES[(index - 1) % len(CURRENCIES)]
        distributor_rows.append(
            [
                f"DIST-{index:03d}",
                f"Distributor {index:03d} Ltd",
                f"credits@dist{index:03d}.example",
                country,
                currency,
                f"{index} Commerce Street, {country}",
            ]
        )
    distributor_ids = np.asarray([row[0] for row in distributor_rows], dtype=object)
    distributor_currency = [row[4] for row in distributor_rows]
    _write_csv(
        out / "reference/distributors.csv",
        ["distributor_id", "name", "email", "country", "currency", "address"],
        distributor_rows,
    )
    _write_csv(out / "reference/vendor.csv", VENDOR_COLUMNS, [VENDOR_ROW])  # a fictional vendor

    price_rows = []
    change_day = first.next().first_day if quarters > 1 else first.first_day
    for sku, by_currency in PRICES.items():
        for currency, amount in by_currency.items():
            if sku == "SWITCH-S8" and currency == "USD":  # a price change inside the window
                price_rows.append(
                    [sku, currency, amount, "2024-01-01", (change_day - dt.timedelta(days=1)).isoformat()]
                )
                price_rows.append([sku, currency, "49.99", change_day.isoformat(), ""])
            else:
                price_rows.append([sku, currency, amount, "2024-01-01", ""])
    price_rows.append(["AP-W6", "USD", "-5.00", "2025-01-01", "2025-01-31"])  # bad: negative credit
    _write_csv(
        out / "reference/price_list.csv",
        ["sku", "currency", "unit_credit", "valid_from", "valid_to"],
        price_rows,
    )

    # One entry per case.
    n = cases
    width = max(7, len(str(n)))
    rma = np.char.add(
        f"R{first.year % 100:02d}-", np.char.zfill(np.arange(1, n + 1).astype(str), width)
    ).astype(object)
    is_distributor = rng.random(n) < 0.8
    distributor_of = rng.integers(0, distributors, n)
    sku_of = rng.integers(0, len(SKUS), n)
    serial = np.char.mod("SN-%08X", rng.integers(0, 16**8, n)).astype(object)
    opened = window_start + rng.integers(0, window_end - window_start, n)
    opened_day = opened // DAY
    warranty_end = opened_day + rng.integers(-40, 701, n)
    return_required = rng.random(n) < np.where(is_distributor, 0.68, 0.8)
    roll = rng.random(n)
    diagnosed_flag = roll >= 0.06
    diagnosis = np.where(roll < 0.06, 0, np.where(roll < 0.86, 1, np.where(roll < 0.94, 2, 3)))
    defective = diagnosis == 1
    diagnosed = opened + rng.integers(6, 24 * 8 + 1, n) * HOUR
    direct_disposition = rng.choice([1, 2, 3], n, p=[0.5, 0.4, 0.1])
    disposition = np.where(
        ~diagnosed_flag, 0, np.where(~defective, 4, np.where(is_distributor, 2, direct_disposition))
    )
    exported = diagnosed + rng.choice([0, 0, 0, 30, 80], n) * HOUR  # the portal sometimes exports late
    cancelled = diagnosed_flag & (rng.random(n) < 0.03)

    has_receipt = diagnosed_flag & return_required & (rng.random(n) < 0.86)
    received = diagnosed + rng.integers(-48, 24 * 20 + 1, n) * HOUR
    wrong_serial = rng.random(n) < 0.04
    returned = has_receipt & ~wrong_serial

    sla_case = ~is_distributor & defective & np.isin(disposition, [1, 2]) & ~cancelled
    clock = np.where(return_required, np.maximum(diagnosed, received), diagnosed)
    repair_days = rng.choice([3, 8, 12, 20, 25, 29, 31, 36, 45, -1, -1], n)
    resolved_flag = sla_case & (~return_required | returned) & (repair_days >= 0)
    resolved = clock + repair_days * DAY + rng.integers(0, 13, n) * HOUR

    # Case versions: opened, diagnosed, cancelled, resolved; none after the window.
    version_parts = []
    for present, at, diag, diag_at, disp, res_at, status in (
        (np.ones(n, bool), opened, np.zeros(n, int), None, np.zeros(n, int), None, 0),
        (diagnosed_flag, exported, diagnosis, diagnosed, disposition, None, np.where(defective, 0, 1)),
        (cancelled, exported + 2 * DAY, diagnosis, diagnosed, np.zeros(n, int), None, 2),
        (resolved_flag, resolved, diagnosis, diagnosed, disposition, resolved, 1),
    ):
        keep = np.flatnonzero(present & (at <= window_end))
        k = len(keep)
        version_parts.append(
            pd.DataFrame(
                {
                    "case_index": keep,
                    "moment": at[keep],
                    "diagnosis": diag[keep],
                    "diagnosed_at": pd.array(diag_at[keep], dtype="Int64")
                    if diag_at is not None
                    else pd.array([None] * k, dtype="Int64"),
                    "disposition": disp[keep],
                    "resolved_at": pd.array(res_at[keep], dtype="Int64")
                    if res_at is not None
                    else pd.array([None] * k, dtype="Int64"),
                    "status": np.broadcast_to(status, n)[keep] if np.ndim(status) else np.full(k, status),
                }
            )
        )
    versions = pd.concat(version_parts, ignore_index=True)
    m = len(versions)
    versions["at_offset"] = _offsets(rng, m)
    versions["opened_offset"] = _offsets(rng, m)
    versions["diagnosed_offset"] = _offsets(rng, m)
    versions["resolved_offset"] = _offsets(rng, m)
    versions["flag_text"] = _flag_texts(rng, return_required[versions["case_index"].to_numpy()])
    full_names = np.asarray([f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES], dtype=object)
    first_name, last_name = rng.integers(0, len(FIRST_NAMES), m), rng.integers(0, len(LAST_NAMES), m)
    versions["customer"] = full_names[
        first_name * len(LAST_NAMES) + last_name
    ]  # shared strings, not one per row
    if m:  # one bad enum for the quarantine
        versions.loc[m // 2, "diagnosis"] = -1
    claimed = np.flatnonzero(is_distributor & diagnosed_flag)
    if len(claimed):  # a claimed case whose every version is in quarantine: its claims are held (rule 0)
        versions.loc[versions["case_index"] == claimed[-1], "diagnosis"] = -1

    cases_frame = pd.DataFrame(
        {
            "case_index": np.arange(n),
            "rma": rma,
            "opened": opened,
            "channel": np.where(is_distributor, "distributor", "direct").astype(object),
            "distributor": np.where(is_distributor, distributor_ids[distributor_of], None),
            "sku": np.asarray(SKUS, dtype=object)[sku_of],
            "serial": serial,
            "country": _pick(rng, COUNTRIES, n),
            "warranty_end": warranty_end,
        }
    )

    # Receipts: the warehouse logs returned units, sometimes under a sloppy RMA or the wrong serial.
    receipt_cases = np.flatnonzero(has_receipt)
    r = len(receipt_cases)
    receipts = pd.DataFrame(
        {
            "rma": np.where(
                rng.random(r) < 0.05,
                np.char.add(np.char.lower(rma[receipt_cases].astype(str)), " ").astype(object),
                rma[receipt_cases],
            ),
            "serial": np.where(wrong_serial[receipt_cases], "SN-WRONG", serial[receipt_cases]),
            "moment": received[receipt_cases],
        }
    )
    orphans = max(1, n // 150)
    receipts = pd.concat(
        [
            receipts,
            pd.DataFrame(
                {
                    "rma": np.char.add("R98-", np.char.zfill(np.arange(orphans).astype(str), 7)).astype(
                        object
                    ),
                    "serial": "SN-NOCASE",
                    "moment": window_start + rng.integers(0, window_end - window_start, orphans),
                }
            ),
        ],
        ignore_index=True,
    )
    receipts = (
        receipts[receipts["moment"] <= window_end].sort_values("moment", kind="stable").reset_index(drop=True)
    )
    r = len(receipts)
    receipts["receipt_id"] = np.char.add("RC-", np.char.zfill(np.arange(1, r + 1).astype(str), 7)).astype(
        object
    )
    receipts["offset"] = _offsets(rng, r)
    receipts["warehouse"] = _pick(rng, ["RNO", "AMS", "SIN"], r)
    receipts["condition"] = _pick(rng, ["damaged", "intact", ""], r)
    receipts["carrier"] = _pick(rng, ["UPS", "DHL", "FedEx"], r)
    receipts["tracking"] = np.char.add("TRK", np.char.zfill(rng.integers(0, 10**9, r).astype(str), 9)).astype(
        object
    )
    if r:  # a receipt logged twice, and one without a serial
        duplicate = receipts.iloc[[0]].assign(moment=receipts["moment"].iloc[0] + DAY)
        missing = receipts.iloc[[r - 1]].assign(receipt_id="RC-MISSING-SERIAL", serial=None)
        receipts = pd.concat([receipts, duplicate, missing], ignore_index=True).sort_values(
            "moment", kind="stable"
        )

    # Claims: one per distributor case once diagnosed, some sent twice, a few wrong.
    claim_cases = np.flatnonzero(is_distributor & diagnosed_flag)
    c = len(claim_cases)
    before_rma = rng.random(c) < 0.03
    base_day = np.maximum(
        opened_day[claim_cases],
        np.where(rng.random(c) < 0.7, diagnosed[claim_cases] // DAY, opened_day[claim_cases]),
    )
    fulfilled = np.where(
        before_rma, opened_day[claim_cases] - rng.integers(1, 4, c), base_day + rng.integers(0, 10, c)
    )
    submitter = np.where(rng.random(c) > 0.02, distributor_of[claim_cases], rng.integers(0, distributors, c))
    claimed_serial = np.where(
        rng.random(c) > 0.02,
        serial[claim_cases],
        np.char.add("SN-", np.char.zfill(rng.integers(0, 10**8, c).astype(str), 8)).astype(object),
    )
    price_table = np.asarray(
        [[float(PRICES[sku].get(cur, "0")) for cur in distributor_currency] for sku in SKUS]
    )
    price = price_table[sku_of[claim_cases], submitter]
    claimed = np.choose(rng.integers(0, 4, c), [np.full(c, np.nan), price, price, price + 5])
    claim_rma = np.where(
        rng.random(c) > 0.05,
        rma[claim_cases],
        np.char.add(np.char.add(" ", np.char.lower(rma[claim_cases].astype(str))), " ").astype(object),
    )
    claims = pd.DataFrame(
        {
            "rma": claim_rma,
            "day": fulfilled,
            "serial": claimed_serial,
            "replacement": np.char.add(
                "SN-R", np.char.zfill(rng.integers(0, 10**8, c).astype(str), 8)
            ).astype(object),
            "sku": np.asarray(SKUS, dtype=object)[sku_of[claim_cases]],
            "claimed": claimed,
            "submitter": submitter,
        }
    )
    repeat = rng.random(c)
    again = claims[repeat < 0.3].copy()  # a second claim for the same RMA, soon or next quarter
    soon = repeat[repeat < 0.3] < 0.05
    again["day"] = again["day"] + np.where(
        soon, rng.integers(1, 21, len(again)), rng.integers(95, 111, len(again))
    )
    unknown = pd.DataFrame(
        {
            "rma": np.char.add("R99-", np.char.zfill(np.arange(orphans).astype(str), 7)).astype(object),
            "day": (window_start + rng.integers(0, window_end - window_start, orphans)) // DAY,
            "serial": "SN-UNKNOWN",
            "replacement": "SN-RUNKNOWN",
            "sku": "ROUTER-X1",
            "claimed": np.nan,
            "submitter": rng.integers(0, distributors, orphans),
        }
    )
    parts = [claims, again, unknown]
    direct = np.flatnonzero(~is_distributor)
    if len(direct):  # a direct case claimed by a distributor
        i = direct[0]
        parts.append(
            pd.DataFrame(
                {
                    "rma": [rma[i]],
                    "day": [opened_day[i] + 3],
                    "serial": [serial[i]],
                    "replacement": ["SN-RDIRECT"],
                    "sku": [SKUS[sku_of[i]]],
                    "claimed": [np.nan],
                    "submitter": [0],
                }
            )
        )
    claims = pd.concat(parts, ignore_index=True)
    claims = (
        claims[claims["day"] <= last_day]
        .sort_values(["submitter", "day"], kind="stable")
        .reset_index(drop=True)
    )

    claims["position"] = np.arange(len(claims))

    counts = {"case versions": 0, "receipts": 0, "claims": 0}
    # DuckDB formats and sorts, spilling to disk beyond its limit; the lines stream out a chunk
    # at a time, so memory stays bounded by the arrays above, not by the text of every file.
    with (
        tempfile.TemporaryDirectory(prefix=temp_folder_prefix("generate")) as spill,
        duckdb.connect(config={"memory_limit": SORT_MEMORY, "temp_directory": spill}) as con,
    ):
        con.execute(_FORMAT_MACROS)
        con.register("case_rows", cases_frame)
        con.register("version_rows", versions)
        con.register("receipt_rows", receipts)
        con.register("claim_rows", claims)
        con.execute(
            "CREATE TEMP TABLE names AS SELECT * FROM (VALUES "
            + ", ".join(f"('diagnosis', {i}, '{v}')" for i, v in enumerate(DIAGNOSES))
            + ", ('diagnosis', -1, 'broken'), "
            + ", ".join(f"('disposition', {i}, '{v}')" for i, v in enumerate(DISPOSITIONS))
            + ", "
            + ", ".join(f"('status', {i}, '{v}')" for i, v in enumerate(STATUSES))
            + ") AS t(kind, code, name)"
        )
        con.execute("""
            SELECT month_of(v.moment) AS file_key, concat_ws(',',
                c.rma, ts_text(v.moment, v.at_offset), ts_text(c.opened, v.opened_offset), c.channel,
                coalesce(c.distributor, ''),
                v.customer, c.sku, c.serial, c.country, day_text(c.warranty_end),
                (SELECT name FROM names WHERE kind = 'diagnosis' AND code = v.diagnosis),
                coalesce(ts_text(v.diagnosed_at, v.diagnosed_offset), ''), v.flag_text,
                (SELECT name FROM names WHERE kind = 'disposition' AND code = v.disposition),
                coalesce(ts_text(v.resolved_at, v.resolved_offset), ''),
                (SELECT name FROM names WHERE kind = 'status' AND code = v.status)) AS line
            FROM version_rows v JOIN case_rows c ON c.case_index = v.case_index
            ORDER BY v.moment, v.case_index, v.status""")
        for key, lines in _grouped(con):
            _write_lines(out / f"inbound/rma_cases/portal_{key}.csv", CASE_COLUMNS, lines)
            counts["case versions"] += len(lines)
        con.execute("""
            SELECT month_of(moment),
                concat_ws(',', receipt_id, rma, coalesce(serial, ''), ts_text(moment, "offset"),
                warehouse, condition, carrier, tracking)
            FROM receipt_rows ORDER BY moment, receipt_id""")
        for key, lines in _grouped(con):
            _write_lines(out / f"inbound/receiving_logs/receipts_{key}.csv", RECEIPT_COLUMNS, lines)
            counts["receipts"] += len(lines)
        # Claims sorted by distributor and day already: one file per distributor and month.
        con.execute("""
            SELECT submitter, strftime(DATE '1970-01-01' + CAST(day AS INTEGER), '%Y-%m'),
                rma, DATE '1970-01-01' + CAST(day AS INTEGER), serial, replacement, sku,
                CASE WHEN isnan(claimed) OR claimed IS NULL THEN '' ELSE printf('%.2f', claimed) END
            FROM claim_rows ORDER BY position""")
        month_index: dict[int, int] = {}
        for (submitter, month), rows in _grouped(con, key_columns=2):
            index = month_index.get(submitter, 0)
            month_index[submitter] = index + 1
            if index == 1:  # one text date that is no date
                rows[0][1] = f"{month}-32"
            folder = out / "inbound/fulfillment_reports" / distributor_ids[submitter]
            folder.mkdir(parents=True, exist_ok=True)
            if submitter % 5 == 0 and index % 4 == 3:  # one distributor in five sends workbooks now and then
                _write_xlsx(folder / f"{month}.xlsx", CLAIM_COLUMNS, rows)
            else:
                _write_csv(
                    folder / f"{month}.csv",
                    CLAIM_COLUMNS,
                    [[v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in rows],
                )
            counts["claims"] += len(rows)
    unknown_folder = out / "inbound/fulfillment_reports/UNKNOWN-CO"
    unknown_folder.mkdir(parents=True, exist_ok=True)
    _write_csv(
        unknown_folder / f"{first.year}-01.csv",
        CLAIM_COLUMNS,
        [["R00-0000001", first.first_day.isoformat(), "SN-1", "SN-2", "", ""]],
    )
    counts["claims"] += 1
    counts["distributors"] = len(distributor_rows)
    return counts


def _grouped(con: duckdb.DuckDBPyConnection, key_columns: int = 1, chunk_rows: int = 200_000):
    """(key, [value, ...]) for each run of equal keys in the rows of the last query.

    The first `key_columns` columns are the key (a tuple if more than one). A value is the one
    column after the key, or a list of the columns after it.
    """
    key, values = None, []
    while chunk := con.fetchmany(chunk_rows):
        for row in chunk:
            row_key = row[0] if key_columns == 1 else row[:key_columns]
            if row_key != key:
                if values:
                    yield key, values
                key, values = row_key, []
            values.append(row[key_columns] if len(row) == key_columns + 1 else list(row[key_columns:]))
    if values:
        yield key, values


def _write_lines(path: Path, header: list[str], lines: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        handle.write("\n".join(lines) + "\n")


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_xlsx(path: Path, header: list[str], rows: list[list]) -> None:
    """Distributors' workbooks: date cells, amounts as numbers, blank cells left empty."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "in_memory": True}
    )
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
