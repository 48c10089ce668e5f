"""A sensor that starts a draft run of the current quarter when new input files land."""

import datetime as dt
import hashlib
import os
from pathlib import Path

import dagster as dg

from assets.resources import DEFAULT_DATA_DIR
from core.quarters import Quarter
from pipelines.jobs import quarterly_reconciliation
from pipelines.schedules import draft_request


def inbound_fingerprint(data_dir: Path) -> str:
    """Changes whenever a file under inbound/ is added, removed, replaced or grows."""
    digest = hashlib.sha256()
    inbound = data_dir / "inbound"
    for path in sorted(inbound.rglob("*"), key=lambda p: os.fsencode(str(p))) if inbound.is_dir() else []:
        if path.is_file():
            stat = path.stat()
            digest.update(
                f"{path.relative_to(inbound)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode(
                    "utf-8", "surrogateescape"
                )
            )
    return digest.hexdigest()


@dg.sensor(
    job=quarterly_reconciliation,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New or changed files under data/inbound/: a DRAFT run of the current quarter.",
)
def inbound_files(context: dg.SensorEvaluationContext):
    data_dir = Path(os.environ.get("RMA_DATA_DIR", DEFAULT_DATA_DIR))
    fingerprint = inbound_fingerprint(data_dir)
    if context.cursor is None:
        context.update_cursor(fingerprint)  # the files present when the sensor is turned on are not news
        return dg.SkipReason("first look at data/inbound/: remembered what is there")
    if fingerprint == context.cursor:
        return dg.SkipReason("no new files under data/inbound/")
    context.update_cursor(fingerprint)
    today = dt.date.today()
    return draft_request(Quarter.of(today), today, run_key=f"inbound-{fingerprint[:16]}")
