"""The inputs of rulebook §2: each source's columns and rules, and where its files are found.

A `Source` is data: staging (`staging.py`) turns its columns into the SQL that parses and
judges every value, and the checks read it to account for every row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from assets.ingest.readers import iter_data_files

CSV_ONLY = (".csv",)
CSV_OR_XLSX = (".csv", ".xlsx")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text | key | timestamp | date | enum | flag | money | country | currency
    required: bool = True
    required_when: str | None = None  # SQL over parsed values, e.g. "p_channel = 'distributor'"
    values: tuple[str, ...] = ()
    non_negative: bool = False
    not_before: str | None = None  # another column this one may not precede
    must_be_distributor: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    unique_column: str | None = None
    duplicate_reason: str | None = None
    folder_is_distributor: bool = False

    @property
    def table(self) -> str:
        return f"stg_{self.name}"

    @property
    def uses_distributors(self) -> bool:
        """Whether staging judges rows against stg_distributors."""
        return self.folder_is_distributor or any(column.must_be_distributor for column in self.columns)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


DISTRIBUTORS = Source(
    "distributors",
    (
        Column("distributor_id"),
        Column("name", required=False),
        Column("email", required=False),
        Column("country", "country", required=False),
        Column("currency", "currency"),
    ),
    unique_column="distributor_id",
    duplicate_reason="DUPLICATE_DISTRIBUTOR",
)

PRICE_LIST = Source(
    "price_list",
    (
        Column("sku"),
        Column("currency", "currency"),
        Column("unit_credit", "money", non_negative=True),
        Column("valid_from", "date"),
        Column("valid_to", "date", required=False, not_before="valid_from"),
    ),
)

RMA_CASES = Source(
    "rma_cases",
    (
        Column("rma_number", "key"),
        Column("updated_at", "timestamp"),
        Column("opened_at", "timestamp"),
        Column("channel", "enum", values=("direct", "distributor")),
        Column(
            "distributor_id",
            required=False,
            required_when="p_channel = 'distributor'",
            must_be_distributor=True,
        ),
        Column("customer_name", required=False),
        Column("product_sku"),
        Column("serial_number", "key"),
        Column("ship_to_country", "country"),
        Column("warranty_end", "date"),
        Column("diagnosis", "enum", values=("pending", "defective", "no_fault_found", "not_covered")),
        Column("diagnosed_at", "timestamp", required=False, required_when="p_diagnosis <> 'pending'"),
        Column("return_required", "flag"),
        Column("disposition", "enum", required=False, values=("repair", "replace", "credit", "none")),
        Column("resolved_at", "timestamp", required=False),
        Column("status", "enum", values=("open", "closed", "cancelled")),
    ),
)

RECEIVING_LOGS = Source(
    "receiving_logs",
    (
        Column("receipt_id"),
        Column("rma_number", "key"),
        Column("serial_number", "key"),
        Column("received_at", "timestamp"),
        Column("warehouse", required=False),
        Column("condition", required=False),
        Column("carrier", required=False),
        Column("tracking_number", required=False),
    ),
    unique_column="receipt_id",
    duplicate_reason="DUPLICATE_RECEIPT_ID",
)

FULFILLMENT_REPORTS = Source(
    "fulfillment_reports",
    (
        Column("rma_number", "key"),
        Column("fulfilled_on", "date"),
        Column("defective_serial", "key"),
        Column("replacement_serial"),
        Column("replacement_sku", required=False),
        Column("claimed_amount", "money", required=False, non_negative=True),
    ),
    folder_is_distributor=True,
)

SOURCES = {
    source.name: source
    for source in (DISTRIBUTORS, PRICE_LIST, RMA_CASES, RECEIVING_LOGS, FULFILLMENT_REPORTS)
}


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: str  # relative to the data directory, '/'-separated
    distributor_id: str | None = None


def list_input_files(data_dir: Path, source: Source) -> list[InputFile]:
    """The files of a source in byte order of their relative path."""
    if source.name in ("distributors", "price_list"):
        path = data_dir / "reference" / f"{source.name}.csv"
        files = (
            [InputFile(path, f"reference/{source.name}.csv")] if path.exists() or path.is_symlink() else []
        )
    elif source.folder_is_distributor:
        root = data_dir / "inbound" / source.name
        folders = (
            sorted((entry for entry in root.iterdir() if entry.is_dir()), key=lambda e: os.fsencode(e.name))
            if root.is_dir()
            else []
        )
        files = [
            InputFile(path, f"inbound/{source.name}/{folder.name}/{path.name}", folder.name)
            for folder in folders
            for path in iter_data_files(folder, CSV_OR_XLSX)
        ]
        # A report outside any distributor folder has no submitter: quarantined, not ignored.
        files += [
            InputFile(path, f"inbound/{source.name}/{path.name}")
            for path in iter_data_files(root, CSV_OR_XLSX)
        ]
    else:
        folder = data_dir / "inbound" / source.name
        files = [
            InputFile(path, f"inbound/{source.name}/{path.name}")
            for path in iter_data_files(folder, CSV_ONLY)
        ]
    return sorted(files, key=lambda f: f.relative.encode("utf-8", "surrogateescape"))
