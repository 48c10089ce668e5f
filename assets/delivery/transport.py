"""How a statement travels: as an e-mail message, by SMTP or as an .eml file in an outbox folder."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from assets.ingest.reference import Vendor
from assets.statements.statement_files import StatementFile
from core.files import replace_file

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
            replace_file(path, bytes(message))
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


CSV_TYPE = ("text", "csv")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Parcel:
    """What one distributor gets for a released quarter: its statement and remittance file."""

    distributor_id: str
    distributor_name: str | None
    statement: StatementFile
    remittance: StatementFile | None
    credit_memo: str | None
    credit_total: Decimal
    currency: str
    counts: tuple[int, int, int]  # credited, held, rejected


def attachment_name(vendor: Vendor, distributor_id: str, quarter: str, what: str, suffix: str) -> str:
    """`<vendor>-<distributor>-<quarter>-<what>.<suffix>`, safe as a file name on any system: the
    plain distributor id collides in a recipient's downloads."""
    parts = (vendor.legal_name, distributor_id, quarter, what)
    return "-".join(_UNSAFE.sub("-", part).strip("-.") or "x" for part in parts)[:150] + suffix


def new_message(sender: str, recipient: str, subject: str) -> EmailMessage:
    """A message with its envelope headers: From, To, Subject, Date (now) and a Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    return message


def build_message(parcel: Parcel, quarter: str, recipient: str, sender: str, vendor: Vendor) -> EmailMessage:
    subject = f"{vendor.legal_name}: credit statement {quarter} for {parcel.distributor_id}"
    message = new_message(sender, recipient, subject)
    message["Reply-To"] = vendor.email
    credited, held, rejected = parcel.counts
    memo = f"Credit memo:   {parcel.credit_memo}\n" if parcel.credit_memo else "No credit this quarter.\n"
    contact = " or ".join(part for part in (vendor.email, vendor.phone) if part)
    signature = "\n".join(part for part in (vendor.legal_name, vendor.address) if part)
    message.set_content(
        f"Hello {parcel.distributor_name or parcel.distributor_id},\n\n"
        f"attached are your FINAL credit statement for {quarter} (distributor {parcel.distributor_id}) "
        "and its remittance file, one line per claim for your systems.\n\n"
        f"{memo}Credit total:  {parcel.credit_total:,.2f} {parcel.currency}\n"
        f"Claims: {credited} credited, {held} held, {rejected} rejected; "
        "the statement gives each one's reason.\n\n"
        f"{vendor.credit_terms}\nTo dispute a line, write within {vendor.dispute_days} days of the statement "
        f"date to {contact}, quoting its source file and line.\n\n{signature}\n"
    )
    message.add_attachment(
        parcel.statement.content,
        maintype=XLSX_TYPE[0],
        subtype=XLSX_TYPE[1],
        filename=attachment_name(vendor, parcel.distributor_id, quarter, "credit-statement", ".xlsx"),
    )
    if parcel.remittance is not None:
        message.add_attachment(
            parcel.remittance.content,
            maintype=CSV_TYPE[0],
            subtype=CSV_TYPE[1],
            filename=attachment_name(vendor, parcel.distributor_id, quarter, "remittance", ".csv"),
        )
    return message
