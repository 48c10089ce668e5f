"""Onboarding a distributor's format (rulebook §2.5): read sample reports, suggest the profile row
and alias rows that describe them, and try the suggestion on the samples.

Nothing here writes to the data folder: the user checks the suggestion and saves it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from assets.ingest.profiles import DELIMITER_CHARACTERS, THOUSANDS_CHARACTERS, ReportProfile
from assets.ingest.readers import WORKBOOK_SUFFIXES, UnreadableFile, cell_text
from assets.ingest.sources import FULFILLMENT_REPORTS, REPORT_PROFILES, SOURCES
from assets.ingest.staging import stage_source
from core.terminal import printable

REPORT_COLUMNS = FULFILLMENT_REPORTS.column_names
REQUIRED_COLUMNS = [column.name for column in FULFILLMENT_REPORTS.columns if column.required]
# Headers distributors' systems write for each column (compared without case and punctuation).
SYNONYMS = {
    "rma_number": [
        "rma", "rma no", "rma nr", "rma id", "rma number", "rma ref", "rma reference", "return number",
        "return authorization", "return authorisation", "authorization number", "case number", "rma nummer",
        "retourennummer", "numero rma", "num rma",
    ],
    "fulfilled_on": [
        "fulfilled", "fulfilled date", "fulfilment date", "fulfillment date", "ship date", "shipped",
        "shipped on", "shipping date", "date shipped", "dispatch date", "replacement date", "exchange date",
        "swap date", "date", "lieferdatum", "versanddatum", "datum", "date expedition", "date d expedition",
        "date envoi",
    ],
    "defective_serial": [
        "defective serial", "defective sn", "defective s n", "faulty serial", "faulty sn", "faulty s n",
        "old serial", "old sn", "old s n", "returned serial", "return serial", "serial", "serial number",
        "serial no", "sn", "s n", "seriennummer", "defekte seriennummer", "alte seriennummer",
        "numero de serie", "n de serie",
    ],
    "replacement_serial": [
        "replacement serial", "replacement sn", "replacement s n", "new serial", "new sn", "new s n",
        "exchange serial", "swap serial", "neue seriennummer", "ersatz seriennummer", "ersatzseriennummer",
        "nouveau numero de serie",
    ],
    "replacement_sku": [
        "replacement sku", "sku", "part number", "part no", "part", "product", "product code", "item",
        "item number", "article", "article number", "artikelnummer", "artikel", "material", "reference",
    ],
    "claimed_amount": [
        "claimed amount", "claim amount", "amount", "credit amount", "credit", "value", "price", "unit price",
        "betrag", "wert", "montant", "importe",
    ],
}  # fmt: skip
DELIMITER_NAMES = {character: name for name, character in DELIMITER_CHARACTERS.items()}  # "\t": "tab"
SAMPLE_LINES = 30  # a header is looked for this far down


def normalized_header(text: str) -> str:
    """A header as compared with the synonyms: lower-case, without accents, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.split())


_LOOKUP = {
    normalized_header(name): column for column in REPORT_COLUMNS for name in (column, *SYNONYMS[column])
}


def match_header(header: list[str]) -> dict[str, int]:
    """Column -> field position: §2 names first, then known synonyms; each header used once."""
    matched: dict[str, int] = {}
    for exact in (True, False):
        for index, name in enumerate(header):
            if index in matched.values():
                continue
            column = name.strip().lower() if exact else _LOOKUP.get(normalized_header(name))
            if column in REPORT_COLUMNS and column not in matched:
                matched[column] = index
    return matched


@dataclass
class Suggestion:
    source: str  # the file the profile was read from
    distributor_id: str
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (header as written, column)
    notes: list[str] = field(default_factory=list)

    @property
    def profile_row(self) -> dict[str, str]:
        return {
            "distributor_id": self.distributor_id,
            "encoding": "" if self.encoding == "utf-8" else self.encoding,
            "delimiter": "" if self.delimiter == "," else DELIMITER_NAMES[self.delimiter],
            "decimal": "" if self.decimal == "." else self.decimal,
            "thousands": self.thousands or "",
            "date_format": (self.date_format or "").upper(),
            "sheet": self.sheet or "",
            "header_row": "" if self.header_row is None else str(self.header_row),
        }

    @property
    def needs_profile(self) -> bool:
        return any(value for key, value in self.profile_row.items() if key != "distributor_id")


def _encoding(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _csv_rows(text: str) -> tuple[str, list[list[str]]]:
    """(delimiter, the first lines split by it): the delimiter that splits the header best."""
    lines = text.splitlines()[:SAMPLE_LINES]
    best, best_rows, best_score = ",", [], -1
    for delimiter in DELIMITER_NAMES:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
        score = max((len(match_header(row)) for row in rows), default=0)
        if score > best_score:
            best, best_rows, best_score = delimiter, rows, score
    return best, best_rows


def _header_row(rows: list[list[str]]) -> tuple[int, list[str]] | None:
    """(1-based row, header) of the first row naming two report columns or more."""
    for number, row in enumerate(rows, start=1):
        if len(match_header(row)) >= 2:
            return number, row
    return None


def _first_non_empty(rows: list[list[str]]) -> int:
    for number, row in enumerate(rows, start=1):
        if any(cell.strip() for cell in row):
            return number
    return 0


_AMOUNT_CANDIDATES = [
    (".", None),
    (",", None),
    (",", "."),
    (".", ","),
    (",", "space"),
    (".", "space"),
    (".", "'"),
]
_DATE_CANDIDATES = {
    "dd.mm.yyyy": (r"(\d{2})\.(\d{2})\.(\d{4})", "dmy"),
    "d.m.yyyy": (r"(\d{1,2})\.(\d{1,2})\.(\d{4})", "dmy"),
    "dd/mm/yyyy": (r"(\d{2})/(\d{2})/(\d{4})", "dmy"),
    "mm/dd/yyyy": (r"(\d{2})/(\d{2})/(\d{4})", "mdy"),
}


def _amount_reads(value: str, decimal: str, thousands: str | None) -> bool:
    """Whether staging would read `value` as an amount with these separators (§2.5)."""
    profile = ReportProfile(decimal=decimal, thousands=thousands)
    # The profile's RE2 pattern in Python's syntax: \x{hhhh} escapes become the characters.
    pattern = re.sub(
        r"\\x\{([0-9a-f]{4})\}", lambda m: re.escape(chr(int(m.group(1), 16))), profile.amount_pattern
    )
    if re.fullmatch(pattern, value) is None:
        return False
    plain = value
    if thousands:
        plain = "".join(c for c in plain if c not in THOUSANDS_CHARACTERS[thousands])
    try:
        amount = Decimal(plain.replace(decimal, "."))
    except InvalidOperation:
        return False
    return amount.as_tuple().exponent >= -2


def _date_reads(value: str, date_format: str | None) -> bool:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # ISO is read under any profile
        return _is_day(value[:4], value[5:7], value[8:10])
    if date_format is None:
        return False
    pattern, order = _DATE_CANDIDATES[date_format]
    match = re.fullmatch(pattern, value)
    if not match:
        return False
    parts = dict(zip(order, match.groups(), strict=True))
    return _is_day(parts["y"], parts["m"], parts["d"])


def _is_day(year: str, month: str, day: str) -> bool:
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _suggest_values(suggestion: Suggestion, records: list[list[str]], positions: dict[str, int]) -> None:
    def values(column: str) -> list[str]:
        index = positions.get(column)
        if index is None:
            return []
        return [row[index].strip() for row in records if index < len(row) and row[index].strip()]

    amounts = values("claimed_amount")
    for decimal, thousands in _AMOUNT_CANDIDATES:
        if all(_amount_reads(value, decimal, thousands) for value in amounts):
            suggestion.decimal, suggestion.thousands = decimal, thousands
            break
    else:
        suggestion.notes.append("claimed_amount: no one format reads every amount; check the file")
    dates = values("fulfilled_on")
    fitting = [name for name in (None, *_DATE_CANDIDATES) if all(_date_reads(value, name) for value in dates)]
    if not fitting:
        suggestion.notes.append("fulfilled_on: no one date format reads every date; check the file")
        return
    suggestion.date_format = fitting[0]
    if "dd/mm/yyyy" in fitting and "mm/dd/yyyy" in fitting and fitting[0] is not None:
        suggestion.notes.append(
            "fulfilled_on: every date fits both DD/MM/YYYY and MM/DD/YYYY (no day above 12); "
            "DD/MM/YYYY is suggested: ask the distributor"
        )


FORMULA_START = ("=", "+", "-", "@")


def _aliases(suggestion: Suggestion, header: list[str], positions: dict[str, int]) -> None:
    for column in REPORT_COLUMNS:
        index = positions.get(column)
        if index is None or header[index].strip().lower() == column:
            continue
        alias = header[index].strip()
        if alias.startswith(FORMULA_START):  # pasted into a CSV, it would open as a formula
            suggestion.notes.append(f"{column}: its header {alias!r} looks like a formula; not suggested")
            positions.pop(column)
            continue
        suggestion.aliases.append((alias, column))
    for column in REQUIRED_COLUMNS:
        if column not in positions:
            suggestion.notes.append(f"{column}: no header looks like it; add an alias row for it by hand")


def suggest_for_csv(path: Path, data: bytes, distributor_id: str) -> Suggestion:
    suggestion = Suggestion(path.name, distributor_id, encoding=_encoding(data))
    text = data.decode(
        {"utf-8": "utf-8-sig", "cp1252": "cp1252", "utf-16": "utf-16"}[suggestion.encoding], "replace"
    )
    suggestion.delimiter, rows = _csv_rows(text)
    found = _header_row(rows)
    if found is None:
        suggestion.notes.append("no line in the first 30 names two report columns: aliases needed by hand")
        return suggestion
    number, header = found
    if number != _first_non_empty(rows):
        suggestion.header_row = _physical_line(text, number, suggestion.delimiter)
    positions = match_header(header)
    _aliases(suggestion, header, positions)
    records = list(csv.reader(io.StringIO(text), delimiter=suggestion.delimiter))
    start = next((i for i, row in enumerate(records) if row == header), len(records)) + 1
    _suggest_values(suggestion, records[start:], positions)
    return suggestion


def _physical_line(text: str, record_number: int, delimiter: str) -> int:
    """The physical line where the `record_number`-th CSV record (1-based) starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for _ in range(record_number - 1):
        next(reader, None)
    return reader.line_num + 1


def suggest_for_workbook(path: Path, data: bytes, distributor_id: str) -> Suggestion:
    from python_calamine import CalamineWorkbook

    suggestion = Suggestion(path.name, distributor_id)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [
            (name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in workbook.sheet_names
        ]
    except Exception as error:  # calamine raises several kinds on malformed workbooks
        raise UnreadableFile(f"not a valid workbook ({type(error).__name__})") from None
    for index, (name, cells) in enumerate(sheets):
        rows = [[cell_text(value) for value in row] for row in cells[:SAMPLE_LINES]]
        found = _header_row(rows)
        if found is None:
            continue
        number, header = found
        suggestion.sheet = None if index == 0 else name
        if number != _first_non_empty(rows):
            suggestion.header_row = number
        positions = match_header(header)
        _aliases(suggestion, header, positions)
        records = [[cell_text(value) for value in row] for row in cells[number:]]
        _suggest_values(suggestion, records, positions)
        return suggestion
    suggestion.notes.append("no sheet has a row naming two report columns: aliases needed by hand")
    return suggestion


def suggest(path: Path, distributor_id: str) -> Suggestion:
    data = path.read_bytes()
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return suggest_for_workbook(path, data, distributor_id)
    return suggest_for_csv(path, data, distributor_id)


@dataclass(frozen=True)
class Trial:
    files: int
    rows_read: int
    rows_loaded: int
    quarantined: list[tuple[str, int, str, str]]  # file, line, reason, raw


def try_suggestion(suggestion: Suggestion, files: list[Path]) -> Trial:
    """Stage `files` as the distributor's reports with the suggested profile, in a scratch folder
    and an in-memory warehouse: what would load and what would be quarantined."""
    with tempfile.TemporaryDirectory(prefix="rma-profile-") as scratch:
        root = Path(scratch)
        _write_rows(
            root / "reference/distributors.csv",
            [{"distributor_id": suggestion.distributor_id, "currency": "XXX"}],
        )
        _write_rows(root / "reference/report_profiles.csv", [suggestion.profile_row])
        _write_rows(
            root / "reference/column_aliases.csv",
            [
                {"distributor_id": suggestion.distributor_id, "alias": a, "column": c}
                for a, c in suggestion.aliases
            ],
            ["distributor_id", "alias", "column"],
        )
        folder = root / "inbound/fulfillment_reports" / suggestion.distributor_id
        folder.mkdir(parents=True)
        for number, path in enumerate(files):
            shutil.copyfile(path, folder / f"{number:04d}-{path.name}")
        with duckdb.connect() as con:
            for name in ("distributors", "report_profiles", "column_aliases", "fulfillment_reports"):
                report = stage_source(con, root, SOURCES[name])
            names = {f"{number:04d}-{path.name}": path.name for number, path in enumerate(files)}
            quarantined = [
                (names.get(Path(file).name, file), line, reason, raw or detail or "")
                for file, line, reason, raw, detail in con.execute(
                    """SELECT source_file, source_line, reason, raw, detail FROM quarantine
                    WHERE source IN ('report_profiles', 'column_aliases', 'fulfillment_reports')
                    ORDER BY source_file, source_line"""
                ).fetchall()
            ]
    return Trial(len(files), report.rows_read, report.rows_loaded, quarantined)


def _write_rows(path: Path, rows: list[dict], header: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=header or list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


PROFILE_HEADER = [column.name for column in REPORT_PROFILES.columns]


def csv_lines(rows: list[list[str]]) -> str:
    """The rows as CSV lines, without a final line break."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().removesuffix("\n")


def sample_files(path: Path) -> list[Path]:
    """The reports under `path` (or `path` itself), in byte order of their path."""
    if path.is_file():
        return [path]
    readable = (".csv", *WORKBOOK_SUFFIXES)
    found = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in readable]
    return sorted(found, key=lambda p: str(p.relative_to(path)).encode("utf-8", "surrogateescape"))


def distributor_of(path: Path) -> str | None:
    """The distributor folder a path lies in (inbound/fulfillment_reports/<distributor_id>/...)."""
    parts = path.resolve().parts
    for index, part in enumerate(parts[:-1]):
        if part == "fulfillment_reports" and (index + 2 < len(parts) or path.is_dir()):
            return parts[index + 1]
    return None


def suggestion_text(suggestion: Suggestion, trial: Trial, files: list[Path]) -> str:
    """What `rma-recon profile` prints: the rows to paste, then how they read the samples."""
    out = [
        f"Read {printable(suggestion.source)}"
        + (f" (and tried on {len(files)} files)" if len(files) > 1 else "")
        + "."
    ]
    if not suggestion.needs_profile and not suggestion.aliases and not suggestion.notes:
        out.append("It is in the standard format (rulebook §2): no profile is needed.")
    else:
        if suggestion.needs_profile:
            out += [
                "",
                "Add to reference/report_profiles.csv (a new file starts with the first line):",
                "",
                csv_lines([PROFILE_HEADER, [suggestion.profile_row[name] for name in PROFILE_HEADER]]),
            ]
        if suggestion.aliases:
            rows = [[suggestion.distributor_id, alias, column] for alias, column in suggestion.aliases]
            out += [
                "",
                "Add to reference/column_aliases.csv (a new file starts with the first line):",
                "",
                csv_lines([["distributor_id", "alias", "column"], *rows]),
            ]
    for note in suggestion.notes:
        out.append(printable(f"Check: {note}."))
    quarantined = len(trial.quarantined)
    read_how = "With these rows" if suggestion.needs_profile or suggestion.aliases else "Read as it is"
    out += [
        "",
        f"{read_how}, {trial.rows_loaded} of {trial.rows_read} rows of {trial.files} file(s) would load"
        + (f"; {quarantined} would be quarantined:" if quarantined else ", none quarantined."),
    ]
    for file, line, reason, raw in trial.quarantined[:10]:
        out.append(printable(f"  {file} line {line}: {reason}  {raw[:120]}"))
    if quarantined > 10:
        out.append(f"  ... and {quarantined - 10} more")
    out.append("Nothing was saved: check the rows, paste them into the files, then run as usual.")
    return "\n".join(out)
