"""The delivery asset, and the resource that says how statements travel: FINAL statements of a
closed quarter sent to the distributors."""

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets.delivery.delivery_log import deliver_statements
from assets.delivery.transport import Transport
from assets.partitions import quarterly_partitions
from assets.reconcile.closing import is_closed
from assets.resources import WAREHOUSE_POOL, RunSettings
from assets.statements.statement_files import frozen_statements
from core.quarters import Quarter

DEFAULT_OUTBOX_DIR = "data/outbox"


class StatementDelivery(dg.ConfigurableResource):
    """How FINAL statements reach distributors: .eml files in an outbox (default) or SMTP.

    Blank fields fall back to environment variables, so the CLI and a deployment set them there.
    """

    mode: str = Field(
        default="", description="outbox (write .eml files) or smtp; blank = $RMA_DELIVERY_MODE or outbox"
    )
    outbox_dir: str = Field(default="", description="blank = $RMA_OUTBOX_DIR or data/outbox")
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
    sender: str = Field(default="", description="From address; blank = $RMA_SENDER or credits@vendor.example")

    @property
    def from_address(self) -> str:
        return self.sender or os.environ.get("RMA_SENDER", "credits@vendor.example")

    def transport(self) -> Transport:
        mode = self.mode or os.environ.get("RMA_DELIVERY_MODE", "outbox")
        if mode not in ("outbox", "smtp"):
            raise ValueError(f"delivery mode must be outbox or smtp, not {mode!r}")
        return Transport(
            mode=mode,
            outbox_dir=Path(self.outbox_dir or os.environ.get("RMA_OUTBOX_DIR", DEFAULT_OUTBOX_DIR)),
            host=self.smtp_host or os.environ.get("RMA_SMTP_HOST", "localhost"),
            port=self.smtp_port or int(os.environ.get("RMA_SMTP_PORT", "587")),
            starttls=self.starttls and os.environ.get("RMA_SMTP_STARTTLS", "true").lower() != "false",
            username=os.environ.get(self.username_env) or None,
            password=os.environ.get(self.password_env) or None,
        )


@dg.asset(
    group_name="statements",
    kinds={"email", "duckdb"},
    deps=["credit_statements"],
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def statement_delivery(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    settings: RunSettings,
    delivery: StatementDelivery,
) -> dg.MaterializeResult:
    """FINAL statements of a closed quarter sent to each distributor's email (distributors.csv),
    by SMTP or as .eml files in an outbox. The delivery log sends each statement once and retries
    failed sends on the next run. Draft quarters send nothing."""
    quarter = Quarter.from_partition_key(context.partition_key)
    with duckdb.get_connection() as con:
        if not is_closed(con, quarter):
            return dg.MaterializeResult(
                metadata={"quarter": str(quarter), "status": "draft quarter: nothing sent"}
            )
        results = deliver_statements(
            con,
            str(quarter),
            frozen_statements(con, quarter),
            delivery.transport(),
            delivery.from_address,
            settings.vendor,
        )
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
        metadata={"quarter": str(quarter), **counts, "deliveries": dg.MetadataValue.md(table)}
    )
