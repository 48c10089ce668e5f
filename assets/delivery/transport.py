"""How a statement travels: as an e-mail message, by SMTP or as an .eml file in an outbox folder."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

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


def build_message(
    statement: StatementFile, quarter: str, recipient: str, sender: str, vendor: str
) -> EmailMessage:
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
    message.add_attachment(
        statement.content, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=statement.file_name
    )
    return message
