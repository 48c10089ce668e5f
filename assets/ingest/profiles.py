"""Rulebook §2.5: a distributor's own report format, as staged from reference/report_profiles.csv
and reference/column_aliases.csv.

A `ReportProfile` tells the readers how to split a file (encoding, delimiter, sheet, header row)
and staging's SQL how to read its amounts and dates; a distributor without one is read by §2.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from core.warehouse import has_table

DELIMITER_CHARACTERS = {",": ",", ";": ";", "tab": "\t", "|": "|"}
# "space" groups thousands with any of the spaces spreadsheets write: plain, no-break, narrow no-break.
THOUSANDS_CHARACTERS = {".": ".", ",": ",", "space": " \u00a0\u202f", "'": "'\u2019"}


def _class(characters: str) -> str:
    """An RE2 character class of these characters."""
    return "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in characters) + "]"


@dataclass(frozen=True)
class ReportProfile:
    encoding: str = "utf-8"
    delimiter: str = ","  # the character
    decimal: str = "."
    thousands: str | None = None  # as written in the profile: ".", ",", "space" or "'"
    date_format: str | None = None  # one of sources.DATE_FORMATS (lower-case)
    sheet: str | None = None
    header_row: int | None = None
    aliases: tuple[tuple[str, str], ...] = ()  # (alias, lower-case and trimmed; column), in file order

    @property
    def reads_amounts(self) -> bool:
        """Whether amounts are written otherwise than §2 says."""
        return self.decimal != "." or self.thousands is not None

    @property
    def reads_values(self) -> bool:
        """Whether amounts or dates are written otherwise than §2 says."""
        return self.reads_amounts or self.date_format is not None

    @property
    def fingerprint(self) -> str:
        """Everything that changes how a file is staged: a new fingerprint stages the files again."""
        return repr(self)

    @property
    def amount_pattern(self) -> str:
        """RE2 pattern of an amount as this profile writes it (with or without thousands groups)."""
        decimal = _class(self.decimal)
        if self.thousands is None:
            return f"[+-]?\\d+({decimal}\\d+)?"
        group = _class(THOUSANDS_CHARACTERS[self.thousands])
        return f"[+-]?(\\d{{1,3}}({group}\\d{{3}})+|\\d+)({decimal}\\d+)?"

    @property
    def thousands_pattern(self) -> str | None:
        return _class(THOUSANDS_CHARACTERS[self.thousands]) if self.thousands else None

    def header_positions(self, header: list[str], columns: list[str]) -> dict[str, int]:
        """Field position of each column found in `header`: a column's aliases in file order, then
        its own name; the first present counts. A header taken by an alias names no other column."""
        names = [name.strip().lower() for name in header]
        first_position: dict[str, int] = {}
        for index, name in enumerate(names):
            first_position.setdefault(name, index)
        aliased = {alias for alias, _ in self.aliases}
        positions: dict[str, int] = {}
        for column in columns:
            candidates = [alias for alias, target in self.aliases if target == column]
            if column not in aliased:
                candidates.append(column)
            for candidate in candidates:
                if candidate in first_position:
                    positions[column] = first_position[candidate]
                    break
        return positions


NO_PROFILE = ReportProfile()


def load_profiles(con: duckdb.DuckDBPyConnection) -> dict[str, ReportProfile]:
    """The profile of every distributor that has a valid profile row or alias rows, as staged."""
    aliases: dict[str, list[tuple[str, str]]] = {}
    if has_table(con, "stg_column_aliases"):
        for distributor_id, alias, column in con.execute(
            'SELECT distributor_id, alias, "column" FROM stg_column_aliases ORDER BY source_line'
        ).fetchall():
            aliases.setdefault(distributor_id, []).append((alias.strip().lower(), column))
    rows = []
    if has_table(con, "stg_report_profiles"):
        rows = con.execute(
            """SELECT distributor_id, encoding, delimiter, decimal, thousands, date_format, sheet, header_row
            FROM stg_report_profiles ORDER BY source_line"""
        ).fetchall()
    profiles: dict[str, ReportProfile] = {}
    for distributor_id, encoding, delimiter, decimal, thousands, date_format, sheet, header_row in rows:
        profiles[distributor_id] = ReportProfile(
            encoding=encoding or "utf-8",
            delimiter=DELIMITER_CHARACTERS[delimiter or ","],
            decimal=decimal or ".",
            thousands=thousands,
            date_format=date_format,
            sheet=sheet,
            header_row=header_row,
            aliases=tuple(aliases.pop(distributor_id, ())),
        )
    for distributor_id, its_aliases in aliases.items():
        profiles[distributor_id] = ReportProfile(aliases=tuple(its_aliases))
    return profiles
