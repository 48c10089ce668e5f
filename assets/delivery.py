"""Deliver FINAL statements to distributors: by SMTP, or as .eml files in an outbox folder.

A delivery log in the warehouse records every attempt, so a closed quarter's statement is sent
once; a failed send stays pending and is tried again on the next run. An SMTP send is logged
before the next one starts; the outbox, where sending again only replaces a file, logs a
run's attempts together.
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import duckdb
import pandas as pd

from assets.statement_files import StatementFile
from assets.warehouse import in_transaction, prepare

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class Transport:
    """Where messages go: an outbox folder (the default, no server needed) or an SMTP server."""

    mode: str = "outbox"  # outbox | smtp
    outbox_dir: Path = Path("data/outbox")
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 30.0

    @property
    def idempotent(self) -> bool:
        """Sending twice does no harm: the outbox replaces the same file. An e-mail cannot be unsent."""
        return self.mode == "outbox"

    def send(self, message: EmailMessage, quarter: str, file_name: str) -> str:
        if self.mode == "outbox":
            folder = self.outbox_dir / quarter
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{Path(file_name).stem}.eml"
            partial = folder / f".{path.name}.partial"
            partial.write_bytes(bytes(message))
            os.replace(partial, path)
            return f"written to {path}"
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        return f"sent via {self.host}:{self.port}"


def build_message(statement: StatementFile, quarter: str, recipient: str, sender: str, vendor: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"{vendor}: credit statement {quarter} for {statement.distributor_id}"
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(
        f"Hello,\n\nattached is your FINAL credit statement for {quarter} "
        f"(distributor {statement.distributor_id}).\nThe Summary sheet holds the credit total; the Credited, "
        f"Held and Rejected sheets list every claim with its reason.\n\n{vendor} finance\n"
    )
    message.add_attachment(statement.content, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=statement.file_name)
    return message


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
                results.append(DeliveryResult(statement.distributor_id, recipient, "already_sent", "sent in an earlier run"))
                continue
            if not recipient:
                results.append(DeliveryResult(statement.distributor_id, None, "no_email", "no email in distributors.csv"))
            else:
                try:
                    message = build_message(statement, quarter, recipient, sender, vendor)
                    detail = transport.send(message, quarter, statement.file_name)
                    results.append(DeliveryResult(statement.distributor_id, recipient, "sent", detail))
                except (OSError, smtplib.SMTPException, ValueError) as error:
                    results.append(DeliveryResult(statement.distributor_id, recipient, "failed", f"{type(error).__name__}: {error}"))
            result = results[-1]
            attempts.append([
                quarter, statement.distributor_id, statement.file_name, statement.sha256, result.recipient,
                result.status, dt.datetime.now(dt.UTC).replace(tzinfo=None), result.detail,
            ])
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
        try:
            cursor.execute("CHECKPOINT")
        except duckdb.Error:
            pass  # DuckDB tries again at a later commit or at the end of the run, and reports it there

    thread = threading.Thread(target=checkpoint, name="checkpoint", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        cursor.close()


def _log_attempts(con: duckdb.DuckDBPyConnection, attempts: list[list]) -> None:
    """Record send attempts in one statement (one upsert per row costs milliseconds each)."""
    columns = ["quarter", "distributor_id", "file_name", "sha256", "recipient", "status", "last_attempt_at", "detail"]
    con.register("delivery_attempts", pd.DataFrame(attempts, columns=columns, dtype=object))
    try:
        in_transaction(
            con,
            [(
                """INSERT INTO delivery_log
                SELECT quarter, distributor_id, file_name, sha256, recipient, status, 1,
                    CAST(last_attempt_at AS TIMESTAMP), detail
                FROM delivery_attempts
                ON CONFLICT (quarter, distributor_id, sha256) DO UPDATE SET
                    status = excluded.status, recipient = excluded.recipient,
                    attempts = delivery_log.attempts + 1,
                    last_attempt_at = excluded.last_attempt_at, detail = excluded.detail""",
                [],
            )],
            name="delivery",
        )
    finally:
        con.unregister("delivery_attempts")
