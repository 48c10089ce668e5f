"""Alerts for ops, sent the way statements travel (the outbox by default): a failed run, a closed
quarter waiting for its release."""

from __future__ import annotations

import datetime as dt
import os
from email.message import EmailMessage

from assets.delivery.transport import new_message

DEFAULT_ALERT_SENDER = "rma-recon@localhost"
ALERTS_FOLDER = "alerts"  # in the outbox, beside the quarters' folders


def alert_addresses() -> tuple[str, str]:
    """(From, To): $RMA_SENDER or rma-recon@localhost, and $RMA_ALERT_TO or the same address."""
    sender = os.environ.get("RMA_SENDER", "").strip() or DEFAULT_ALERT_SENDER
    return sender, os.environ.get("RMA_ALERT_TO", "").strip() or sender


def alert_message(subject: str, lines: list[str]) -> EmailMessage:
    sender, recipient = alert_addresses()
    message = new_message(sender, recipient, f"[rma-recon] {subject}")
    message.set_content("\n".join(lines) + "\n")
    return message


def run_failed_alert(job: str, partition: str | None, run_id: str, reason: str, ui_url: str) -> EmailMessage:
    quarter = f" for {partition}" if partition else ""
    return alert_message(
        f"run failed: {job}{quarter}",
        [
            f"The run {run_id} of {job}{quarter} failed.",
            "",
            f"Why: {reason}",
            "",
            f"In the UI: {ui_url.rstrip('/')}/runs/{run_id}",
        ],
    )


def waiting_release_alert(
    quarter: str, closed_by: str | None, closed_at: dt.datetime, ui_url: str
) -> EmailMessage:
    return alert_message(
        f"{quarter} is closed and waits for its release",
        [
            f"{quarter} was closed by {closed_by or 'unknown'} at {closed_at:%Y-%m-%d %H:%M} UTC and is not "
            "released yet: nothing has been sent to the distributors.",
            "",
            f"A second person releases it: rma-recon release {quarter} --by NAME, or the job "
            f"quarterly_release in the UI ({ui_url.rstrip('/')}).",
        ],
    )
