"""Statement delivery: .eml outbox by default, a real SMTP server on loopback, sent once, retried."""

import email
import email.policy
import socket
import time

import duckdb
import pytest
from aiosmtpd.controller import Controller

from assets.delivery.delivery_log import (
    DeliveryRefused,
    check_deliverable,
    checkpointing_meanwhile,
    deliver_statements,
    still_as_released,
)
from assets.delivery.transport import Transport
from assets.ingest.reference import Vendor
from assets.statements.statement_files import StatementFile, by_distributor
from core.warehouse import prepare
from pipelines.cli import main
from tests.conftest import EXAMPLE_ARGS

STATEMENT = StatementFile("NORTHSTAR.xlsx", "NORTHSTAR", b"PK-not-really-a-workbook")
VENDOR = Vendor("Vendor Inc.", "credits@v.example")


def deliver(con, files, transport):
    return deliver_statements(
        con, "2026-Q2", by_distributor(files), transport, "c@v.example", VENDOR, "Bo Releaser"
    )


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        prepare(connection)
        connection.execute(
            "CREATE TABLE stg_distributors AS "
            "SELECT 'NORTHSTAR' AS distributor_id, 'ap@northstar.example' AS email, 'Northstar' AS name"
        )
        connection.execute(
            """INSERT INTO distributor_credits BY NAME
            SELECT '2026-Q2' AS quarter, unnest(['NORTHSTAR', 'EUROPA-1']) AS distributor_id,
                'USD' AS currency, 1 AS credited_count, 10.00 AS credit_total, 0 AS held_count,
                0 AS rejected_count"""
        )
        yield connection


def attachment(message) -> bytes:
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "Vendor-Inc-NORTHSTAR-2026-Q2-credit-statement.xlsx"
    return part.get_payload(decode=True)


def test_outbox_writes_an_eml_with_the_statement(con, tmp_path):
    transport = Transport(mode="outbox", outbox_dir=tmp_path)
    [result] = deliver(con, [STATEMENT], transport)
    assert result.status == "sent"
    message = email.message_from_bytes(
        (tmp_path / "2026-Q2/NORTHSTAR.eml").read_bytes(), policy=email.policy.default
    )
    assert message["To"] == "ap@northstar.example" and "2026-Q2" in message["Subject"]
    assert attachment(message) == STATEMENT.content


def test_smtp_sends_once(con, smtp_server):
    controller, inbox = smtp_server
    transport = Transport(mode="smtp", host="127.0.0.1", port=controller.port, starttls=False)
    assert [r.status for r in deliver(con, [STATEMENT], transport)] == ["sent"]
    assert [r.status for r in deliver(con, [STATEMENT], transport)] == ["already_sent"]
    [(recipients, message)] = inbox.messages
    assert recipients == ["ap@northstar.example"] and attachment(message) == STATEMENT.content


def test_failed_send_is_retried_on_the_next_run(con, smtp_server):
    controller, inbox = smtp_server
    down = Transport(mode="smtp", host="127.0.0.1", port=free_port(), starttls=False, timeout_seconds=2)
    [failed] = deliver(con, [STATEMENT], down)
    assert failed.status == "failed" and "Connection" in failed.detail
    up = Transport(mode="smtp", host="127.0.0.1", port=controller.port, starttls=False)
    [sent] = deliver(con, [STATEMENT], up)
    assert sent.status == "sent" and len(inbox.messages) == 1
    assert con.execute("SELECT status, attempts FROM delivery_log").fetchall() == [("sent", 2)]


def test_an_email_sent_before_a_crash_stays_logged_as_sent(con, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    con.execute("INSERT INTO stg_distributors VALUES ('EUROPA-1', 'ap@europa.example', 'Europa')")
    second = StatementFile("EUROPA-1.xlsx", "EUROPA-1", b"PK-another")
    transport = Transport(mode="smtp", host="127.0.0.1", port=controller.port, starttls=False)
    real_send = Transport.send

    def send_then_die(self, message, quarter, file_name):
        if file_name == "NORTHSTAR.xlsx":  # sent second: distributors go in byte order
            raise KeyboardInterrupt  # the process dies between two sends
        return real_send(self, message, quarter, file_name)

    monkeypatch.setattr(Transport, "send", send_then_die)
    with pytest.raises(KeyboardInterrupt):
        deliver(con, [STATEMENT, second], transport)
    assert con.execute("SELECT distributor_id, status FROM delivery_log").fetchall() == [("EUROPA-1", "sent")]
    monkeypatch.setattr(Transport, "send", real_send)
    statuses = [r.status for r in deliver(con, [STATEMENT, second], transport)]
    assert statuses == ["already_sent", "sent"] and len(inbox.messages) == 2


def test_outbox_logs_every_statement_of_a_run(con, tmp_path):
    con.execute("INSERT INTO stg_distributors VALUES ('EUROPA-1', 'ap@europa.example', 'Europa')")
    second = StatementFile("EUROPA-1.xlsx", "EUROPA-1", b"PK-another")
    transport = Transport(outbox_dir=tmp_path)
    results = deliver(con, [STATEMENT, second], transport)
    assert [r.status for r in results] == ["sent", "sent"]
    assert con.execute("SELECT distributor_id, attempts FROM delivery_log ORDER BY 1").fetchall() == [
        ("EUROPA-1", 1),
        ("NORTHSTAR", 1),
    ]
    assert sorted(path.name for path in (tmp_path / "2026-Q2").iterdir()) == ["EUROPA-1.eml", "NORTHSTAR.eml"]


def test_distributor_without_email_is_logged_not_sent(con, tmp_path):
    con.execute("UPDATE stg_distributors SET email = NULL")
    [result] = deliver(con, [STATEMENT], Transport(outbox_dir=tmp_path))
    assert result.status == "no_email" and not (tmp_path / "2026-Q2").exists()


@pytest.mark.slow
def test_a_close_mails_nothing_and_a_second_persons_release_mails_statement_and_remittance(
    example_cwd, smtp_server, monkeypatch, capsys
):
    controller, inbox = smtp_server
    monkeypatch.setenv("RMA_DELIVERY_MODE", "smtp")
    monkeypatch.setenv("RMA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RMA_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("RMA_SMTP_STARTTLS", "false")
    common = EXAMPLE_ARGS
    assert main(["run", "2026-Q3", "--as-of", "2026-08-31", *common]) == 0
    assert main(["run", "2026-Q2", "--close", "--by", "Ann Closer", *common]) == 0
    assert inbox.messages == []  # rulebook §7.1: closing sends nothing
    assert main(["release", "2026-Q2", "--by", " ann closer", *common]) == 2
    assert "a second person must release it" in capsys.readouterr().err
    assert inbox.messages == []
    assert main(["release", "2026-Q2", "--by", "Bo Releaser", *common]) == 0
    assert main(["run", "2026-Q2", *common]) == 0
    assert main(["release", "2026-Q2", "--by", "Cy Third", *common]) == 0  # released already: nothing sent
    received = {recipients[0]: list(message.iter_attachments()) for recipients, message in inbox.messages}
    assert sorted(received) == ["ap@northstar.example", "billing@europa1.example"]
    statement, remittance = received["ap@northstar.example"]
    assert statement.get_filename() == "Example-Networks-Inc-NORTHSTAR-2026-Q2-credit-statement.xlsx"
    assert statement.get_payload(decode=True) == (example_cwd / "out/2026-Q2/NORTHSTAR.xlsx").read_bytes()
    assert remittance.get_filename() == "Example-Networks-Inc-NORTHSTAR-2026-Q2-remittance.csv"
    assert remittance.get_payload(decode=True) == (example_cwd / "out/2026-Q2/NORTHSTAR.csv").read_bytes()
    with duckdb.connect("wh.duckdb", read_only=True) as con:
        audit = con.execute(
            "SELECT who, action, outcome FROM audit_log ORDER BY happened_at, detail"
        ).fetchall()
    assert audit == [
        ("Ann Closer", "close", "closed"),
        ("ann closer", "release", "refused"),
        ("Bo Releaser", "release", "released"),
        ("Bo Releaser", "delivery", "sent"),
        ("Bo Releaser", "delivery", "sent"),
    ]


def test_the_checkpoint_runs_while_the_block_does(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    wal = tmp_path / "warehouse.duckdb.wal"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
        assert wal.exists()
        with checkpointing_meanwhile(con):
            deadline = time.monotonic() + 30
            while wal.exists() and time.monotonic() < deadline:  # the checkpoint, not the block's end
                time.sleep(0.01)
            checkpointed_meanwhile = not wal.exists()
        assert checkpointed_meanwhile
        assert con.execute("SELECT count(*) FROM t").fetchone() == (1000,)


def test_a_transaction_writing_meanwhile_is_left_alone(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        writer = con.cursor()
        writer.execute("BEGIN TRANSACTION")
        writer.execute("INSERT INTO t VALUES (1)")
        with checkpointing_meanwhile(con):
            pass  # the block neither fails nor waits for the writer
        writer.execute("COMMIT")
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_file_that_changed_after_the_first_reading_stops_the_delivery_there_and_what_was_sent_stays_logged(
    con, tmp_path
):
    con.execute("INSERT INTO stg_distributors VALUES ('EUROPA-1', 'ap@europa.example', 'Europa')")
    europa = StatementFile("EUROPA-1.xlsx", "EUROPA-1", b"europa workbook")
    approved = {europa.file_name: europa.sha256, STATEMENT.file_name: STATEMENT.sha256}
    changed = StatementFile(STATEMENT.file_name, STATEMENT.distributor_id, b"other bytes")
    transport = Transport(mode="outbox", outbox_dir=tmp_path)
    with pytest.raises(DeliveryRefused, match=r"NORTHSTAR\.xlsx changed after it was checked"):
        deliver_statements(
            con,
            "2026-Q2",
            still_as_released(by_distributor([europa, changed]), approved),
            transport,
            "c@v.example",
            VENDOR,
            "Bo Releaser",
        )
    assert [p.name for p in tmp_path.rglob("*.eml")] == ["EUROPA-1.eml"]
    logged = con.execute("SELECT distributor_id, status FROM delivery_log").fetchall()
    assert logged == [("EUROPA-1", "sent")]


@pytest.mark.parametrize(
    ("files", "approved_names", "refusal"),
    [
        (
            [STATEMENT],
            ["NORTHSTAR.xlsx", "NORTHSTAR.csv"],
            r"1 released file\(s\) are not stored \(first: NORTHSTAR\.csv\)",
        ),
        ([StatementFile("GHOST.xlsx", "GHOST", b"x")], ["GHOST.xlsx"], "GHOST has no credit row"),
        (
            [STATEMENT, StatementFile("NORTHSTAR-2.xlsx", "NORTHSTAR", b"y")],
            ["NORTHSTAR.xlsx", "NORTHSTAR-2.xlsx"],
            "NORTHSTAR has 2 statements",
        ),
    ],
)
def test_a_quarter_that_cannot_be_delivered_whole_is_refused_before_anything_is_sent(
    con, files, approved_names, refusal
):
    digests = {f.file_name: f.sha256 for f in files}
    approved = {name: digests.get(name, "a digest") for name in approved_names}
    approved["finance/2026-Q2-journal.csv"] = "not sent: never missing"
    with pytest.raises(DeliveryRefused, match=refusal):
        check_deliverable(con, "2026-Q2", iter(files), approved)
