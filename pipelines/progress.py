"""A Dagster logger for the CLI: one line per finished stage, on stderr, instead of the event log."""

import functools
import logging
import sys
import time

import dagster as dg


class _StageLines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        if event is None or not event.step_key:
            return
        if event.event_type_value == "STEP_START":
            self.started[event.step_key] = time.monotonic()
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            seconds = time.monotonic() - self.started.get(event.step_key, time.monotonic())
            verdict = {"STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "skipped"}[
                event.event_type_value
            ]
            label = step_labels().get(event.step_key, event.step_key)
            print(f"  {label:<48} {verdict} {seconds:5.1f}s", file=sys.stderr, flush=True)


@functools.cache
def step_labels() -> dict[str, str]:
    """Plain names for the check steps: Dagster's step key repeats the asset
    (`distributors_distributors_expectations`); the label does not (`check: distributors expectations`)."""
    from checks.defs import ASSET_CHECKS

    labels = {}
    for checks in ASSET_CHECKS:
        assets = []
        for spec in checks.check_specs:
            asset = spec.asset_key.to_python_identifier()
            words = spec.name.removeprefix(f"{asset}_").replace("_", " ")
            labels[f"{asset}_{spec.name}"] = f"check: {asset} {words}"
            assets.append(asset)
        if len(assets) > 1:  # one step checks several assets: its step key is the check's name
            labels[checks.node_def.name] = f"check: {' and '.join(assets)} {words}"
    return labels


@dg.logger(description="One line per finished step on stderr (the rma-recon CLI).")
def stage_progress(_init_context) -> logging.Logger:
    logger = logging.Logger("rma_recon_progress", level=logging.DEBUG)
    logger.addHandler(_StageLines())
    return logger
