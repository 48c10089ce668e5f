"""Rulebook §2: every row loaded or quarantined with file, line and reason."""

import os

import pytest

from assets.ingest.sources import SOURCES
from assets.ingest.staging import stage_source
from tests.scenario import CASE_DEFAULTS, CLAIM_DEFAULTS, write_csv


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    write_csv(root / "reference/distributors.csv", [{"distributor_id": "D1", "currency": "usd"}])
    return root


def stage(con, root, *names):
    for name in ("distributors", *names):
        report = stage_source(con, root, SOURCES[name])
    return report


def quarantine(con):
    return con.execute("SELECT source_file, source_line, reason FROM quarantine ORDER BY ALL").fetchall()


def test_headers_match_case_insensitively_with_padding_and_extra_columns(con, data):
    path = data / "inbound/fulfillment_reports/D1/a.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        " RMA_Number ,Fulfilled_On , defective_serial,REPLACEMENT_SERIAL,Store\nR-1,2026-05-01,S1,S2,x\n"
    )
    report = stage(con, data, "fulfillment_reports")
    assert (report.rows_read, report.rows_loaded) == (1, 1)
    assert con.execute("SELECT distributor_id, rma_number FROM stg_fulfillment_reports").fetchall() == [
        ("D1", "R-1")
    ]


def test_missing_required_column_quarantines_every_row_of_that_file_only(con, data):
    folder = data / "inbound/fulfillment_reports/D1"
    write_csv(folder / "a.csv", [{"rma_number": "R-1", "fulfilled_on": "2026-05-01"}] * 2)
    write_csv(folder / "b.csv", [CLAIM_DEFAULTS])
    stage(con, data, "fulfillment_reports")
    assert quarantine(con) == [
        ("inbound/fulfillment_reports/D1/a.csv", 2, "MISSING_COLUMN:defective_serial"),
        ("inbound/fulfillment_reports/D1/a.csv", 3, "MISSING_COLUMN:defective_serial"),
    ]


def test_unknown_distributor_folder(con, data):
    write_csv(data / "inbound/fulfillment_reports/NOPE/a.csv", [CLAIM_DEFAULTS])
    stage(con, data, "fulfillment_reports")
    assert quarantine(con) == [("inbound/fulfillment_reports/NOPE/a.csv", 2, "UNKNOWN_DISTRIBUTOR")]


def test_report_outside_a_distributor_folder(con, data):
    write_csv(data / "inbound/fulfillment_reports/loose.csv", [CLAIM_DEFAULTS])
    stage(con, data, "fulfillment_reports")
    assert quarantine(con) == [("inbound/fulfillment_reports/loose.csv", 2, "UNKNOWN_DISTRIBUTOR")]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("rma_number", "  ", "MISSING_VALUE:rma_number"),
        ("updated_at", "2026-02-30T10:00:00Z", "BAD_VALUE:updated_at"),
        ("updated_at", "03/04/2026", "BAD_VALUE:updated_at"),
        ("opened_at", "2026-04-02T09:00:00+25:00", "BAD_VALUE:opened_at"),
        ("channel", "partner", "BAD_VALUE:channel"),
        ("distributor_id", "", "MISSING_VALUE:distributor_id"),
        ("distributor_id", "D9", "UNKNOWN_DISTRIBUTOR"),
        ("warranty_end", "2027-1-1", "BAD_VALUE:warranty_end"),
        ("diagnosed_at", "", "MISSING_VALUE:diagnosed_at"),
        ("return_required", "maybe", "BAD_VALUE:return_required"),
        ("disposition", "refund", "BAD_VALUE:disposition"),
        ("status", "", "MISSING_VALUE:status"),
        ("ship_to_country", "USA", "BAD_VALUE:ship_to_country"),
    ],
)
def test_case_row_reasons(con, data, column, value, reason):
    write_csv(data / "inbound/rma_cases/c.csv", [{**CASE_DEFAULTS, column: value}])
    stage(con, data, "rma_cases")
    assert quarantine(con) == [("inbound/rma_cases/c.csv", 2, reason)]


def test_first_problem_in_column_order_wins(con, data):
    write_csv(
        data / "inbound/rma_cases/c.csv", [{**CASE_DEFAULTS, "status": "x", "opened_at": "x", "channel": "x"}]
    )
    stage(con, data, "rma_cases")
    assert quarantine(con)[0][2] == "BAD_VALUE:opened_at"


def test_direct_case_needs_no_distributor_and_pending_needs_no_diagnosis_time(con, data):
    write_csv(
        data / "inbound/rma_cases/c.csv",
        [
            {
                **CASE_DEFAULTS,
                "channel": "DIRECT",
                "distributor_id": "",
                "diagnosis": "Pending",
                "diagnosed_at": "",
            }
        ],
    )
    assert stage(con, data, "rma_cases").rows_loaded == 1


def test_timestamps_convert_to_utc(con, data):
    rows = [
        {**CASE_DEFAULTS, "rma_number": "A", "updated_at": "2026-06-14T22:30:00-05:00"},
        {**CASE_DEFAULTS, "rma_number": "B", "updated_at": "2026-06-14 22:30"},
        {**CASE_DEFAULTS, "rma_number": "C", "updated_at": "2026-06-14"},
        {**CASE_DEFAULTS, "rma_number": "D", "updated_at": "2026-06-14T22:30:00.25Z"},
    ]
    write_csv(data / "inbound/rma_cases/c.csv", rows)
    stage(con, data, "rma_cases")
    got = con.execute(
        "SELECT rma_number, strftime(updated_at, '%Y-%m-%d %H:%M:%S.%f') FROM stg_rma_cases ORDER BY 1"
    ).fetchall()
    assert got == [
        ("A", "2026-06-15 03:30:00.000000"),
        ("B", "2026-06-14 22:30:00.000000"),
        ("C", "2026-06-14 00:00:00.000000"),
        ("D", "2026-06-14 22:30:00.250000"),
    ]


@pytest.mark.parametrize(
    ("amount", "loaded"), [("12.34", True), ("12.345", False), ("-1.00", False), ("1e3", False), ("12", True)]
)
def test_money_has_at_most_two_decimals_and_no_negative_credit(con, data, amount, loaded):
    write_csv(
        data / "reference/price_list.csv",
        [{"sku": "S", "currency": "USD", "unit_credit": amount, "valid_from": "2026-01-01"}],
    )
    report = stage(con, data, "price_list")
    assert report.rows_loaded == int(loaded)
    if not loaded:
        assert quarantine(con)[0][2] == "BAD_VALUE:unit_credit"


def test_duplicate_receipt_id_keeps_the_first(con, data):
    rows = [
        {"receipt_id": "RC-1", "rma_number": "R-1", "serial_number": "S", "received_at": "2026-04-05"}
    ] * 2
    write_csv(data / "inbound/receiving_logs/a.csv", rows)
    stage(con, data, "receiving_logs")
    assert quarantine(con) == [("inbound/receiving_logs/a.csv", 3, "DUPLICATE_RECEIPT_ID")]


def test_duplicate_distributor_keeps_the_first(con, data):
    write_csv(
        data / "reference/distributors.csv",
        [{"distributor_id": "D1", "currency": "USD"}, {"distributor_id": "D1", "currency": "EUR"}],
    )
    stage(con, data)
    assert con.execute("SELECT currency FROM stg_distributors").fetchall() == [("USD",)]
    assert quarantine(con) == [("reference/distributors.csv", 3, "DUPLICATE_DISTRIBUTOR")]


def test_unreadable_file_is_one_row_at_line_zero_and_others_go_on(con, data):
    folder = data / "inbound/receiving_logs"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(b"receipt_id\n\xff\xfe\n")
    write_csv(
        folder / "b.csv",
        [{"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "2026-04-05"}],
    )
    report = stage(con, data, "receiving_logs")
    assert (report.rows_loaded, quarantine(con)) == (
        1,
        [("inbound/receiving_logs/a.csv", 0, "UNREADABLE_FILE")],
    )


def test_symlink_outside_the_data_directory_is_not_followed(con, data, tmp_path):
    outside = tmp_path / "outside.csv"
    write_csv(
        outside,
        [{"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "2026-04-05"}],
    )
    folder = data / "inbound/receiving_logs"
    folder.mkdir(parents=True)
    os.symlink(outside, folder / "link.csv")
    report = stage(con, data, "receiving_logs")
    assert report.rows_loaded == 0
    assert quarantine(con) == [("inbound/receiving_logs/link.csv", 0, "UNREADABLE_FILE")]


def test_files_in_byte_order_and_other_kinds_quarantined(con, data):
    folder = data / "inbound/receiving_logs"
    for name in ("b.csv", "B.csv", "a.txt"):
        write_csv(
            folder / name,
            [{"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "2026-04-05"}],
        )
    report = stage(con, data, "receiving_logs")
    assert report.files == 3
    assert quarantine(con) == [
        ("inbound/receiving_logs/a.txt", 0, "UNSUPPORTED_FILE"),
        ("inbound/receiving_logs/b.csv", 2, "DUPLICATE_RECEIPT_ID"),
    ]


def test_blank_rows_are_skipped_and_every_other_row_accounted_for(con, data):
    folder = data / "inbound/receiving_logs"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(
        "receipt_id,rma_number,serial_number,received_at\n\n , , ,\n"
        "RC-1,R,S,2026-04-05\nRC-2,R,S,bad\nRC-3,R,S,2026-04-05,extra\n"
    )
    report = stage(con, data, "receiving_logs")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 1, 2)
    assert quarantine(con) == [
        ("inbound/receiving_logs/a.csv", 5, "BAD_VALUE:received_at"),
        ("inbound/receiving_logs/a.csv", 6, "EXTRA_FIELDS"),
    ]


def test_quarantine_keeps_the_raw_text(con, data):
    write_csv(
        data / "inbound/receiving_logs/a.csv",
        [{"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "x"}],
    )
    stage(con, data, "receiving_logs")
    assert con.execute("SELECT raw FROM quarantine").fetchone() == ("RC-1,R,S,x",)


def test_rerun_replaces_the_sources_quarantine(con, data):
    path = data / "inbound/receiving_logs/a.csv"
    write_csv(path, [{"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "x"}])
    stage(con, data, "receiving_logs")
    write_csv(
        path, [{"receipt_id": "RC-1", "rma_number": "R", "serial_number": "S", "received_at": "2026-04-05"}]
    )
    stage(con, data, "receiving_logs")
    assert quarantine(con) == []


def test_price_valid_to_before_valid_from_is_bad(con, data):
    write_csv(
        data / "reference/price_list.csv",
        [
            {
                "sku": "S",
                "currency": "USD",
                "unit_credit": "1.00",
                "valid_from": "2026-02-01",
                "valid_to": "2026-01-31",
            }
        ],
    )
    stage(con, data, "price_list")
    assert quarantine(con)[0][2] == "BAD_VALUE:valid_to"


PLAIN_CASES = [
    "rma_number,fulfilled_on,defective_serial,replacement_serial,claimed_amount\nR-1,2026-05-01,S1,S2,10.00\n",
    "\n\nrma_number,fulfilled_on,defective_serial,replacement_serial\r\n\r\n"
    "R-1,2026-05-01,S1,S2\r\n , ,\t,\r\nr-2 ,2026-05-02,s1,S3\r\n",
    "\ufeffrma_number,fulfilled_on,defective_serial,replacement_serial\n"
    "R-1,2026-05-01,S1,S2,,  ,\nR-2,2026-05-01,S1,S2,extra\n",
    "rma_number,fulfilled_on,defective_serial,replacement_serial\nR-1,2026-05-01\n\u2003,\u00a0\nR-2,2026-13-01,S1,S2\n=cmd(),2026-05-01,S,S\n",
    "rma_number,fulfilled_on,replacement_serial\nR-1,2026-05-01,S2\n",
    "rma_number;fulfilled_on;defective_serial;replacement_serial\nR-1;2026-05-01;S1;S2\n",
    "rma_number,fulfilled_on,defective_serial,replacement_serial\nR-é,2026-05-01,S1," + "é" * 10_050 + "\n",
    "rma_number,Rma_Number,fulfilled_on,defective_serial,replacement_serial\nR-1,R-9,2026-05-01,S1,S2",
    "rma_number,fulfilled_on,defective_serial,replacement_serial\n",
    "\n\n",
]


def _staged_rows(con, root):
    stage(con, root, "fulfillment_reports")
    loaded = con.execute("SELECT * FROM stg_fulfillment_reports ORDER BY ALL").fetchall()
    held = con.execute("SELECT * FROM quarantine ORDER BY ALL").fetchall()
    read = con.execute("SELECT rows_read FROM ingest_log WHERE source = 'fulfillment_reports'").fetchall()
    return loaded, held, read


@pytest.mark.parametrize("text", PLAIN_CASES)
def test_plain_files_load_exactly_as_the_csv_parser_would(con, data, text, monkeypatch):
    for folder in ("D1", "NOPE"):
        path = data / f"inbound/fulfillment_reports/{folder}/a.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    plain = _staged_rows(con, data)
    import assets.ingest.readers

    monkeypatch.setattr(assets.ingest.readers, "_plain_csv", lambda *args: None)
    parsed = _staged_rows(con, data)
    assert plain == parsed


def test_only_quote_free_files_skip_the_csv_parser(tmp_path):
    from assets.ingest.readers import PlainCsv, RawFile, read_csv_file

    plain, quoted, bare_cr = tmp_path / "plain.csv", tmp_path / "quoted.csv", tmp_path / "cr.csv"
    plain.write_text("a,b\r\n1,2\r\n\r\n3,4\r\n", newline="")
    quoted.write_text('a,b\n"1\n2",3\n', newline="")
    bare_cr.write_text("a,b\n1\r2,3\n", newline="")
    parsed = read_csv_file(plain)
    assert isinstance(parsed, PlainCsv)
    assert (parsed.header, parsed.header_line, parsed.rows) == (["a", "b"], 1, 2)
    assert isinstance(read_csv_file(quoted), RawFile)
    assert isinstance(read_csv_file(bare_cr), RawFile)


def test_whitespace_constant_is_pythons():
    from assets.ingest.readers import WHITESPACE

    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == WHITESPACE


def test_a_line_break_is_a_bad_value_except_in_customer_name(con, data):
    folder = data / "inbound/rma_cases"
    folder.mkdir(parents=True)
    header = ",".join(CASE_DEFAULTS)
    good = ",".join(CASE_DEFAULTS.values())
    broken_serial = good.replace("SN-1", '"SN-\n1"')
    two_line_name = good.replace("Ann", '"Ann\r\nLee"')
    (folder / "c.csv").write_text(f"{header}\n{broken_serial}\n{two_line_name}\n", newline="")
    report = stage(con, data, "rma_cases")
    assert quarantine(con) == [("inbound/rma_cases/c.csv", 2, "BAD_VALUE:serial_number")]
    assert report.rows_loaded == 1
    assert con.execute("SELECT customer_name FROM stg_rma_cases").fetchone() == ("Ann\r\nLee",)


def test_unicode_separators_are_line_breaks_too(con, data):
    path = data / "inbound/fulfillment_reports/D1/a.csv"
    path.parent.mkdir(parents=True)
    path.write_text(",".join(CLAIM_DEFAULTS) + "\nR-1,2026-05-01,SN-1,SN\u2028R1,SKU,\n")
    stage(con, data, "fulfillment_reports")
    assert quarantine(con) == [("inbound/fulfillment_reports/D1/a.csv", 2, "BAD_VALUE:replacement_serial")]


def test_zero_width_characters_leave_rma_and_serial_numbers(con, data):
    path = data / "inbound/fulfillment_reports/D1/a.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        ",".join(CLAIM_DEFAULTS) + "\n\ufeffr-1\u200b,2026-05-01,SN\u200c-\u2060\u200d1,SN-R1,,\n"
    )
    stage(con, data, "fulfillment_reports")
    assert con.execute("SELECT rma_number, defective_serial FROM stg_fulfillment_reports").fetchall() == [
        ("R-1", "SN-1")
    ]


def test_a_number_of_zero_width_characters_only_is_missing(con, data):
    write_csv(
        data / "inbound/receiving_logs/r.csv",
        [{"receipt_id": "RC-1", "rma_number": "\u200b", "serial_number": "S", "received_at": "2026-05-01"}],
    )
    stage(con, data, "receiving_logs")
    assert quarantine(con) == [("inbound/receiving_logs/r.csv", 2, "MISSING_VALUE:rma_number")]


def test_values_are_trimmed_of_unicode_white_space(con, data):
    write_csv(
        data / "inbound/fulfillment_reports/D1/a.csv",
        [{**CLAIM_DEFAULTS, "replacement_serial": "\u3000SN-R1\u2003"}],
    )
    stage(con, data, "fulfillment_reports")
    assert con.execute("SELECT replacement_serial FROM stg_fulfillment_reports").fetchone() == ("SN-R1",)


def test_a_stray_quote_puts_the_lines_it_swallows_in_quarantine(con, data):
    from checks.conservation import rows_accounted_for

    path = data / "inbound/fulfillment_reports/D1/a.csv"
    path.parent.mkdir(parents=True)
    lines = [",".join(CLAIM_DEFAULTS)] + [f"R-{n},2026-05-01,SN-{n},SN-R{n},SKU,10.00" for n in range(1, 6)]
    lines[2] = lines[2].replace("SN-R2", '"SN-R2')
    path.write_text("\n".join(lines) + "\n")
    report = stage(con, data, "fulfillment_reports")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)
    [(line, reason, span, raw)] = con.execute(
        "SELECT source_line, reason, line_span, raw FROM quarantine"
    ).fetchall()
    assert (line, reason, span) == (3, "BAD_VALUE:replacement_serial", 4)
    assert raw.splitlines()[1:] == lines[3:]
    passed, figures = rows_accounted_for(con, "fulfillment_reports")
    assert passed, figures


def test_a_second_vendor_row_is_a_duplicate(con, data):
    write_csv(
        data / "reference/vendor.csv",
        [
            {"legal_name": "Example Networks Inc.", "email": "credits@example.net", "dispute_days": "45"},
            {"legal_name": "Other Inc.", "email": "x@other.example", "dispute_days": ""},
        ],
    )
    stage(con, data, "vendor")
    assert quarantine(con) == [("reference/vendor.csv", 3, "DUPLICATE_VENDOR")]
    assert con.execute("SELECT legal_name, dispute_days FROM stg_vendor").fetchall() == [
        ("Example Networks Inc.", 45)
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"legal_name": "", "email": "a@b.example"}, "MISSING_VALUE:legal_name"),
        ({"legal_name": "V", "email": ""}, "MISSING_VALUE:email"),
        ({"legal_name": "V", "email": "a@b.example", "dispute_days": "thirty"}, "BAD_VALUE:dispute_days"),
        ({"legal_name": "V", "email": "a@b.example", "dispute_days": "-5"}, "BAD_VALUE:dispute_days"),
    ],
)
def test_vendor_row_reasons(con, data, row, reason):
    write_csv(data / "reference/vendor.csv", [{"legal_name": "", "email": "", "dispute_days": "", **row}])
    stage(con, data, "vendor")
    assert quarantine(con) == [("reference/vendor.csv", 2, reason)]


def test_gl_accounts_roles_are_known_and_once_each(con, data):
    rows = [
        {"role": "Warranty_Expense", "account": "6100"},
        {"role": "credits_payable", "account": "2200"},
        {"role": "credits_payable", "account": "2201"},
        {"role": "rebates", "account": "9999"},
    ]
    write_csv(data / "reference/gl_accounts.csv", rows)
    stage(con, data, "gl_accounts")
    assert quarantine(con) == [
        ("reference/gl_accounts.csv", 4, "DUPLICATE_ROLE"),
        ("reference/gl_accounts.csv", 5, "BAD_VALUE:role"),
    ]
    assert con.execute("SELECT role, account FROM stg_gl_accounts ORDER BY 1").fetchall() == [
        ("credits_payable", "2200"),
        ("warranty_expense", "6100"),
    ]


def test_the_reason_map_knows_only_our_reasons(con, data):
    rows = [
        {"reason": "NO_PRICE", "external_code": "NP"},
        {"reason": "no_price", "external_code": "np"},  # reason codes are written as the rulebook does
        {"reason": "NO_PRICE", "external_code": "NP2"},
    ]
    write_csv(data / "reference/reason_code_map.csv", rows)
    stage(con, data, "reason_code_map")
    assert quarantine(con) == [
        ("reference/reason_code_map.csv", 3, "BAD_VALUE:reason"),
        ("reference/reason_code_map.csv", 4, "DUPLICATE_REASON"),
    ]
