"""Deliver FINAL statements to distributors and log every attempt in the warehouse.

The delivery log records every attempt, so a closed quarter's statement is sent once; a failed
send stays pending and is tried again on the next run. An SMTP send is logged before the next
one starts; the outbox, where sending again only replaces a file, logs a run's attempts together.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass

import duckdb
import pandas as pd

from assets.delivery.transport import Parcel, Transport, build_message
from assets.ingest.reference import Vendor
from assets.statements.statement_files import StatementFile, file_kind
from core.warehouse import in_transaction, prepare


@dataclass(frozen=True)
class DeliveryResult:
    distributor_id: str
    recipient: str | None
    status: str  # sent | failed | already_sent | no_email
    detail: str


class DeliveryRefused(Exception):
    """Files that are not what the release approved: nothing is sent."""


def parcels(
    con: duckdb.DuckDBPyConnection, quarter: str, files: Iterable[tuple[str, dict[str, StatementFile]]]
) -> Iterator[Parcel]:
    """One parcel per distributor (`files`: each distributor's {kind: file}, see
    `stored_by_distributor`): its statement and remittance file, memo and totals."""
    credits = {
        row[0]: row[1:]
        for row in con.execute(
            """SELECT c.distributor_id, d.name, c.credit_memo, c.credit_total, c.currency,
                c.credited_count, c.held_count, c.rejected_count
            FROM distributor_credits c LEFT JOIN stg_distributors d USING (distributor_id)
            WHERE c.quarter = ?""",
            [quarter],
        ).fetchall()
    }
    for distributor_id, kinds in files:
        name, memo, total, currency, credited, held, rejected = credits[distributor_id]
        yield Parcel(
            distributor_id,
            name,
            kinds["xlsx"],
            kinds.get("csv"),
            memo,
            total,
            currency,
            (credited, held, rejected),
        )


def check_released(files: Iterable[StatementFile], approved: dict[str, str]) -> None:
    """Raise DeliveryRefused unless every file is byte for byte what the release approved (the
    files are read one at a time)."""
    differing = [f.file_name for f in files if approved.get(f.file_name) != f.sha256]
    if differing:
        raise DeliveryRefused(
            f"{len(differing)} file(s) differ from what the release approved "
            f"(first: {sorted(differing)[0]}); nothing sent"
        )


def check_deliverable(
    con: duckdb.DuckDBPyConnection, quarter: str, files: Iterable[StatementFile], approved: dict[str, str]
) -> None:
    """Before anything is sent: every stored file is what the release approved, every approved
    file is stored (the journal aside, which is not sent), and each distributor has one statement
    and a credit row. Raise DeliveryRefused if not."""
    stored: dict[str, list[str]] = {}

    def seen(files: Iterable[StatementFile]) -> Iterator[StatementFile]:
        for f in files:
            stored.setdefault(f.distributor_id, []).append(f.file_name)
            yield f

    check_released(seen(files), approved)
    names = {name for distributor_names in stored.values() for name in distributor_names}
    missing = sorted(name for name in approved if name not in names and not name.startswith("finance/"))
    if missing:
        raise DeliveryRefused(
            f"{len(missing)} released file(s) are not stored (first: {missing[0]}); nothing sent"
        )
    credited = {
        row[0]
        for row in con.execute(
            "SELECT distributor_id FROM distributor_credits WHERE quarter = ?", [quarter]
        ).fetchall()
    }
    for distributor_id, distributor_names in sorted(stored.items()):
        statements = [name for name in distributor_names if file_kind(name) == "xlsx"]
        if len(statements) != 1 or distributor_id not in credited:
            problem = (
                "has no credit row" if distributor_id not in credited else f"has {len(statements)} statements"
            )
            raise DeliveryRefused(f"{distributor_id} {problem}; nothing sent")


def still_as_released(
    files: Iterable[tuple[str, dict[str, StatementFile]]], approved: dict[str, str]
) -> Iterator[tuple[str, dict[str, StatementFile]]]:
    """The files again, each distributor's checked once more as it is read for sending: the first
    reading checked them all before anything was sent, this one what is sent."""
    for distributor_id, kinds in files:
        for f in kinds.values():
            if approved.get(f.file_name) != f.sha256:
                raise DeliveryRefused(
                    f"{f.file_name} changed after it was checked against the release; delivery "
                    "stopped there (the distributors before it were sent and logged)"
                )
        yield distributor_id, kinds


def deliver_statements(
    con: duckdb.DuckDBPyConnection,
    quarter: str,
    files: Iterable[tuple[str, dict[str, StatementFile]]],
    transport: Transport,
    sender: str,
    vendor: Vendor,
    who: str,
) -> list[DeliveryResult]:
    """Send each distributor's statement and remittance file not yet sent; log every attempt (in
    the delivery log, and as a row of the audit log by `who`)."""
    prepare(con)
    emails = dict(con.execute("SELECT distributor_id, email FROM stg_distributors").fetchall())
    sent = {
        (row[0], row[1])
        for row in con.execute(
            "SELECT distributor_id, sha256 FROM delivery_log WHERE quarter = ? AND status = 'sent'", [quarter]
        ).fetchall()
    }
    results = []
    attempts: list[list] = []
    try:
        # Writing .eml files is Python's work: the close's writes are checkpointed meanwhile. An SMTP
        # send is logged before the next one starts, so it does not wait for a checkpoint.
        with checkpointing_meanwhile(con) if transport.idempotent else nullcontext():
            for parcel in parcels(con, quarter, files):
                statement = parcel.statement
                recipient = emails.get(parcel.distributor_id)
                if (parcel.distributor_id, statement.sha256) in sent:
                    results.append(
                        DeliveryResult(
                            parcel.distributor_id, recipient, "already_sent", "sent in an earlier run"
                        )
                    )
                    continue
                if not recipient:
                    results.append(
                        DeliveryResult(
                            parcel.distributor_id, None, "no_email", "no email in distributors.csv"
                        )
                    )
                else:
                    try:
                        message = build_message(parcel, quarter, recipient, sender, vendor)
                        detail = transport.send(message, quarter, statement.file_name)
                        results.append(DeliveryResult(parcel.distributor_id, recipient, "sent", detail))
                    except (OSError, smtplib.SMTPException, ValueError) as error:
                        results.append(
                            DeliveryResult(
                                parcel.distributor_id, recipient, "failed", f"{type(error).__name__}: {error}"
                            )
                        )
                result = results[-1]
                attempts.append(
                    [
                        quarter,
                        parcel.distributor_id,
                        statement.file_name,
                        statement.sha256,
                        result.recipient,
                        result.status,
                        dt.datetime.now(dt.UTC).replace(tzinfo=None),
                        result.detail,
                    ]
                )
                if not transport.idempotent:
                    # Logged before the next send: a crash must not make a sent e-mail look unsent.
                    _log_attempts(con, attempts, who)
                    attempts.clear()
    except BaseException:
        # What was sent before the error stays logged as sent (quietly: the first error says why).
        if attempts:
            with suppress(duckdb.Error):
                _log_attempts(con, attempts, who)
        raise
    if attempts:
        _log_attempts(con, attempts, who)
    return results


@contextmanager
def checkpointing_meanwhile(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Checkpoint the database on another thread while the caller works in Python.

    A run's writes are checkpointed once anyway: at the commit that finds the WAL over DuckDB's
    limit, or when the run ends. DuckDB checkpoints without holding the GIL, so this puts
    otherwise idle cores to work. The caller must not write until the block ends.
    """
    cursor = con.cursor()

    def checkpoint() -> None:
        # DuckDB tries again at a later commit or at the end of the run, and reports it there
        with suppress(duckdb.Error):
            cursor.execute("CHECKPOINT")

    thread = threading.Thread(target=checkpoint, name="checkpoint", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        cursor.close()


def _log_attempts(con: duckdb.DuckDBPyConnection, attempts: list[list], who: str) -> None:
    """Record send attempts in one statement (one upsert per row costs milliseconds each), and each
    as a row of the audit log, in the same transaction."""
    columns = [
        "quarter",
        "distributor_id",
        "file_name",
        "sha256",
        "recipient",
        "status",
        "last_attempt_at",
        "detail",
    ]
    con.register("delivery_attempts", pd.DataFrame(attempts, columns=columns, dtype=object))
    try:
        in_transaction(
            con,
            [
                (
                    """INSERT INTO delivery_log
                SELECT quarter, distributor_id, file_name, sha256, recipient, status, 1,
                    CAST(last_attempt_at AS TIMESTAMP), detail
                FROM delivery_attempts
                ON CONFLICT (quarter, distributor_id, sha256) DO UPDATE SET
                    status = excluded.status, recipient = excluded.recipient,
                    attempts = delivery_log.attempts + 1,
                    last_attempt_at = excluded.last_attempt_at, detail = excluded.detail""",
                    [],
                ),
                (
                    """INSERT INTO audit_log
                    SELECT CAST(last_attempt_at AS TIMESTAMP), ?, 'delivery', quarter, status,
                        distributor_id || ' to ' || coalesce(recipient, '(no e-mail)') || ': ' || detail
                    FROM delivery_attempts""",
                    [who],
                ),
            ],
            name="delivery",
        )
    finally:
        con.unregister("delivery_attempts")
