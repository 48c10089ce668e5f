"""Deliver FINAL statements to distributors and log every attempt in the warehouse.

The delivery log records every attempt, so a closed quarter's statement is sent once; a failed
send stays pending and is tried again on the next run. An SMTP send is logged before the next
one starts; the outbox, where sending again only replaces a file, logs a run's attempts together.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass

import duckdb
import pandas as pd

from assets.delivery.transport import Transport, build_message
from assets.statements.statement_files import StatementFile
from core.warehouse import in_transaction, prepare


@dataclass(frozen=True)
class DeliveryResult:
    distributor_id: str
    recipient: str | None
    status: str  # sent | failed | already_sent | no_email
    detail: str


def deliver_statements(
    con: duckdb.DuckDBPyConnection,
    quarter: str,
    files: list[StatementFile],
    transport: Transport,
    sender: str,
    vendor: str,
) -> list[DeliveryResult]:
    """Send each statement not yet sent to its distributor's email; log every attempt."""
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
    # Writing .eml files is Python's work: the close's writes are checkpointed meanwhile. An SMTP
    # send is logged before the next one starts, so it does not wait for a checkpoint.
    with checkpointing_meanwhile(con) if transport.idempotent else nullcontext():
        for statement in files:
            recipient = emails.get(statement.distributor_id)
            if (statement.distributor_id, statement.sha256) in sent:
                results.append(
                    DeliveryResult(
                        statement.distributor_id, recipient, "already_sent", "sent in an earlier run"
                    )
                )
                continue
            if not recipient:
                results.append(
                    DeliveryResult(statement.distributor_id, None, "no_email", "no email in distributors.csv")
                )
            else:
                try:
                    message = build_message(statement, quarter, recipient, sender, vendor)
                    detail = transport.send(message, quarter, statement.file_name)
                    results.append(DeliveryResult(statement.distributor_id, recipient, "sent", detail))
                except (OSError, smtplib.SMTPException, ValueError) as error:
                    results.append(
                        DeliveryResult(
                            statement.distributor_id, recipient, "failed", f"{type(error).__name__}: {error}"
                        )
                    )
            result = results[-1]
            attempts.append(
                [
                    quarter,
                    statement.distributor_id,
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
                _log_attempts(con, attempts)
                attempts.clear()
    if attempts:
        _log_attempts(con, attempts)
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


def _log_attempts(con: duckdb.DuckDBPyConnection, attempts: list[list]) -> None:
    """Record send attempts in one statement (one upsert per row costs milliseconds each)."""
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
                )
            ],
            name="delivery",
        )
    finally:
        con.unregister("delivery_attempts")
