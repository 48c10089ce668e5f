"""The reference data a close needs (rulebook §7.3, §7.4), read from what staging loaded: who the
statements are from, the ledger's accounts, and whether a close may go ahead."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from assets.ingest.sources import GL_ROLES

DEFAULT_CREDIT_TERMS = "Credits are applied to your account within 30 days of the statement date."
DEFAULT_DISPUTE_DAYS = 30
DEFAULT_ACCOUNTS = {"warranty_expense": "5400", "credits_payable": "2100", "accrued_liability": "2150"}


@dataclass(frozen=True)
class Vendor:
    legal_name: str
    email: str
    address: str | None = None
    phone: str | None = None
    tax_id: str | None = None
    credit_terms: str = DEFAULT_CREDIT_TERMS
    dispute_days: int = DEFAULT_DISPUTE_DAYS


def load_vendor(con: duckdb.DuckDBPyConnection) -> Vendor | None:
    """The vendor of reference/vendor.csv, or None while it is missing or in quarantine."""
    if _quarantined(con, "vendor"):
        return None
    row = con.execute(
        """SELECT legal_name, email, address, phone, tax_id, credit_terms, dispute_days
        FROM stg_vendor ORDER BY source_line LIMIT 1"""
    ).fetchone()
    if row is None:
        return None
    legal_name, email, address, phone, tax_id, credit_terms, dispute_days = row
    return Vendor(
        legal_name,
        email,
        address,
        phone,
        tax_id,
        credit_terms or DEFAULT_CREDIT_TERMS,
        DEFAULT_DISPUTE_DAYS if dispute_days is None else dispute_days,
    )


def gl_accounts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Account by role: reference/gl_accounts.csv, or the defaults without it."""
    rows = dict(con.execute("SELECT role, account FROM stg_gl_accounts").fetchall())
    return rows or dict(DEFAULT_ACCOUNTS)


def close_blocker(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why a quarter cannot be closed with the reference data as staged, in one line (saying what
    to set); None when it can."""
    for source, file_name in (("vendor", "vendor.csv"), ("gl_accounts", "gl_accounts.csv")):
        quarantined = _quarantined(con, source)
        if quarantined:
            line, reason = quarantined
            return f"reference/{file_name} line {line} is in quarantine ({reason}): fix it, then close again"
    if load_vendor(con) is None:
        return (
            "reference/vendor.csv is missing: add it with the vendor's legal_name and email (and "
            "address, phone, tax_id, credit_terms, dispute_days) before closing; drafts run without it"
        )
    accounts = dict(con.execute("SELECT role, account FROM stg_gl_accounts").fetchall())
    missing = [role for role in GL_ROLES if role not in accounts]
    if accounts and missing:
        return (
            f"reference/gl_accounts.csv has no account for {', '.join(missing)}: it needs one row for each "
            f"of {', '.join(GL_ROLES)} (or no file, for the accounts 5400, 2100 and 2150)"
        )
    return None


def _quarantined(con: duckdb.DuckDBPyConnection, source: str) -> tuple[int, str] | None:
    return con.execute(
        "SELECT source_line, reason FROM quarantine WHERE source = ? ORDER BY source_line LIMIT 1", [source]
    ).fetchone()
