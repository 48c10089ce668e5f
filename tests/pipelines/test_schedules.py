import datetime as dt

import dagster as dg

from pipelines.definitions import defs
from pipelines.schedules import close_request, quarter_close, weekly_draft, weekly_draft_request
from pipelines.sensors import inbound_files, inbound_fingerprint


def settings(request: dg.RunRequest) -> dict:
    return request.run_config["resources"]["settings"]["config"]


def test_weekly_draft_is_the_quarter_in_progress_as_of_the_day_before():
    request = weekly_draft_request(dt.date(2026, 11, 30))
    assert (request.partition_key, settings(request)) == (
        "2026-10-01",
        {"as_of": "2026-11-29", "close": False},
    )


def test_weekly_draft_on_the_first_day_of_a_quarter_stays_inside_it():
    request = weekly_draft_request(dt.date(2026, 10, 1))
    assert (request.partition_key, settings(request)["as_of"]) == ("2026-10-01", "2026-10-01")


def test_close_runs_for_the_quarter_that_just_ended():
    request = close_request(dt.date(2026, 10, 1))
    assert (request.partition_key, settings(request)) == ("2026-07-01", {"as_of": "", "close": True})
    assert close_request(dt.date(2027, 1, 1)).partition_key == "2026-10-01"


def test_schedules_and_sensor_are_off_by_default():
    assert weekly_draft.default_status == dg.DefaultScheduleStatus.STOPPED
    assert quarter_close.default_status == dg.DefaultScheduleStatus.STOPPED
    assert inbound_files.default_status == dg.DefaultSensorStatus.STOPPED
    assert {s.name for s in defs.schedules} == {"weekly_draft", "quarter_close"}


def test_schedule_evaluates_through_dagster():
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 12, 7, 6, 0), repository_def=defs.get_repository_def()
    )
    [request] = weekly_draft.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-10-01"


def test_sensor_starts_a_draft_only_when_files_change(tmp_path, monkeypatch):
    monkeypatch.setenv("RMA_DATA_DIR", str(tmp_path))
    inbound = tmp_path / "inbound/rma_cases"
    inbound.mkdir(parents=True)
    (inbound / "a.csv").write_text("x\n")
    first = inbound_files.evaluate_tick(dg.build_sensor_context(definitions=defs))
    assert not first.run_requests and first.cursor == inbound_fingerprint(tmp_path)
    unchanged = inbound_files.evaluate_tick(dg.build_sensor_context(cursor=first.cursor, definitions=defs))
    assert not unchanged.run_requests
    (inbound / "b.csv").write_text("y\n")
    changed = inbound_files.evaluate_tick(dg.build_sensor_context(cursor=first.cursor, definitions=defs))
    [request] = changed.run_requests
    assert settings(request)["close"] is False and changed.cursor != first.cursor
