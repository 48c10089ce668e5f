"""The remittance file (rulebook §7.5): one row per claim, the distributor's own codes, no formulas."""

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

import assets.statements.remittance
from assets.statements.remittance import REMITTANCE_COLUMNS, remittance_files, spreadsheet_safe
from core.quarters import Quarter


def rows(example_q2, memos=None):
    files = dict(remittance_files(example_q2, Quarter(2026, 2), memos or {"NORTHSTAR": "CM-000001"}))
    return {d: list(csv.reader(io.StringIO(content.decode()))) for d, content in files.items()}


def test_one_row_per_claim_in_file_and_line_order(example_q2):
    northstar = rows(example_q2)["NORTHSTAR"]
    assert northstar[0] == REMITTANCE_COLUMNS
    assert [(r[0].rsplit("/", 1)[1], int(r[1])) for r in northstar[1:]] == sorted(
        (r[0].rsplit("/", 1)[1], int(r[1])) for r in northstar[1:]
    )
    credited = [r for r in northstar[1:] if r[5] == "credited"]
    assert [(r[2], r[10], r[11], r[12]) for r in credited] == [
        ("R26-0101", "120.00", "USD", "CM-000001"),
        ("R26-0102", "49.99", "USD", "CM-000001"),
    ]
    assert all(r[12] == "" for r in northstar[1:] if r[5] != "credited")


def test_external_codes_come_from_the_reason_map(example_q2):
    example_q2.execute(
        "INSERT INTO stg_reason_code_map BY NAME SELECT 'NO_PRICE' AS reason, '=NP' AS external_code"
    )
    europa = rows(example_q2)["EUROPA-1"]
    no_price = [r for r in europa if r[6] == "NO_PRICE"]
    assert [r[7:9] for r in no_price] == [
        ["No credit price for the product in the distributor's currency", "'=NP"]
    ]


def test_text_that_would_start_a_formula_gets_an_apostrophe():
    assert [spreadsheet_safe(v) for v in ("=1+1", "+1", "-1", "@SUM", "\t=", "\r=", "plain", None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM",
        "'\t=",
        "'\r=",
        "plain",
        "",
    ]


def python_remittance(con, quarter: Quarter, memos: dict[str, str]) -> list[tuple[str, bytes]]:
    """The remittance files as csv.writer writes them, row by row: what DuckDB's lines must equal."""
    from assets.reconcile.rules import CLAIM_RULES

    external = dict(con.execute("SELECT reason, external_code FROM stg_reason_code_map").fetchall())
    meaning = {rule.reason: rule.meaning for rule in CLAIM_RULES}
    files: dict[str, io.StringIO] = {}
    for distributor_id, *row in con.execute(
        """SELECT distributor_id, source_file, source_line, rma_number, fulfilled_on, defective_serial,
            outcome, reason, claimed_amount, credit_amount, currency
        FROM claim_outcomes WHERE quarter = ? ORDER BY distributor_id, source_file, source_line""",
        [str(quarter)],
    ).fetchall():
        if distributor_id not in files:
            files[distributor_id] = io.StringIO()
            csv.writer(files[distributor_id], lineterminator="\n").writerow(REMITTANCE_COLUMNS)
        source_file, line, rma, fulfilled_on, serial, outcome, reason, claimed, credit, currency = row
        csv.writer(files[distributor_id], lineterminator="\n").writerow(
            [
                spreadsheet_safe(source_file),
                line,
                spreadsheet_safe(rma),
                fulfilled_on.isoformat(),
                spreadsheet_safe(serial),
                outcome,
                reason,
                meaning[reason],
                spreadsheet_safe(external.get(reason)),
                "" if claimed is None else f"{claimed:.2f}",
                "" if credit is None else f"{credit:.2f}",
                currency,
                memos.get(distributor_id, "") if outcome == "credited" else "",
            ]
        )
    return [(d, buffer.getvalue().encode("utf-8")) for d, buffer in files.items()]


def test_duckdb_writes_the_example_byte_for_byte_as_csv_writer(example_q2):
    example_q2.execute("INSERT INTO stg_reason_code_map VALUES ('x', 0, 1, 'NO_PRICE', '=NP, \"x\"')")
    memos = {"NORTHSTAR": "CM-000001"}
    assert list(remittance_files(example_q2, Quarter(2026, 2), memos)) == python_remittance(
        example_q2, Quarter(2026, 2), memos
    )


HOSTILE = st.text(alphabet=st.sampled_from(list(",\"\n\r\t=+-@ aZé\u2028\x00;'")), max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(HOSTILE, HOSTILE, HOSTILE, st.sampled_from(["credited", "held", "rejected"])),
        min_size=1,
        max_size=6,
    ),
    HOSTILE,
)
def test_duckdb_quotes_and_guards_any_text_as_csv_writer_does(claims, external_code):
    import duckdb

    from core.warehouse import prepare

    with duckdb.connect() as con:
        prepare(con)
        con.execute("CREATE TABLE stg_reason_code_map (reason VARCHAR, external_code VARCHAR)")
        con.execute("INSERT INTO stg_reason_code_map VALUES ('CREDITED', ?)", [external_code])
        for line, (source_file, rma, serial, outcome) in enumerate(claims, start=1):
            con.execute(
                """INSERT INTO claim_outcomes BY NAME SELECT '2026-Q2' AS quarter, 'D1' AS distributor_id,
                    ? AS source_file, ? AS source_line, ? AS rma_number, DATE '2026-05-04' AS fulfilled_on,
                    ? AS defective_serial, ? AS outcome, 'CREDITED' AS reason, 1.5 AS claimed_amount,
                    -0.25 AS credit_amount, 'EUR' AS currency""",
                [source_file, line, rma, serial, outcome],
            )
        memos = {"D1": "CM-000007"}
        assert list(remittance_files(con, Quarter(2026, 2), memos)) == python_remittance(
            con, Quarter(2026, 2), memos
        )


def test_a_batch_of_distributors_at_a_time_writes_the_same_files(example_q2, monkeypatch):
    memos = {"NORTHSTAR": "CM-000001", "SUNLINK": "CM-000002"}
    in_one_batch = list(remittance_files(example_q2, Quarter(2026, 2), memos))
    assert len(in_one_batch) > 1
    monkeypatch.setattr(assets.statements.remittance, "BATCH_LINES", 1)  # a distributor per batch
    assert list(remittance_files(example_q2, Quarter(2026, 2), memos)) == in_one_batch
