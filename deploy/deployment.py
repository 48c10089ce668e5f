"""A Dagster deployment on this machine: PostgreSQL storage, the daemon, a webserver for the people who
launch runs and a read-only one for everyone else. `deploy/up` and `deploy/down` call this.

    deploy/up      start what is not running yet (twice is harmless)
    deploy/down    stop exactly what `up` started

Settings (environment): RMA_DEPLOY_DIR (state folder, default .deploy), RMA_POSTGRES_URL (an existing
server; otherwise a local cluster in the state folder on RMA_PG_PORT, default 5433), RMA_UI_PORT
(default 3000), RMA_VIEWER_PORT (default 3001), and the RMA_* settings of the runs themselves.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
READY_SECONDS = 90


class DeployError(Exception):
    """One line for the user; exit code 2."""


def settings() -> dict:
    state = Path(os.environ.get("RMA_DEPLOY_DIR", ROOT / ".deploy")).resolve()
    return {
        "state": state,
        "home": state / "dagster_home",
        "logs": state / "logs",
        "pids": state / "pids",
        "pgdata": state / "postgres",
        "pg_port": int(os.environ.get("RMA_PG_PORT", "5433")),
        "postgres_url": os.environ.get("RMA_POSTGRES_URL", "").strip(),
        "ui_port": int(os.environ.get("RMA_UI_PORT", "3000")),
        "viewer_port": int(os.environ.get("RMA_VIEWER_PORT", "3001")),
    }


def instance_yaml(postgres_url: str) -> str:
    """The Dagster instance: runs, events and schedules in PostgreSQL; runs queued so that only one
    run per warehouse writes at a time; runs whose process died are marked failed."""
    return f"""# Written by deploy/up: edit deploy/deployment.py instead.
storage:
  postgres:
    postgres_url: "{postgres_url}"
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: "rma/warehouse"
        value:
          applyLimitPerUniqueValue: true
        limit: 1
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
  poll_interval_seconds: 15
telemetry:
  enabled: false
"""


# -- PostgreSQL ---------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[::-1]), None
    )
    if not found:
        raise DeployError(
            f"PostgreSQL's {name} is not installed: install Debian's postgresql, or set RMA_POSTGRES_URL"
        )
    return found


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _pg_running(config: dict) -> bool:
    status = subprocess.run(
        _as_postgres_user([_pg_bin("pg_ctl"), "status", "-D", str(config["pgdata"])]),
        capture_output=True,
    )
    return status.returncode == 0


def start_postgres(config: dict) -> str:
    """The URL of Dagster's database: RMA_POSTGRES_URL, or a local cluster started in the state folder."""
    if config["postgres_url"]:
        return config["postgres_url"]
    pgdata, port = config["pgdata"], config["pg_port"]
    socket_dir = config["state"] / "postgres-socket"
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        socket_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(pgdata, "postgres", "postgres")
            shutil.chown(socket_dir, "postgres", "postgres")
            reachable = subprocess.run(_as_postgres_user(["test", "-w", str(pgdata)])).returncode == 0
            if not reachable:
                raise DeployError(
                    f"the local PostgreSQL runs as user postgres, who cannot reach {pgdata}: set "
                    "RMA_DEPLOY_DIR to a folder it can reach, or RMA_POSTGRES_URL to a server"
                )
        subprocess.run(
            _as_postgres_user(
                [_pg_bin("initdb"), "-D", str(pgdata), "-U", "dagster", "--auth=trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
    if not _pg_running(config):
        log = config["logs"] / "postgres.log"
        log.touch()
        if os.geteuid() == 0:
            shutil.chown(log, "postgres", "postgres")
        options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1"
        started = subprocess.run(
            _as_postgres_user(
                [
                    _pg_bin("pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(pgdata),
                    "-l",
                    str(log),
                    "-o",
                    options,
                ]
            ),
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            raise DeployError(f"PostgreSQL did not start on port {port}: see {log}")
    url = f"postgresql+psycopg2://dagster@127.0.0.1:{port}/postgres"
    return url


def stop_postgres(config: dict) -> None:
    if config["postgres_url"] or not (config["pgdata"] / "PG_VERSION").exists() or not _pg_running(config):
        return
    subprocess.run(
        _as_postgres_user([_pg_bin("pg_ctl"), "stop", "-m", "fast", "-D", str(config["pgdata"])]),
        capture_output=True,
    )


# -- Dagster processes --------------------------------------------------------------------------


def _services(config: dict) -> dict[str, list[str]]:
    workspace = str(ROOT / "workspace.yaml")
    webserver = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-w", workspace]
    return {
        "daemon": [str(BIN / "dagster-daemon"), "run", "-w", workspace],
        "webserver": [*webserver, "-p", str(config["ui_port"])],
        "viewer": [*webserver, "-p", str(config["viewer_port"]), "--read-only"],
    }


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def up() -> None:
    config = settings()
    for folder in ("state", "home", "logs", "pids"):
        config[folder].mkdir(parents=True, exist_ok=True)
    url = start_postgres(config)
    (config["home"] / "dagster.yaml").write_text(instance_yaml(url))
    environment = {**os.environ, "DAGSTER_HOME": str(config["home"])}
    started: dict[str, subprocess.Popen] = {}
    for name, command in _services(config).items():
        pid_file = config["pids"] / f"{name}.pid"
        if _alive(pid_file):
            continue
        with open(config["logs"] / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid_file.write_text(str(process.pid))
        started[name] = process

    def stopped(name: str) -> bool:  # a child of this process that exited is a zombie: poll it
        process = started.get(name)
        return process.poll() is not None if process else not _alive(config["pids"] / f"{name}.pid")

    deadline = time.monotonic() + READY_SECONDS
    ports = {"webserver": config["ui_port"], "viewer": config["viewer_port"]}
    waiting = dict(ports)
    while waiting and time.monotonic() < deadline:
        for name, port in list(waiting.items()):
            if _ready(port):
                del waiting[name]
            elif stopped(name):
                raise DeployError(f"the {name} stopped: see {config['logs'] / f'{name}.log'}")
        time.sleep(0.5)
    if waiting:
        raise DeployError(
            f"no answer on port(s) {', '.join(map(str, waiting.values()))} after {READY_SECONDS} s"
        )
    if stopped("daemon"):
        raise DeployError(f"the daemon stopped: see {config['logs'] / 'daemon.log'}")
    print(
        f"{'started ' + ', '.join(started) if started else 'already running'}: "
        f"UI http://127.0.0.1:{config['ui_port']} (launch runs), "
        f"http://127.0.0.1:{config['viewer_port']} (read-only); state in {config['state']}"
    )


def down() -> None:
    config = settings()
    stopped = []
    for name in _services(config):
        pid_file = config["pids"] / f"{name}.pid"
        pid = _alive(pid_file)
        if pid:
            _stop_group(pid)
            stopped.append(name)
        pid_file.unlink(missing_ok=True)
    stop_postgres(config)
    print(f"stopped {', '.join(stopped) if stopped else 'nothing (nothing was running)'}")


def _stop_group(pid: int) -> None:
    """SIGTERM to the process group `up` started (the webserver's and daemon's children too),
    then SIGKILL to what is left after 20 s."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except OSError:
            return
        time.sleep(0.2)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    try:
        {"up": up, "down": down}[argv[0]]()
    except (KeyError, IndexError):
        print("usage: deployment.py up|down", file=sys.stderr)
        return 2
    except DeployError as error:
        print(f"deploy: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
