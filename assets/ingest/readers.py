"""Read input files into header + raw records, keeping the physical line of every record.

Nothing here judges values: that is SQL's job (see `staging.py`). A file that cannot be
read at all raises `UnreadableFile` with a message for the quarantine.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from assets.ingest.profiles import NO_PROFILE, ReportProfile
from core.warehouse import WHITESPACE

# Distributors' files may carry very long fields; the quarantine must still see them.
csv.field_size_limit(sys.maxsize)


class UnreadableFile(Exception):
    """The file as a whole cannot be read (encoding, format, location). `profile_hint`: how a
    distributor's profile would read it, for a file that §2 cannot."""

    def __init__(self, message: str, profile_hint: str | None = None):
        super().__init__(message)
        self.profile_hint = profile_hint


@dataclass(frozen=True)
class RawRecord:
    line: int  # the physical line (or sheet row) where the record starts
    fields: list[str]
    raw: str
    lines: int = 1  # physical lines the record spans (a quoted field may hold line breaks)


@dataclass(frozen=True)
class RawFile:
    """A file's header and records, and where each of its physical lines (or sheet rows) went:
    lines = header_lines + blank_lines + the records' lines."""

    header: list[str]
    records: list[RawRecord]
    lines: int = 0
    header_lines: int = 0  # up to and including the header
    blank_lines: int = 0  # blank lines after the header, skipped


class _LineCounter:
    """Feeds lines to csv.reader while remembering how many were read and their text."""

    def __init__(self, stream: io.StringIO):
        self._stream = stream
        self.count = 0
        self.pending: list[str] = []

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = next(self._stream)
        self.count += 1
        self.pending.append(line)
        return line


def _is_blank(fields: list[str]) -> bool:
    return all(not field.strip() for field in fields)


def parse_csv_text(text: str, delimiter: str = ",", header_row: int | None = None) -> RawFile:
    """Split CSV text into a header and records; blank lines are skipped but counted. The header is
    the first non-empty row, from line `header_row` on when given (a title block above it)."""
    lines = _LineCounter(io.StringIO(text, newline=""))
    for _ in range((header_row or 1) - 1):
        if next(lines, None) is None:
            break
    lines.pending.clear()
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    header: list[str] | None = None
    records: list[RawRecord] = []
    header_lines = blank_lines = 0
    while True:
        start_line = lines.count + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise UnreadableFile(f"CSV syntax error near line {start_line}: {error}") from None
        raw = "".join(lines.pending).rstrip("\r\n")
        lines.pending.clear()
        if header is None:
            if fields:  # the header is the first row; a leading blank line is no header
                header = fields
                header_lines = lines.count
            continue
        if _is_blank(fields):
            blank_lines += lines.count - start_line + 1
            continue
        records.append(RawRecord(start_line, fields, raw, lines.count - start_line + 1))
    if header is None:
        return RawFile([], [])
    return RawFile(header, records, lines.count, header_lines, blank_lines)


WORKBOOK_SUFFIXES = (".xlsx", ".xls", ".xlsb", ".ods")  # read alike (rulebook §2)


def blank_line_chars(delimiter: str) -> str:
    """What a blank line of a file with this delimiter may hold: white space and delimiters, as
    `_is_blank` decides."""
    return WHITESPACE + delimiter


@dataclass(frozen=True)
class PlainCsv:
    """A CSV without quotes or bare carriage returns: each physical line is one record.

    Such a file needs no CSV parser: SQL splits `body` at newlines and commas. Nearly every
    export looks like this, and it is what lets a million-row file load in a second.
    """

    header: list[str]
    header_line: int
    body: str  # the text after the header line, CRLF turned into LF
    rows: int  # non-blank data lines, counted here independently of the SQL that loads them
    lines: int  # physical lines of the file
    blank_lines: int  # blank lines after the header
    delimiter: str = ","

    @property
    def header_lines(self) -> int:
        return self.header_line


_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _decode(data: bytes, profile: ReportProfile | None = None) -> str:
    """The file's text. §2 reads UTF-8 (a BOM allowed); with a profile, its encoding, except that
    a byte-order mark decides: it cannot be mistaken."""
    encoding = "utf-8" if profile is None else profile.encoding
    if profile is not None and data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8"
    elif profile is not None and data.startswith(_UTF16_BOMS):
        encoding = "utf-16"
    if encoding == "utf-16":
        if not data.startswith(_UTF16_BOMS):
            raise UnreadableFile("not UTF-16 text: no byte-order mark")
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise UnreadableFile(f"not UTF-16 text (byte {error.start})") from None
    elif encoding == "cp1252":
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as error:
            raise UnreadableFile(f"not Windows-1252 text (byte {error.start})") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            if data.startswith(_UTF16_BOMS):
                raise UnreadableFile("UTF-16 text, not UTF-8", "set encoding utf-16") from None
            raise UnreadableFile(
                f"not UTF-8 text (byte {error.start})", "if it is Windows-1252, set encoding cp1252"
            ) from None
    if "\x00" in text:
        raise UnreadableFile("binary content (NUL bytes), not a CSV file")
    return text


def _plain_csv(text: str, delimiter: str = ",", header_row: int | None = None) -> PlainCsv | RawFile | None:
    """The file as a PlainCsv when no record needs a CSV parser, else None (an empty file: an empty
    RawFile)."""
    if '"' in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    start, line = 0, 1
    for _ in range((header_row or 1) - 1):  # a title block above the header
        end = text.find("\n", start)
        if end < 0:
            return RawFile([], [])
        start, line = end + 1, line + 1
    while text.startswith("\n", start):  # leading empty lines are no header
        start, line = start + 1, line + 1
    if start >= len(text):
        return RawFile([], [])
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    body = text[end + 1 :]
    blank = blank_line_chars(delimiter)
    rows = sum(1 for data_line in body.split("\n") if data_line.strip(blank))
    body_lines = body.count("\n") + (1 if body and not body.endswith("\n") else 0)
    header = text[start:end].split(delimiter)
    return PlainCsv(header, line, body, rows, line + body_lines, body_lines - rows, delimiter)


def read_csv_file(path: Path) -> RawFile | PlainCsv:
    return parse_csv_bytes(path.read_bytes())


def parse_csv_bytes(data: bytes, profile: ReportProfile | None = None) -> RawFile | PlainCsv:
    text = _decode(data, profile)
    delimiter, header_row = (profile or NO_PROFILE).delimiter, (profile or NO_PROFILE).header_row
    return _plain_csv(text, delimiter, header_row) or parse_csv_text(text, delimiter, header_row)


def cell_text(value: object, decimal: str = ".") -> str:
    """An XLSX cell as the text a CSV would have held; numbers with the profile's decimal separator,
    so that the profile reads them back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
        return text.replace(".", decimal)
    return str(value)


def _csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def read_xlsx_file(path: Path) -> RawFile:
    return parse_xlsx_bytes(path.read_bytes())


def _worksheet(workbook, wanted: str | None):
    """The profile's worksheet (by name, then by name ignoring case, then by number), else the first."""
    names = workbook.sheet_names
    if not names:
        raise UnreadableFile("the workbook has no worksheet")
    if wanted is None:
        return workbook.get_sheet_by_index(0)
    folded = {name.strip().casefold(): name for name in reversed(names)}
    if wanted in names:
        return workbook.get_sheet_by_name(wanted)
    if wanted.strip().casefold() in folded:
        return workbook.get_sheet_by_name(folded[wanted.strip().casefold()])
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return workbook.get_sheet_by_index(int(wanted) - 1)
    raise UnreadableFile(f"no worksheet {wanted!r} (the workbook has {', '.join(map(repr, names))})")


def parse_xlsx_bytes(data: bytes, kind: str = "XLSX", profile: ReportProfile | None = None) -> RawFile:
    """A workbook (XLSX, XLS, XLSB or ODS): its first worksheet (or the profile's); its first
    non-empty row (from the profile's header row on) is the header; line = sheet row."""
    from python_calamine import CalamineWorkbook  # reads workbooks in Rust, many times faster than openpyxl

    profile = profile or NO_PROFILE
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = _worksheet(workbook, profile.sheet).to_python(skip_empty_area=False)
    except UnreadableFile:
        raise
    except Exception as error:  # calamine raises several kinds on malformed workbooks
        raise UnreadableFile(f"not a valid {kind} workbook ({type(error).__name__})") from None
    header: list[str] | None = None
    records: list[RawRecord] = []
    header_lines = blank_lines = 0
    first_header_row = profile.header_row or 1
    for row_number, values in enumerate(rows, start=1):
        fields = [cell_text(value, profile.decimal) for value in values]
        if header is None:
            if row_number >= first_header_row and not _is_blank(fields):
                header, header_lines = fields, row_number
        elif _is_blank(fields):
            blank_lines += 1
        else:
            records.append(RawRecord(row_number, fields, _csv_line(fields)))
    if header is None:
        return RawFile([], [])
    return RawFile(header, records, len(rows), header_lines, blank_lines)


def parse_input_file(path: Path, data: bytes, profile: ReportProfile | None = None) -> RawFile | PlainCsv:
    """The content of a file already read (`data`), by the kind its name says, read as the
    distributor's profile says (None: rulebook §2)."""
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return parse_xlsx_bytes(data, path.suffix[1:].upper(), profile)
    return parse_csv_bytes(data, profile)


def is_inside(path: Path, root: Path, resolved: dict[str, str] | None = None) -> bool:
    """True when `path`, with every symbolic link resolved, stays under `root`.

    `resolved` caches real paths of directories across calls: a file that is not a link is
    then resolved with one lstat instead of one per path component.
    """
    if resolved is None:
        resolved = {}
    real_root = _real_directory(str(root), resolved)
    if os.path.islink(path):
        real_path = os.path.realpath(path)
    else:
        absolute = os.path.abspath(path)
        real_path = os.path.join(
            _real_directory(os.path.dirname(absolute), resolved), os.path.basename(absolute)
        )
    return os.path.commonpath([real_root, real_path]) == real_root


def _real_directory(directory: str, resolved: dict[str, str]) -> str:
    real = resolved.get(directory)
    if real is None:
        real = resolved[directory] = os.path.realpath(directory)
    return real
