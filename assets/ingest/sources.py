"""The inputs of rulebook §2: each source's columns and rules, and where its files are found.

A `Source` is data: staging (`staging.py`) turns its columns into the SQL that parses and
judges every value, and the checks read it to account for every row.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from assets.ingest.profiles import DELIMITER_CHARACTERS, THOUSANDS_CHARACTERS
from assets.ingest.readers import WORKBOOK_SUFFIXES, is_inside

CSV_ONLY = (".csv",)
CSV_OR_WORKBOOK = (".csv", *WORKBOOK_SUFFIXES)
OUTSIDE_LINK = "symbolic link leading outside the data directory, not followed"


@dataclass(frozen=True)
class Column:
    name: str
    # text | key | header | timestamp | date | enum | flag | money | integer | country | currency
    kind: str = "text"
    required: bool = True
    required_when: str | None = None  # SQL over parsed values, e.g. "p_channel = 'distributor'"
    values: tuple[str, ...] = ()
    non_negative: bool = False
    not_before: str | None = None  # another column this one may not precede
    bad_when: str | None = None  # SQL over parsed values (p_<column>) that makes this value bad
    must_be_distributor: bool = False
    case_sensitive: bool = False  # enums match case-insensitively and are stored lower-case, unless this


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    # A column, or several: a later valid row with the same key is a duplicate. "*": the file
    # holds one row, every later one is a duplicate.
    unique_column: str | tuple[str, ...] | None = None
    duplicate_reason: str | None = None
    # A key's first row stands even when quarantined: later ones are duplicates.
    first_row_decides: bool = False
    folder_is_distributor: bool = False
    reference: bool = False  # reference/<name>.csv, one file (else inbound/<name>/)

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
        Column("address", required=False),
    ),
    unique_column="distributor_id",
    duplicate_reason="DUPLICATE_DISTRIBUTOR",
    reference=True,
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
    reference=True,
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

# Rulebook §7.4: who the statements are from; one data row.
VENDOR = Source(
    "vendor",
    (
        Column("legal_name"),
        Column("email"),
        Column("address", required=False),
        Column("phone", required=False),
        Column("tax_id", required=False),
        Column("credit_terms", required=False),
        Column("dispute_days", "integer", required=False),
    ),
    unique_column="*",
    duplicate_reason="DUPLICATE_VENDOR",
    reference=True,
)

GL_ROLES = ("warranty_expense", "credits_payable", "accrued_liability")
# Rulebook §7.3: the ledger's accounts by role; without the file, the defaults.
GL_ACCOUNTS = Source(
    "gl_accounts",
    (Column("role", "enum", values=GL_ROLES), Column("account")),
    unique_column="role",
    duplicate_reason="DUPLICATE_ROLE",
    reference=True,
)

# Rulebook §3's reason codes, for the reason map (a test checks they are CLAIM_RULES' in order).
REASON_CODES = (
    "CASE_QUARANTINED", "UNKNOWN_RMA", "NOT_DISTRIBUTOR_CHANNEL", "WRONG_DISTRIBUTOR", "RMA_CANCELLED",
    "SERIAL_MISMATCH", "NOT_DEFECTIVE", "OUT_OF_WARRANTY", "PENDING_VALIDATION", "FULFILLED_BEFORE_RMA",
    "ALREADY_CREDITED", "DUPLICATE_CLAIM", "AWAITING_RETURN", "NO_PRICE", "CREDITED",
)  # fmt: skip
# Rulebook §7.5: the distributors' own codes for ours, in their remittance files.
REASON_CODE_MAP = Source(
    "reason_code_map",
    (Column("reason", "enum", values=REASON_CODES, case_sensitive=True), Column("external_code")),
    unique_column="reason",
    duplicate_reason="DUPLICATE_REASON",
    reference=True,
)

# Rulebook §2.5: how a distributor's own report format differs from §2.3 (blank: the default).
ENCODINGS = ("utf-8", "cp1252", "utf-16")
DELIMITERS = tuple(DELIMITER_CHARACTERS)
DECIMAL_SEPARATORS = (".", ",")
THOUSANDS_SEPARATORS = tuple(THOUSANDS_CHARACTERS)
DATE_FORMATS = ("dd.mm.yyyy", "dd/mm/yyyy", "mm/dd/yyyy", "d.m.yyyy")  # matched case-insensitively
REPORT_PROFILES = Source(
    "report_profiles",
    (
        Column("distributor_id", must_be_distributor=True),
        Column("encoding", "enum", required=False, values=ENCODINGS),
        Column("delimiter", "enum", required=False, values=DELIMITERS),
        Column("decimal", "enum", required=False, values=DECIMAL_SEPARATORS),
        Column(
            "thousands",
            "enum",
            required=False,
            values=THOUSANDS_SEPARATORS,
            bad_when="p_thousands = coalesce(p_decimal, '.')",
        ),
        Column("date_format", "enum", required=False, values=DATE_FORMATS),
        Column("sheet", required=False),
        Column("header_row", "integer", required=False, bad_when="p_header_row < 1"),
    ),
    unique_column="distributor_id",
    duplicate_reason="DUPLICATE_PROFILE",
    first_row_decides=True,  # a bad profile row means §2 for its distributor, not the next row
    reference=True,
)
REPORT_COLUMNS = tuple(FULFILLMENT_REPORTS.column_names)
COLUMN_ALIASES = Source(
    "column_aliases",
    (
        Column("distributor_id", must_be_distributor=True),
        Column("alias", "header"),
        Column("column", "enum", values=REPORT_COLUMNS),
    ),
    unique_column=("distributor_id", "alias"),
    duplicate_reason="DUPLICATE_ALIAS",
    reference=True,
)

REFERENCE_SOURCES = (
    DISTRIBUTORS, REPORT_PROFILES, COLUMN_ALIASES, PRICE_LIST, VENDOR, GL_ACCOUNTS, REASON_CODE_MAP,
)  # fmt: skip
SOURCES = {
    source.name: source for source in (*REFERENCE_SOURCES, RMA_CASES, RECEIVING_LOGS, FULFILLMENT_REPORTS)
}


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: str  # relative to the data directory, '/'-separated
    distributor_id: str | None = None
    # (reason, detail) of a file quarantined as a whole without being read: UNSUPPORTED_FILE,
    # or UNREADABLE_FILE for a link leading outside or a folder that cannot be listed.
    problem: tuple[str, str] | None = None


def _files_under(folder: Path, data_dir: Path, seen: set[str]) -> list[tuple[Path, tuple[str, str] | None]]:
    """Every file below `folder`, with the problem of those that must not be read. Links inside the
    data directory are followed (each real folder once); a folder that cannot be listed is one entry."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: os.fsencode(entry.name))
    except OSError as error:
        return [(folder, ("UNREADABLE_FILE", f"cannot list the folder: {error.strerror or error}"))]
    found: list[tuple[Path, tuple[str, str] | None]] = []
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink() and not is_inside(path, data_dir):
            found.append((path, ("UNREADABLE_FILE", OUTSIDE_LINK)))
        elif entry.is_dir():
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found += _files_under(path, data_dir, seen)
        else:
            found.append((path, None))
    return found


def _relative(path: Path, data_dir: Path) -> str:
    return "/".join(path.relative_to(data_dir).parts)


def data_dir_problem(data_dir: Path) -> str | None:
    """Why `data_dir` cannot be the input folder, in one line; None when it can."""
    if not data_dir.exists():
        return f"data directory {str(data_dir)!r} does not exist"
    if not data_dir.is_dir():
        return f"data directory {str(data_dir)!r} is a file, not a folder"
    return None


def input_bytes(data_dir: Path) -> int:
    """How much the input files (inbound/ and reference/) take: what a run's memory scales with."""
    total = 0
    for folder in ("inbound", "reference"):
        for root, _, names in os.walk(Path(data_dir) / folder):
            for name in names:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(root, name)).st_size
    return total


def list_input_files(data_dir: Path, source: Source) -> list[InputFile]:
    """The files of a source in byte order of their relative path.

    Rulebook §2: what a source cannot read is quarantined, never skipped. Files of the wrong kind
    or in the wrong place are UNSUPPORTED_FILE: in a case or receipt folder anything but a CSV
    directly in it; in a distributor folder (subfolders included) anything but a CSV or a
    workbook. The fulfillment reports' source also lists every file under `inbound/` outside the
    three source folders.
    """
    if source.reference:
        path = data_dir / "reference" / f"{source.name}.csv"
        exists = path.exists() or path.is_symlink()
        return [InputFile(path, f"reference/{source.name}.csv")] if exists else []
    inbound = data_dir / "inbound"
    root = inbound / source.name
    seen = {os.path.realpath(root)}
    found = _files_under(root, data_dir, seen) if root.is_dir() else []
    files = []
    for path, problem in found:
        relative = _relative(path, data_dir)
        parts = path.relative_to(root).parts
        if source.folder_is_distributor:
            distributor_id = parts[0] if len(parts) > 1 else None
            readable = path.suffix.lower() in CSV_OR_WORKBOOK
            where = f"inbound/{source.name}/<distributor_id>/"
        else:
            distributor_id = None
            readable = len(parts) == 1 and path.suffix.lower() in CSV_ONLY
            where = f"inbound/{source.name}/"
        if problem is None and not readable:
            kinds = "CSV files and workbooks" if source.folder_is_distributor else "CSV files directly"
            problem = ("UNSUPPORTED_FILE", f"only {kinds} in {where} are read")
        files.append(InputFile(path, relative, distributor_id, problem))
    if source.name == "fulfillment_reports" and inbound.is_dir():
        source_folders = {
            os.path.realpath(inbound / name) for name in ("rma_cases", "receiving_logs", source.name)
        }
        elsewhere = _files_under(inbound, data_dir, source_folders | {os.path.realpath(inbound)})
        files += [
            InputFile(
                path,
                _relative(path, data_dir),
                problem=problem
                or ("UNSUPPORTED_FILE", "not in inbound/rma_cases, receiving_logs or fulfillment_reports"),
            )
            for path, problem in elsewhere
        ]
    return sorted(files, key=lambda f: f.relative.encode("utf-8", "surrogateescape"))
