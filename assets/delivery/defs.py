"""The release and delivery assets (rulebook §7.1), and the resource that says how statements
travel: a closed quarter, once a second person releases it, sent to the distributors."""

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets.delivery.delivery_log import (
    DeliveryRefused,
    check_deliverable,
    deliver_statements,
    still_as_released,
)
from assets.delivery.release import ReleaseRefused, release, released, released_digests
from assets.delivery.transport import Transport
from assets.ingest.reference import Vendor, close_blocker, load_vendor
from assets.partitions import quarterly_partitions
from assets.resources import WAREHOUSE_POOL, RunSettings
from assets.statements.statement_files import stored_by_distributor, stored_contents
from core.quarter_state import is_closed
from core.quarters import Quarter


class StatementDelivery(dg.ConfigurableResource):
    """How FINAL statements reach distributors: .eml files in an outbox (default) or SMTP.

    Blank fields fall back to environment variables, so the CLI and a deployment set them there.
    """

    mode: str = Field(
        default="", description="outbox (write .eml files) or smtp; blank = $RMA_DELIVERY_MODE or outbox"
    )
    outbox_dir: str = Field(
        default="", description="blank = $RMA_OUTBOX_DIR or the folder outbox in the statements folder"
    )
    smtp_host: str = Field(default="", description="blank = $RMA_SMTP_HOST or localhost")
    smtp_port: int = Field(default=0, description="0 = $RMA_SMTP_PORT or 587")
    starttls: bool = Field(
        default=True,
        description="upgrade the connection with STARTTLS ($RMA_SMTP_STARTTLS=false turns it off)",
    )
    username_env: str = Field(
        default="RMA_SMTP_USER", description="environment variable holding the SMTP user"
    )
    password_env: str = Field(
        default="RMA_SMTP_PASSWORD", description="environment variable holding the SMTP password"
    )
    sender: str = Field(
        default="", description="From address; blank = $RMA_SENDER or the vendor's email (vendor.csv)"
    )

    def from_address(self, vendor: Vendor) -> str:
        return self.sender or os.environ.get("RMA_SENDER") or vendor.email

    def outbox_path(self, statements_path: Path) -> Path:
        """Where outbox mode writes: beside the quarters' statements, not the current folder."""
        return Path(self.outbox_dir or os.environ.get("RMA_OUTBOX_DIR") or statements_path / "outbox")

    def transport(self, statements_path: Path) -> Transport:
        mode = self.mode or os.environ.get("RMA_DELIVERY_MODE", "outbox")
        if mode not in ("outbox", "smtp"):
            raise ValueError(f"delivery mode must be outbox or smtp, not {mode!r}")
        return Transport(
            mode=mode,
            outbox_dir=self.outbox_path(statements_path),
            host=self.smtp_host or os.environ.get("RMA_SMTP_HOST", "localhost"),
            port=self.smtp_port or int(os.environ.get("RMA_SMTP_PORT", "587")),
            starttls=self.starttls and os.environ.get("RMA_SMTP_STARTTLS", "true").lower() != "false",
            username=os.environ.get(self.username_env) or None,
            password=os.environ.get(self.password_env) or None,
        )


@dg.asset(
    group_name="statements",
    kinds={"duckdb"},
    deps=["credit_statements"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def quarter_release(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: RunSettings
) -> dg.MaterializeResult:
    """Rulebook §7.1: a closed quarter released by a second person (`settings.by`; the four-eyes rule
    from `settings.four_eyes`), with the SHA-256 of every FINAL file. Only then is anything sent.
    Releasing a released quarter changes nothing."""
    quarter = Quarter.from_partition_key(context.partition_key)
    with duckdb.get_connection() as con:
        try:
            done = release(con, quarter, settings.person, settings.four_eyes_rule)
        except ReleaseRefused as refused:
            raise dg.Failure(description=str(refused)) from None
    said = "was released" if done.already else "released"
    context.log.info(f"{quarter} {said} by {done.released_by} at {done.released_at:%Y-%m-%d %H:%M} UTC")
    return dg.MaterializeResult(
        metadata={
            "quarter": str(quarter),
            "closed_by": done.closed_by or "",
            "released_by": done.released_by,
            "released_at": f"{done.released_at:%Y-%m-%d %H:%M:%S} UTC",
            "four_eyes": done.four_eyes,
            "released_now": not done.already,
        }
    )


@dg.asset(
    group_name="statements",
    kinds={"email", "duckdb"},
    deps=["credit_statements", "quarter_release"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def statement_delivery(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    settings: RunSettings,
    delivery: StatementDelivery,
) -> dg.MaterializeResult:
    """The statements and remittance files of a released quarter sent to each distributor's email
    (distributors.csv), by SMTP or as .eml files in an outbox, only while their bytes are what the
    release approved. The delivery log sends each once and retries failed sends on the next run.
    A quarter not released (a draft, or closed and waiting for its release) sends nothing."""
    quarter = Quarter.from_partition_key(context.partition_key)
    with duckdb.get_connection() as con:
        if released(con, quarter) is None:
            state = "closed, not released yet" if is_closed(con, quarter) else "draft"
            return dg.MaterializeResult(
                metadata={"quarter": str(quarter), "status": f"{state}: nothing sent", "sent": 0}
            )
        approved = released_digests(con, quarter)
        vendor = load_vendor(con)
        if vendor is None:
            raise dg.Failure(description=f"cannot deliver {quarter}: {close_blocker(con)}")
        outbox = delivery.outbox_path(settings.statements_path)
        try:
            check_deliverable(con, str(quarter), stored_contents(con, quarter), approved)
            results = deliver_statements(
                con,
                str(quarter),
                still_as_released(stored_by_distributor(con, quarter), approved),
                delivery.transport(settings.statements_path),
                delivery.from_address(vendor),
                vendor,
                settings.person,
            )
        except DeliveryRefused as refused:
            raise dg.Failure(description=f"cannot deliver {quarter}: {refused}") from None
    counts = {
        status: sum(1 for r in results if r.status == status)
        for status in ("sent", "failed", "already_sent", "no_email")
    }
    for result in results:
        if result.status in ("failed", "no_email"):
            context.log.warning(f"{result.distributor_id}: {result.status}: {result.detail}")
    table = "\n".join(
        ["| distributor | recipient | status | detail |", "|---|---|---|---|"]
        + [
            f"| {r.distributor_id} | {r.recipient or ''} | {r.status} | {r.detail.replace('|', '/')} |"
            for r in results
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "quarter": str(quarter),
            "status": "released",
            **counts,
            "outbox": dg.MetadataValue.path(str(outbox / str(quarter))),
            "deliveries": dg.MetadataValue.md(table),
        }
    )
