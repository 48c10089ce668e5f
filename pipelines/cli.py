"""`rma-recon`: run or close a quarter through the Dagster assets, or generate sample data."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
from pathlib import Path

EXAMPLES = """examples:
  rma-recon run 2026-Q3                         draft run of 2026-Q3 on data/
  rma-recon run 2026-Q2 --close                 close 2026-Q2: FINAL statements, frozen books
  rma-recon run 2026-Q3 --as-of 2026-08-31      draft as of a day inside the quarter
  rma-recon release 2026-Q2 --by "Jo Smith"      a second person releases: statements are sent
  rma-recon status                              quarters so far: draft or closed, totals
  rma-recon quarantine --source rma_cases       input rows not loaded: file, line, reason
  rma-recon profile data/inbound/fulfillment_reports/NEWDIST
                                                suggest how to read a distributor's own format
  rma-recon generate --out /tmp/sample --cases 500 --distributors 4
"""


TOP_DISTRIBUTORS = 10  # per currency, in the run's summary


class UserError(Exception):
    """A mistake in what the user asked for; printed as one line, exit code 2."""


class RunFault(Exception):
    """The disk or the file system failed the run (full, read-only, no permission); printed as one
    line, exit code 1. The warehouse keeps its last complete state."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rma-recon",
        description="Quarterly RMA reconciliation: distributor credits, SLA status, credit statements.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="ingest, reconcile one quarter and write its statements",
        description="Ingest every input, reconcile QUARTER and write one statement per distributor. "
        "The same Dagster assets run as in the UI.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("quarter", metavar="QUARTER", help="calendar quarter like 2026-Q3")
    run.add_argument("--data-dir", default="data", help="input folder (default: data)")
    _add_warehouse(run)
    run.add_argument(
        "--statements-dir", default="data/statements", help="output folder (default: data/statements)"
    )
    run.add_argument(
        "--close", action="store_true", help="close the quarter: FINAL statements, frozen outcomes"
    )
    run.add_argument(
        "--all",
        action="store_true",
        dest="all_distributors",
        help=f"list every distributor in the summary (default: the top {TOP_DISTRIBUTORS} per currency)",
    )
    run.add_argument(
        "--as-of", metavar="YYYY-MM-DD", default="", help="a day inside the quarter (default: its last day)"
    )
    run.add_argument(
        "--by", default="", metavar="NAME", help="who closes the quarter (default: the operating-system user)"
    )
    _add_outbox_and_lock(run)

    release = commands.add_parser(
        "release",
        help="release a closed quarter (a second person): only then are its statements sent",
        description="Release QUARTER, closed by someone else, and send each distributor its FINAL "
        "statement and remittance file. Releasing a released quarter changes nothing.",
    )
    release.add_argument("quarter", metavar="QUARTER", help="calendar quarter like 2026-Q2")
    release.add_argument("--by", required=True, metavar="NAME", help="who releases (not who closed)")
    release.add_argument("--data-dir", default="data", help="input folder (default: data)")
    _add_warehouse(release)
    release.add_argument(
        "--statements-dir", default="data/statements", help="output folder (default: data/statements)"
    )
    _add_outbox_and_lock(release)

    status = commands.add_parser(
        "status",
        help="list the quarters in the warehouse: draft or closed, as-of day and totals",
        description="List every quarter run so far, with its state, as-of day, claims and credit totals.",
    )
    _add_warehouse(status)
    status.add_argument(
        "--statements-dir",
        default="data/statements",
        help="where the statements are, to check them against the warehouse (default: data/statements)",
    )

    quarantine = commands.add_parser(
        "quarantine",
        help="list the input rows in quarantine: file, line, reason and the row's text",
        description="List the input rows that were not loaded, by source, file and line, with the reason.",
    )
    _add_warehouse(quarantine)
    quarantine.add_argument("--source", help="only this source, e.g. fulfillment_reports")
    quarantine.add_argument("--file", help="only files whose path contains this")
    quarantine.add_argument(
        "--limit", type=int, default=200, help="at most this many rows (default: 200; 0: all)"
    )

    profile = commands.add_parser(
        "profile",
        help="suggest the report profile and column aliases for a distributor's own format",
        description="Read a distributor's sample reports (a file, or every report in a folder), print a "
        "suggested row for reference/report_profiles.csv and rows for reference/column_aliases.csv, and "
        "show how the samples would load with them. Nothing is saved.",
    )
    profile.add_argument("path", metavar="DIR_OR_FILE", help="a report, or a folder of reports")
    profile.add_argument(
        "--distributor",
        metavar="ID",
        help="the distributor_id (default: the folder under inbound/fulfillment_reports/)",
    )

    generate = commands.add_parser(
        "generate",
        help="write a synthetic data directory in the rulebook layout",
        description="Write realistic synthetic inputs: case versions, CSV and XLSX reports, a few bad rows.",
    )
    generate.add_argument("--out", required=True, help="folder to write (created; existing inputs replaced)")
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--cases", type=int, default=400)
    generate.add_argument("--distributors", type=int, default=4)
    generate.add_argument(
        "--start-quarter", default="2026-Q1", help="first quarter of activity (default: 2026-Q1)"
    )
    generate.add_argument(
        "--quarters", type=int, default=3, help="how many quarters of activity (default: 3)"
    )
    return parser


def _add_warehouse(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--warehouse", default="data/warehouse.duckdb", help="DuckDB file (default: data/warehouse.duckdb)"
    )


def _add_outbox_and_lock(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--outbox",
        default="",
        metavar="DIR",
        help="where outbox mode writes e-mails (default: <statements dir>/outbox, or $RMA_OUTBOX_DIR)",
    )
    command.add_argument(
        "--lock-timeout",
        type=float,
        default=600,
        metavar="SECONDS",
        help="wait this long for another run on the same warehouse (default: 600)",
    )


def _dagster_instance():
    import dagster as dg

    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()  # runs show in the UI of the same DAGSTER_HOME
    return dg.DagsterInstance.ephemeral()


def _failure_reason(result) -> str:
    """One line: the failed blocking check and why, else the first step's error message."""
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity.value == "ERROR":
                why = f": {evaluation.description}" if evaluation.description else ""
                return (
                    f"blocking check {evaluation.check_name} failed on "
                    f"{evaluation.asset_key.to_user_string()}{why}"
                )
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name != "Failure":
                error = error.cause
            from core.warehouse import fault_message

            fault = fault_message(error.message)
            if fault:
                return fault
            lines = [line.strip() for line in error.message.strip().splitlines() if line.strip()]
            if lines:
                # A Failure carries its description last; any other error says what it is first.
                line = lines[-1] if error.cls_name == "Failure" else lines[0]
                return line.removeprefix("dagster._core.definitions.events.Failure: ")
    return "the run failed (see the Dagster logs)"


def run_quarter(args: argparse.Namespace) -> int:
    from core.quarters import Quarter, QuarterError, resolve_as_of

    try:
        quarter = Quarter.parse(args.quarter)
        as_of = resolve_as_of(quarter, args.as_of or None)
    except QuarterError as error:
        raise UserError(str(error)) from None
    _partitions_from(quarter)
    data_dir = Path(args.data_dir)
    from assets.ingest.sources import data_dir_problem

    problem = data_dir_problem(data_dir)
    if problem:
        raise UserError(problem)

    from checks.expectations.validator import start_if_useful
    from core.files import remove_abandoned_temp_folders

    for kind in ("gx", "close"):  # left by validator processes and closes of killed runs
        remove_abandoned_temp_folders(kind)

    validator = start_if_useful()  # before Dagster loads: it imports Great Expectations meanwhile
    from checks.expectations.runner import Expectations

    expectations = Expectations(validator)
    try:
        from assets.partitions import quarterly_partitions

        if quarter.partition_key not in quarterly_partitions.get_partition_keys():
            raise UserError(f"unknown quarter {quarter}: quarters run up to the current quarter")
        return _run_quarter(args, quarter, as_of, data_dir, expectations)
    finally:
        expectations.close()


def _partitions_from(quarter) -> None:
    """The partitions start at the first quarter with data ($RMA_FIRST_QUARTER); a CLI run of an
    earlier quarter moves that start back for this process. Before the assets are imported."""
    from core.quarters import DEFAULT_FIRST_QUARTER, Quarter, QuarterError

    if quarter < Quarter(2000, 1):  # the rulebook's dates start in 2000
        raise UserError(f"unknown quarter {quarter}: quarters run from 2000-Q1 to the current quarter")
    first = os.environ.get("RMA_FIRST_QUARTER", "").strip() or DEFAULT_FIRST_QUARTER
    try:
        if quarter < Quarter.parse(first):
            os.environ["RMA_FIRST_QUARTER"] = str(quarter)
    except QuarterError as error:
        raise UserError(f"RMA_FIRST_QUARTER={first!r}: {error}") from None


def _run_quarter(args: argparse.Namespace, quarter, as_of: dt.date, data_dir: Path, expectations) -> int:
    return _holding_warehouse(
        args, lambda warehouse: _run_locked(args, quarter, as_of, data_dir, warehouse, expectations)
    )


def _holding_warehouse(args: argparse.Namespace, body) -> int:
    """`body(warehouse)` while this process holds the warehouse's lock; refusals and faults of the
    lock and the path as one line."""
    from contextlib import ExitStack

    from core.locking import WarehouseBusy, warehouse_lock
    from core.warehouse import clear_empty_warehouse, fault_message, warehouse_problem

    warehouse = Path(args.warehouse)
    problem = warehouse_problem(warehouse)  # before anything is written anywhere
    if problem:
        raise UserError(problem)

    def tell_waiting() -> None:
        print(f"rma-recon: waiting for another run on {warehouse} to finish ...", file=sys.stderr, flush=True)

    with ExitStack() as held:
        try:
            warehouse.parent.mkdir(parents=True, exist_ok=True)
            held.enter_context(warehouse_lock(warehouse, args.lock_timeout, on_wait=tell_waiting))
            clear_empty_warehouse(warehouse)
        except WarehouseBusy as busy:
            raise UserError(str(busy)) from None
        except OSError as error:
            raise RunFault(
                fault_message(str(error)) or f"cannot use the warehouse {str(warehouse)!r}: {error}"
            ) from None
        return body(warehouse)


def _connected(warehouse: Path, timeout: float):
    """A connection to the warehouse, waiting for other programs; refusals and faults as one line."""
    import duckdb

    from core.warehouse import WarehouseHeld, connect_waiting, fault_message

    def tell_waiting() -> None:
        print(f"rma-recon: waiting for another program to close {warehouse} ...", file=sys.stderr, flush=True)

    try:
        return connect_waiting(warehouse, timeout, on_wait=tell_waiting)
    except WarehouseHeld as held:
        raise UserError(str(held)) from None
    except duckdb.IOException as error:
        fault = fault_message(str(error))
        if fault:
            raise RunFault(fault) from None
        raise UserError(
            f"cannot open the warehouse {str(warehouse)!r}: {str(error).splitlines()[0]}"
        ) from None


def _execute(resources: dict, job_name: str, quarter, tags: dict):
    """The job run in this process for the quarter's partition, one line per finished step."""
    from pipelines.definitions import build_definitions
    from pipelines.progress import stage_progress

    definitions = build_definitions(resources, loggers={"progress": stage_progress})
    gc.freeze()
    instance = _dagster_instance()
    try:
        return definitions.resolve_job_def(job_name).execute_in_process(
            partition_key=quarter.partition_key,
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"progress": {}}},  # stage lines instead of the full event log
            tags={"rma/quarter": str(quarter), "rma/warehouse": str(resources["duckdb"].database), **tags},
        )
    finally:
        gc.unfreeze()


def _run_locked(
    args: argparse.Namespace, quarter, as_of: dt.date, data_dir: Path, warehouse: Path, expectations
) -> int:
    import duckdb

    from assets.delivery.defs import StatementDelivery
    from core.quarter_state import RunRefused, check_run_allowed
    from pipelines.jobs import quarterly_reconciliation
    from pipelines.resources import build_resources

    with _connected(warehouse, args.lock_timeout) as con:
        try:
            check_run_allowed(con, quarter, as_of, args.close, dt.date.today())
        except RunRefused as refused:
            raise UserError(str(refused)) from None

    resources = build_resources(
        data_dir=str(data_dir),
        warehouse=str(warehouse),
        statements_dir=args.statements_dir,
        as_of=args.as_of,
        close=args.close,
        by=args.by,
        delivery=StatementDelivery(outbox_dir=args.outbox),
        expectations=expectations,
    )
    print(f"rma-recon: {'closing' if args.close else 'draft run of'} {quarter} as of {as_of} ...", flush=True)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = _execute(
        resources, quarterly_reconciliation.name, quarter, {"rma/close": str(args.close).lower()}
    )
    if not result.success:
        print(f"rma-recon: error: {_failure_reason(result)}", file=sys.stderr)
        return 1
    evaluations = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    failed = [evaluation for evaluation in evaluations if not evaluation.passed]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        top = None if args.all_distributors else TOP_DISTRIBUTORS
        print(summary_text(con, quarter, Path(args.statements_dir), _outbox(resources), started, top))
    print(f"Checks: {len(evaluations) - len(failed)} passed, {len(failed)} failed")
    for evaluation in failed:
        level = "error" if evaluation.severity.value == "ERROR" else "warning"
        print(
            f"rma-recon: {level}: check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: "
            f"{evaluation.description}",
            file=sys.stderr,
        )
    return 1 if any(evaluation.severity.value == "ERROR" for evaluation in failed) else 0


def release_quarter(args: argparse.Namespace) -> int:
    from core.quarters import Quarter, QuarterError

    try:
        quarter = Quarter.parse(args.quarter)
    except QuarterError as error:
        raise UserError(str(error)) from None
    _partitions_from(quarter)
    if not Path(args.warehouse).exists():
        raise UserError(f"no warehouse at {str(args.warehouse)!r}: close a quarter first")
    return _holding_warehouse(args, lambda warehouse: _release_locked(args, quarter, warehouse))


def _release_locked(args: argparse.Namespace, quarter, warehouse: Path) -> int:
    import duckdb

    from assets.delivery.defs import StatementDelivery
    from assets.delivery.release import ReleaseRefused, refuse_release, released
    from assets.resources import RunSettings
    from pipelines.jobs import quarterly_release
    from pipelines.resources import build_resources

    settings = RunSettings(by=args.by)
    with _connected(warehouse, args.lock_timeout) as con:
        earlier = released(con, quarter)
        if earlier is None:
            try:
                refuse_release(con, quarter, settings.person, settings.four_eyes_rule)
            except ReleaseRefused as refused:
                raise UserError(str(refused)) from None
    resources = build_resources(
        data_dir=args.data_dir,
        warehouse=str(warehouse),
        statements_dir=args.statements_dir,
        by=args.by,
        delivery=StatementDelivery(outbox_dir=args.outbox),
    )
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # Released already: the job records nothing new, and sends only what a killed release left
    # unsent (the delivery log sends each file once).
    result = _execute(resources, quarterly_release.name, quarter, {"rma/release": "true"})
    if not result.success:
        print(f"rma-recon: error: {_failure_reason(result)}", file=sys.stderr)
        return 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        done = released(con, quarter)
        if earlier:
            print(
                f"rma-recon: {quarter} was released by {done.released_by} on "
                f"{done.released_at:%Y-%m-%d %H:%M} UTC; nothing changed"
            )
        else:
            print(
                f"{quarter} released by {done.released_by} (closed by {done.closed_by})"
                + ("" if done.four_eyes else "; the four-eyes rule is off in this deployment")
            )
        print(delivery_line(con, quarter, _outbox(resources), started))
    return 0


def _outbox(resources: dict) -> Path:
    return resources["delivery"].outbox_path(resources["settings"].statements_path)


def delivery_line(con, quarter, outbox: Path, since: dt.datetime) -> str:
    """What delivery did for the quarter in this run, in one line."""
    q = str(quarter)
    state, released_at = con.execute(
        "SELECT state, released_at FROM quarter_runs WHERE quarter = ?", [q]
    ).fetchone()
    if state != "closed":
        return "Delivery: nothing sent (a draft)"
    if released_at is None:
        return f"Delivery: nothing sent until a second person releases it: rma-recon release {q} --by NAME"
    now = dict(
        con.execute(
            """SELECT status, count(*) FROM delivery_log
            WHERE quarter = ? AND last_attempt_at >= ? GROUP BY status""",
            [q, since],
        ).fetchall()
    )
    if not now:
        return "Delivery: already sent, nothing new"
    sent_detail = con.execute(
        """SELECT any_value(detail) FROM delivery_log
        WHERE quarter = ? AND status = 'sent' AND last_attempt_at >= ?""",
        [q, since],
    ).fetchone()[0]
    where = f"written to {outbox / q}" if (sent_detail or "").startswith("written to") else "sent by e-mail"
    parts = [f"{now.pop('sent')} {where}"] if "sent" in now else []
    parts += [f"{count} {status.replace('_', ' ')}" for status, count in sorted(now.items())]
    return "Delivery: " + ", ".join(parts)


def summary_text(
    con, quarter, statements_dir: Path, outbox: Path, since: dt.datetime, top: int | None = TOP_DISTRIBUTORS
) -> str:
    """The run's summary: totals per currency, the distributors with the most credit in each currency
    (`top` of them; None: all), counts, and where the files went."""
    q = str(quarter)
    state, as_of = con.execute("SELECT state, as_of FROM quarter_runs WHERE quarter = ?", [q]).fetchone()
    lines = [f"{q} ({'closed' if state == 'closed' else 'draft'}, as of {as_of})", ""]
    columns = f"{'cur':<4} {'credited':>8} {'total':>14} {'held':>6} {'rejected':>9}"
    currencies = con.execute(
        """SELECT currency, count(*), sum(credited_count), sum(credit_total), sum(held_count),
            sum(rejected_count)
        FROM distributor_credits WHERE quarter = ? GROUP BY currency ORDER BY currency""",
        [q],
    ).fetchall()
    lines += ["Credits per currency:", f"  {'distributors':<16} {columns}"]
    for currency, count, credited, total, held, rejected in currencies:
        lines.append(f"  {count:<16} {currency:<4} {credited:>8} {total:>14,.2f} {held:>6} {rejected:>9}")
    if not currencies:
        lines.append("  (no claims in scope)")
    credits = con.execute(
        """SELECT distributor_id, currency, credited_count, credit_total, held_count, rejected_count
        FROM distributor_credits WHERE quarter = ?
        QUALIFY ? IS NULL OR row_number() OVER (
            PARTITION BY currency ORDER BY credit_total DESC, distributor_id) <= ?
        ORDER BY currency, credit_total DESC, distributor_id""",
        [q, top, top],
    ).fetchall()
    heading = (
        "Credits per distributor:"
        if len(credits) == sum(row[1] for row in currencies)
        else f"Top {top} distributors by credit in each currency (--all lists every one):"
    )
    if credits:
        lines += ["", heading, f"  {'distributor':<16} {columns}"]
    for distributor_id, currency, credited, total, held, rejected in credits:
        lines.append(
            f"  {distributor_id:<16} {currency:<4} {credited:>8} {total:>14,.2f} {held:>6} {rejected:>9}"
        )
    held, rejected = con.execute(
        """SELECT count(*) FILTER (WHERE outcome = 'held'), count(*) FILTER (WHERE outcome = 'rejected')
        FROM claim_outcomes WHERE quarter = ?""",
        [q],
    ).fetchone()
    breaches, at_risk = con.execute(
        """SELECT count(*) FILTER (WHERE status = 'breached'), count(*) FILTER (WHERE status = 'at_risk')
        FROM sla_status WHERE quarter = ?""",
        [q],
    ).fetchone()
    quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    lines += [
        "",
        f"Held claims: {held}   Rejected claims: {rejected}",
        f"SLA breaches: {breaches}   At risk: {at_risk}",
        f"Quarantined input rows: {quarantined}",
        f"Statements: {statements_dir / q}",
        f"Finance summary: {statements_dir / 'finance' / f'{q}-summary.xlsx'}",
        delivery_line(con, quarter, outbox, since),
    ]
    return "\n".join(lines)


def _reading(warehouse: Path):
    """A read-only connection to the warehouse, or one line saying why not. A run waits for the
    shared lock it takes; a reader does not wait for a run."""
    import duckdb

    from core.locking import WarehouseBusy, warehouse_lock
    from core.warehouse import warehouse_problem

    if not warehouse.exists():
        raise UserError(f"no warehouse at {str(warehouse)!r} yet: run a quarter first")
    problem = warehouse_problem(warehouse)
    if problem:
        raise UserError(problem)
    try:
        with warehouse_lock(warehouse, 0, shared=True):
            return duckdb.connect(str(warehouse), read_only=True)
    except WarehouseBusy as busy:
        raise UserError(str(busy)) from None
    except (duckdb.Error, OSError) as error:
        raise UserError(
            f"cannot open the warehouse {str(warehouse)!r}: {str(error).splitlines()[0]}"
        ) from None


def quarantine_text(warehouse: Path, source: str | None, file: str | None, limit: int | None) -> str:
    """The quarantined input rows, by source, file and line: why each was not loaded."""
    from core.terminal import printable

    where, params = [], []
    if source:
        where.append("source = ?")
        params.append(source)
    if file:
        where.append("source_file LIKE ?")
        params.append(f"%{file}%")
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    with _reading(warehouse) as con:
        (total,) = con.execute(f"SELECT count(*) FROM quarantine {condition}", params).fetchone()
        rows = con.execute(
            f"""SELECT source, source_file, source_line, reason, coalesce(detail, ''), coalesce(raw, '')
            FROM quarantine {condition} ORDER BY source, source_file, source_line, reason
            {f"LIMIT {int(limit)}" if limit else ""}""",
            params,
        ).fetchall()
    if not rows:
        return "no input row is in quarantine" + (" for that selection" if where else "")
    lines = [
        f"{total} input row(s) in quarantine" + (f"; the first {len(rows)}" if len(rows) < total else "")
    ]
    for source_name, source_file, line, reason, detail, raw in rows:
        text = printable(raw)
        shown = f"{text[:80]}…" if len(text) > 80 else text
        lines.append(
            printable(
                f"{source_name:<20} {source_file}:{line}  {reason}" + (f"  ({detail})" if detail else "")
            )
        )
        if shown:
            lines.append(f"{'':<20} {shown}")
    return "\n".join(lines)


def status_text(warehouse: Path, statements_dir: Path) -> str:
    from assets.statements.on_disk import disk_differences, expected_files
    from core.warehouse import has_table

    with _reading(warehouse) as con:  # held only while reading: a run waiting for it can start
        rows = con.execute(
            """SELECT r.quarter, r.state, r.as_of, count(c.distributor_id),
                coalesce(sum(c.credited_count), 0),
                coalesce(sum(c.held_count), 0), coalesce(sum(c.rejected_count), 0),
                (SELECT min(later.quarter) FROM quarter_runs later
                 WHERE later.state = 'closed' AND later.quarter > r.quarter) AS closed_later,
                r.closed_by, r.closed_at, r.released_by, r.released_at,
                (SELECT max(earlier.quarter) FROM quarter_runs earlier
                 WHERE r.state = 'draft' AND earlier.state = 'closed' AND earlier.quarter < r.quarter
                   AND earlier.closed_at > coalesce(r.run_at, TIMESTAMP '-infinity')) AS closed_since
            FROM quarter_runs r LEFT JOIN distributor_credits c USING (quarter)
            GROUP BY ALL ORDER BY r.quarter"""
        ).fetchall()
        totals = {
            (quarter, currency): total
            for quarter, currency, total in con.execute(
                "SELECT quarter, currency, sum(credit_total) FROM distributor_credits "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        }
        expected = expected_files(con) if has_table(con, "statement_files") else {}
    if not rows:
        return "no quarter has been run yet"
    lines = [
        f"{'quarter':<8} {'state':<10} {'as of':<10} {'distr.':>6} "
        f"{'credited':>8} {'held':>6} {'rejected':>8}  credit totals"
    ]
    for row in rows:
        quarter, state, as_of, distributors, credited, held, rejected, closed_later = row[:8]
        closed_by, closed_at, released_by, released_at, closed_since = row[8:]
        money = (
            ", ".join(f"{currency} {total:,.2f}" for (q, currency), total in totals.items() if q == quarter)
            or "-"
        )
        if state == "superseded":  # its claims were settled again in the later close: not to be added up
            money = f"(superseded by the close of {closed_later}; not counted)"
        lines.append(
            f"{quarter:<8} {state:<10} {as_of!s:<10} {distributors:>6} "
            f"{credited:>8} {held:>6} {rejected:>8}  {money}"
        )
        who = [f"closed by {closed_by or 'unknown'} at {closed_at:%Y-%m-%d %H:%M}"] if closed_at else []
        if released_at:
            who.append(f"released by {released_by} at {released_at:%Y-%m-%d %H:%M}")
        elif state == "closed":
            who.append("not released yet")
        if closed_since:
            who.append(f"STALE: {closed_since} was closed after this draft ran; run {quarter} again")
        if who:
            lines.append(f"{'':<8} {'; '.join(who)}")
    for quarter, problem in disk_differences(expected, statements_dir).items():
        lines.append(f"{quarter}: {problem} (in {statements_dir / quarter})")
    return "\n".join(lines)


def profile_text(path: Path, distributor_id: str | None) -> str:
    from assets.ingest.profile_suggestion import (
        distributor_of,
        sample_files,
        suggest,
        suggestion_text,
        try_suggestion,
    )
    from assets.ingest.readers import UnreadableFile

    if not path.exists():
        raise UserError(f"{str(path)!r} does not exist")
    files = sample_files(path)
    if not files:
        raise UserError(f"no CSV file or workbook in {str(path)!r}")
    distributor_id = distributor_id or distributor_of(path)
    if not distributor_id:
        raise UserError(
            "which distributor? give --distributor ID (the folder name under fulfillment_reports)"
        )
    try:
        suggestion = suggest(files[0], distributor_id)
    except UnreadableFile as error:
        raise UserError(f"{files[0]}: {error}") from None
    except OSError as error:
        raise UserError(f"{files[0]}: cannot read: {error.strerror or error}") from None
    return suggestion_text(suggestion, try_suggestion(suggestion, files), files)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_quarter(args)
        if args.command == "release":
            return release_quarter(args)
        if args.command == "status":
            print(status_text(Path(args.warehouse), Path(args.statements_dir)))
            return 0
        if args.command == "quarantine":
            print(quarantine_text(Path(args.warehouse), args.source, args.file, args.limit or None))
            return 0
        if args.command == "profile":
            print(profile_text(Path(args.path), args.distributor))
            return 0
        from synthetic.generate import generate_data

        counts = generate_data(
            Path(args.out),
            seed=args.seed,
            cases=args.cases,
            distributors=args.distributors,
            start_quarter=args.start_quarter,
            quarters=args.quarters,
        )
        print(f"rma-recon: wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    except UserError as error:
        print(f"rma-recon: error: {error}", file=sys.stderr)
        return 2
    except RunFault as fault:
        print(f"rma-recon: error: {fault}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rma-recon: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The `rma-recon` command: `main`, then exit without a last full collection over every module (1-2 s)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
