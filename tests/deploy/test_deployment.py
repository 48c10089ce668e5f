"""deploy/up and deploy/down for real: PostgreSQL, the daemon and both webservers on free ports; runs
launched through the GraphQL API as the UI does, queued, run, stored in PostgreSQL, and alerted."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from pipelines.alerts import ALERT_INTERVAL
from tests.conftest import FIXTURES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        reason="PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)",
    ),
]
ROOT = Path(__file__).resolve().parents[2]
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
RUN = """
query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status startTime endTime } } }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["data"]


def launch(port: int, partition: str, config: dict | None = None) -> dict:
    params = {
        "selector": {
            "repositoryLocationName": "rma_recon",
            "repositoryName": "__repository__",
            "jobName": "quarterly_reconciliation",
        },
        "runConfigData": config or {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    return graphql(port, LAUNCH, {"params": params})["launchRun"]


def finished(port: int, run_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = graphql(port, RUN, {"id": run_id})["runOrError"]
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(1)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout} s")


@pytest.fixture
def deployment(tmp_path):
    # The local PostgreSQL runs as user postgres when the tests run as root: its folder must be
    # reachable by that user, which pytest's private temporary folders are not.
    state = Path(tempfile.mkdtemp(prefix="rma-deploy-", dir="/tmp"))
    state.chmod(0o755)
    example = tmp_path / "example"
    shutil.copytree(FIXTURES / "example", example)
    environment = {
        **os.environ,
        "GX_ANALYTICS_ENABLED": "false",
        "RMA_DEPLOY_DIR": str(state),
        "RMA_UI_PORT": str(free_port()),
        "RMA_VIEWER_PORT": str(free_port()),
        "RMA_PG_PORT": str(free_port()),
        "RMA_DATA_DIR": str(example / "data"),
        "RMA_WAREHOUSE": str(example / "wh.duckdb"),
        "RMA_STATEMENTS_DIR": str(example / "out"),
        "RMA_OUTBOX_DIR": str(example / "outbox"),
    }
    environment.pop("RMA_POSTGRES_URL", None)

    def deploy(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ROOT / "deploy" / command)], env=environment, capture_output=True, text=True, timeout=300
        )

    try:
        yield deploy, environment, example
    finally:
        deploy("down")
        shutil.rmtree(state, ignore_errors=True)


def processes_of(state: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if state in line and "ps -eo" not in line]


def test_up_runs_queue_and_alert_then_down_leaves_nothing(deployment):
    deploy, environment, example = deployment
    ui, viewer = int(environment["RMA_UI_PORT"]), int(environment["RMA_VIEWER_PORT"])
    started = time.monotonic()
    up = deploy("up")
    assert up.returncode == 0, up.stderr
    print(f"deploy/up answered on both ports after {time.monotonic() - started:.1f} s")
    again = deploy("up")
    assert again.returncode == 0 and again.stdout.startswith("already running"), again.stdout + again.stderr

    # The read-only webserver launches nothing.
    refused = launch(viewer, "2026-04-01")
    assert refused["__typename"] == "UnauthorizedError", refused

    # Two quarters launched at once: the queue lets one run write the warehouse at a time.
    first, second = launch(ui, "2026-04-01"), launch(ui, "2026-07-01")
    assert first["__typename"] == second["__typename"] == "LaunchRunSuccess", (first, second)
    runs = [finished(ui, launched["run"]["runId"]) for launched in (first, second)]
    assert [run["status"] for run in runs] == ["SUCCESS", "SUCCESS"]
    earlier, later = sorted(runs, key=lambda run: run["startTime"])
    assert later["startTime"] >= earlier["endTime"]
    assert sorted(p.name for p in (example / "out/2026-Q3").glob("*.xlsx")) == [
        "EUROPA-1.xlsx",
        "NORTHSTAR.xlsx",
    ]

    # The runs are in Dagster's PostgreSQL storage.
    with (
        psycopg2.connect(
            host="127.0.0.1", port=int(environment["RMA_PG_PORT"]), user="dagster", dbname="postgres"
        ) as con,
        con.cursor() as cursor,
    ):
        cursor.execute("SELECT run_id, status FROM runs")
        stored = dict(cursor.fetchall())
    assert stored[first["run"]["runId"]] == stored[second["run"]["runId"]] == "SUCCESS"

    # A run that fails (an as-of day outside its quarter) is e-mailed to ops, once.
    failing = launch(ui, "2026-04-01", {"resources": {"settings": {"config": {"as_of": "2026-09-30"}}}})
    run_id = failing["run"]["runId"]
    assert finished(ui, run_id)["status"] == "FAILURE"
    alert = example / "outbox/alerts" / f"run-failed-{run_id}.eml"
    deadline = time.monotonic() + 180
    while not alert.exists() and time.monotonic() < deadline:
        time.sleep(2)
    assert alert.exists(), "no alert e-mail within 3 minutes"
    time.sleep(ALERT_INTERVAL + 5)  # another pass of the sensor sends nothing new
    assert [p.name for p in (example / "outbox/alerts").iterdir()] == [alert.name]
    text = alert.read_text()
    assert "Subject: [rma-recon] run failed: quarterly_reconciliation for 2026-Q2" in text
    assert "2026-09-30" in text  # the step's own reason

    down = deploy("down")
    assert down.returncode == 0 and "daemon" in down.stdout, down.stdout + down.stderr
    time.sleep(1)
    assert processes_of(environment["RMA_DEPLOY_DIR"]) == []
    for port in (ui, viewer, int(environment["RMA_PG_PORT"])):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
