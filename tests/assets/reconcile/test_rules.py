"""One test per claim rule (§3) and per SLA status (§4), on the smallest data that shows it."""

import datetime as dt
from decimal import Decimal

import pytest

from assets.reconcile.rules import CLAIM_RULES
from tests.scenario import Scenario


@pytest.fixture
def scenario(tmp_path) -> Scenario:
    return Scenario(tmp_path / "data")


def reasons(scenario: Scenario, **kwargs) -> list[str]:
    return [row[2] for row in scenario.outcomes(**kwargs)]


RULEBOOK_RULES = [  # rulebook §3, written out here so that a change to CLAIM_RULES must match it
    (0, "CASE_QUARANTINED", "held"),
    (1, "UNKNOWN_RMA", "rejected"),
    (2, "NOT_DISTRIBUTOR_CHANNEL", "rejected"),
    (3, "WRONG_DISTRIBUTOR", "rejected"),
    (4, "RMA_CANCELLED", "rejected"),
    (5, "SERIAL_MISMATCH", "rejected"),
    (6, "NOT_DEFECTIVE", "rejected"),
    (7, "OUT_OF_WARRANTY", "rejected"),
    (8, "PENDING_VALIDATION", "held"),
    (9, "FULFILLED_BEFORE_RMA", "rejected"),
    (10, "ALREADY_CREDITED", "rejected"),
    (11, "DUPLICATE_CLAIM", "rejected"),
    (12, "AWAITING_RETURN", "held"),
    (13, "NO_PRICE", "held"),
    (14, "CREDITED", "credited"),
]
RULEBOOK_REASONS = {number: reason for number, reason, _ in RULEBOOK_RULES}


def test_rule_table_is_in_rulebook_order():
    assert [(rule.number, rule.reason, rule.outcome) for rule in CLAIM_RULES] == RULEBOOK_RULES


def test_the_reason_map_knows_every_reason_in_rule_order():
    from assets.ingest.sources import REASON_CODES

    assert tuple(rule.reason for rule in CLAIM_RULES) == REASON_CODES


def credited_in_a_closed_quarter(scenario: Scenario, rma_number: str = "R-1") -> None:
    """R-1 credited in 2026-Q1, which is closed."""
    scenario.reconcile("2026-Q2")  # creates the tables
    scenario.con.execute(
        "INSERT INTO claim_outcomes (quarter, source_file, source_line, rma_number, outcome, reason)"
        " VALUES ('2026-Q1', 'inbound/fulfillment_reports/D1/old.csv', 2, ?, 'credited', 'CREDITED')",
        [rma_number],
    )
    scenario.con.execute(
        "INSERT INTO quarter_runs (quarter, state, as_of) VALUES ('2026-Q1', 'closed', '2026-03-31')"
    )


PENDING = {"diagnosis": "pending", "diagnosed_at": ""}
# Claims that meet two adjacent rules (and no earlier one): the earlier rule decides. Rule 1 (no
# case) excludes every later rule, as they all read the case, so the pair (1, 2) cannot occur.
BOTH_RULES_APPLY = {
    (0, 1): lambda s: s.case(updated_at="last Tuesday").claim(),
    (2, 3): lambda s: s.case(channel="direct", distributor_id="D2").claim(),
    (3, 4): lambda s: s.case(distributor_id="D2", status="cancelled").claim(),
    (4, 5): lambda s: s.case(status="cancelled").claim(defective_serial="SN-2"),
    (5, 6): lambda s: s.case(diagnosis="no_fault_found").claim(defective_serial="SN-2"),
    (6, 7): lambda s: s.case(diagnosis="no_fault_found", warranty_end="2026-04-01").claim(),
    (7, 8): lambda s: s.case(warranty_end="2026-04-01", **PENDING).claim(),
    (8, 9): lambda s: s.case(**PENDING).claim(fulfilled_on="2026-04-01"),
    (9, 10): lambda s: (s.case().claim(fulfilled_on="2026-04-01"), credited_in_a_closed_quarter(s)),
    (10, 11): lambda s: (s.case().claim().claim(), credited_in_a_closed_quarter(s)),
    (11, 12): lambda s: s.case(return_required="yes").claim().claim(fulfilled_on="2026-04-11"),
    (12, 13): lambda s: s.case(return_required="yes", distributor_id="D2").claim(distributor="D2"),
    (13, 14): lambda s: s.case(distributor_id="D2").claim(distributor="D2"),
}


@pytest.mark.parametrize("pair", list(BOTH_RULES_APPLY), ids=lambda pair: f"rule-{pair[0]}-before-{pair[1]}")
def test_the_earlier_of_two_rules_that_apply_decides(scenario, pair):
    BOTH_RULES_APPLY[pair](scenario)
    expected = RULEBOOK_REASONS[pair[0]]  # the rulebook's, not CLAIM_RULES': a swap there must fail
    found = reasons(scenario)
    if pair == (10, 11):  # the first claim is not standing, so neither is a duplicate
        assert found == [expected, expected]
    elif pair == (11, 12):  # the first claim stands and awaits its return; the second duplicates it
        assert found == ["AWAITING_RETURN", expected]
    else:
        assert found == [expected]


def test_0_a_case_row_in_quarantine_holds_its_claims(scenario):
    scenario.case(updated_at="last Tuesday").claim()
    assert reasons(scenario) == ["CASE_QUARANTINED"]


def test_0_holds_only_claims_whose_case_is_missing(scenario):
    # Another version of R-1 stands, so rule 0 does not apply to it; R-2 is unknown and not in quarantine.
    scenario.case().case(updated_at="garbage").claim().claim(rma_number="R-2")
    assert reasons(scenario) == ["CREDITED", "UNKNOWN_RMA"]


def test_0_a_case_file_quarantined_whole_holds_every_unknown_rma(scenario):
    broken = scenario.root / "inbound/rma_cases/portal-2.csv"
    broken.parent.mkdir(parents=True)
    broken.write_bytes("rma_number,updated_at\nR-2,2026-04-03 M\xfcller\n".encode("cp1252"))
    scenario.case().claim().claim(rma_number="R-2")
    assert reasons(scenario) == ["CREDITED", "CASE_QUARANTINED"]


def test_0_a_case_file_without_its_rma_number_column_holds_every_unknown_rma(scenario):
    renamed = scenario.root / "inbound/rma_cases/portal-2.csv"
    renamed.parent.mkdir(parents=True)
    renamed.write_text("rma,updated_at\nR-2,2026-04-03\n")
    scenario.case().claim(rma_number="R-2")
    assert reasons(scenario) == ["CASE_QUARANTINED"]


def test_0_a_quarantined_case_row_is_matched_like_a_case(scenario):
    # Trimmed, upper-cased, without zero-width characters, as RMA numbers are compared.
    scenario.case(rma_number=" r-9\u200b ", opened_at="soon").claim(rma_number="R-9")
    assert reasons(scenario) == ["CASE_QUARANTINED"]


def test_1_unknown_rma(scenario):
    scenario.case().claim(rma_number="R-404")
    assert reasons(scenario) == ["UNKNOWN_RMA"]


def test_1_case_versions_after_the_cutoff_do_not_exist_yet(scenario):
    scenario.case(updated_at="2026-07-01T00:00:00Z").claim()
    assert reasons(scenario) == ["UNKNOWN_RMA"]


def test_2_direct_case(scenario):
    scenario.case(channel="direct", distributor_id="").claim()
    assert reasons(scenario) == ["NOT_DISTRIBUTOR_CHANNEL"]


def test_3_wrong_distributor(scenario):
    scenario.case(distributor_id="D2").claim()
    assert reasons(scenario) == ["WRONG_DISTRIBUTOR"]


def test_4_cancelled(scenario):
    scenario.case().case(updated_at="2026-04-05T00:00:00Z", status="cancelled").claim()
    assert reasons(scenario) == ["RMA_CANCELLED"]


def test_5_serial_mismatch(scenario):
    scenario.case().claim(defective_serial="SN-2")
    assert reasons(scenario) == ["SERIAL_MISMATCH"]


def test_5_a_zero_width_space_pasted_into_a_serial_is_no_mismatch(scenario):
    scenario.case(serial_number="SN-1\ufeff").claim(defective_serial="sn\u200b-1", rma_number="R-1\u2060")
    assert reasons(scenario) == ["CREDITED"]


def test_5_serials_compare_trimmed_and_upper_cased(scenario):
    scenario.case().claim(defective_serial="  sn-1 ", rma_number=" r-1")
    assert reasons(scenario) == ["CREDITED"]


@pytest.mark.parametrize("diagnosis", ["no_fault_found", "NOT_COVERED"])
def test_6_not_defective(scenario, diagnosis):
    scenario.case(diagnosis=diagnosis).claim()
    assert reasons(scenario) == ["NOT_DEFECTIVE"]


def test_7_out_of_warranty(scenario):
    scenario.case(warranty_end="2026-04-01").claim()
    assert reasons(scenario) == ["OUT_OF_WARRANTY"]


def test_7_opened_on_the_last_warranty_day_is_covered(scenario):
    scenario.case(warranty_end="2026-04-02").claim()
    assert reasons(scenario) == ["CREDITED"]


def test_8_pending(scenario):
    scenario.case(diagnosis="pending", diagnosed_at="").claim()
    assert reasons(scenario) == ["PENDING_VALIDATION"]


def test_8_diagnosed_after_the_cutoff(scenario):
    scenario.case(diagnosed_at="2026-07-02T00:00:00Z").claim()
    rows = scenario.outcomes()
    assert [(r[1], r[2]) for r in rows] == [("held", "PENDING_VALIDATION")]


def test_9_fulfilled_before_rma(scenario):
    scenario.case().claim(fulfilled_on="2026-04-01")
    assert reasons(scenario) == ["FULFILLED_BEFORE_RMA"]


def test_9_offsets_move_the_opening_day(scenario):
    # 22:30 at -05:00 on 04-01 is 04-02 UTC: a claim fulfilled 04-01 came first.
    scenario.case(opened_at="2026-04-01T22:30:00-05:00").claim(fulfilled_on="2026-04-01")
    assert reasons(scenario) == ["FULFILLED_BEFORE_RMA"]


def test_10_already_credited_in_a_closed_quarter(scenario):
    scenario.case().claim()
    credited_in_a_closed_quarter(scenario)
    assert reasons(scenario) == ["ALREADY_CREDITED"]


def test_10_credit_in_a_draft_quarter_does_not_count(scenario):
    scenario.case().claim()
    credited_in_a_closed_quarter(scenario)
    scenario.con.execute("UPDATE quarter_runs SET state = 'draft' WHERE quarter = '2026-Q1'")
    assert reasons(scenario) == ["CREDITED"]


def test_11_duplicate_claim_earliest_fulfilled_on_stands(scenario):
    scenario.case().claim(fulfilled_on="2026-04-20").claim(fulfilled_on="2026-04-10")
    assert reasons(scenario) == ["DUPLICATE_CLAIM", "CREDITED"]


def test_11_same_day_the_earlier_line_stands(scenario):
    scenario.case().claim().claim()
    assert reasons(scenario) == ["CREDITED", "DUPLICATE_CLAIM"]


def test_11_only_claims_still_standing_compete(scenario):
    # The first claim is rejected by rule 5, so the second one stands.
    scenario.case().claim(defective_serial="SN-X").claim(fulfilled_on="2026-04-20")
    assert reasons(scenario) == ["SERIAL_MISMATCH", "CREDITED"]


def test_12_awaiting_return(scenario):
    scenario.case(return_required="yes").claim()
    assert reasons(scenario) == ["AWAITING_RETURN"]


def test_12_a_receipt_with_another_serial_is_no_return(scenario):
    scenario.case(return_required="Y").claim().receipt(serial_number="SN-OTHER")
    assert reasons(scenario) == ["AWAITING_RETURN"]


def test_12_received_after_the_cutoff(scenario):
    scenario.case(return_required="1").claim().receipt(received_at="2026-07-01T00:00:00Z")
    assert reasons(scenario) == ["AWAITING_RETURN"]


def test_13_no_price_in_the_distributors_currency(scenario):
    scenario.case(distributor_id="D2").claim(distributor="D2")
    assert reasons(scenario) == ["NO_PRICE"]


def test_13_price_not_valid_on_the_fulfilment_day(scenario):
    scenario.prices = [{**scenario.prices[0], "valid_to": "2026-04-09"}]
    scenario.case().claim(fulfilled_on="2026-04-10")
    assert reasons(scenario) == ["NO_PRICE"]


def test_14_credited_with_amount_due_quarter_and_variance(scenario):
    scenario.case(return_required="true").claim(claimed_amount="105.50").receipt()
    rows = scenario.outcomes()
    assert rows == [("R-1", "credited", "CREDITED", Decimal("100.00"), "2026-Q2", False, Decimal("5.50"))]


def test_14_latest_valid_from_wins_and_ties_go_to_the_later_line(scenario):
    scenario.prices = [
        {
            "sku": "SKU-A",
            "currency": "USD",
            "unit_credit": "90.00",
            "valid_from": "2025-01-01",
            "valid_to": "",
        },
        {
            "sku": "SKU-A",
            "currency": "USD",
            "unit_credit": "95.00",
            "valid_from": "2026-04-01",
            "valid_to": "",
        },
        {
            "sku": "SKU-A",
            "currency": "USD",
            "unit_credit": "97.00",
            "valid_from": "2026-04-01",
            "valid_to": "",
        },
    ]
    scenario.case().claim()
    assert scenario.outcomes()[0][3] == Decimal("97.00")


def test_14_late_credit_due_in_an_earlier_quarter(scenario):
    scenario.case(
        opened_at="2026-03-01T00:00:00Z",
        updated_at="2026-03-02T00:00:00Z",
        diagnosed_at="2026-03-02T00:00:00Z",
    ).claim(fulfilled_on="2026-03-20")
    rows = scenario.outcomes()
    assert rows[0][4:6] == ("2026-Q1", True)


def test_scope_excludes_claims_fulfilled_after_the_as_of_day(scenario):
    scenario.case().claim(fulfilled_on="2026-05-02")
    assert reasons(scenario, as_of="2026-05-01") == []
    assert reasons(scenario, as_of="2026-05-02") == ["CREDITED"]


def test_scope_excludes_final_outcomes_of_closed_quarters_but_keeps_held(scenario):
    scenario.case().claim().claim(rma_number="R-404")
    scenario.reconcile("2026-Q2")
    scenario.con.execute("INSERT INTO claim_outcomes SELECT * FROM quarter_claim_outcomes")
    scenario.con.execute(
        "UPDATE claim_outcomes SET outcome = 'held', reason = 'NO_PRICE' WHERE rma_number = 'R-404'"
    )
    scenario.con.execute(
        "INSERT INTO quarter_runs (quarter, state, as_of) VALUES ('2026-Q2', 'closed', '2026-06-30')"
    )
    assert [row[0] for row in scenario.outcomes("2026-Q3")] == ["R-404"]


def direct(**values):
    return {"channel": "direct", "distributor_id": "", "disposition": "repair", **values}


def test_sla_met(scenario):
    scenario.case(**direct()).case(
        **direct(updated_at="2026-04-20T00:00:00Z", resolved_at="2026-04-20T00:00:00Z", status="closed")
    )
    assert scenario.sla() == [
        ("R-1", "met", dt.datetime(2026, 4, 3, 10), dt.date(2026, 5, 3), dt.date(2026, 4, 20), 0, "DOMESTIC")
    ]


def test_sla_breached_when_resolved_late(scenario):
    scenario.case(
        **direct(updated_at="2026-05-08T00:00:00Z", resolved_at="2026-05-08T00:00:00Z", ship_to_country="de")
    )
    assert scenario.sla()[0][1:] == (
        "breached",
        dt.datetime(2026, 4, 3, 10),
        dt.date(2026, 5, 3),
        dt.date(2026, 5, 8),
        5,
        "CIP",
    )


def test_sla_breached_when_unresolved_past_due(scenario):
    scenario.case(**direct())
    assert scenario.sla(as_of="2026-05-10")[0][1] == "breached"
    assert scenario.sla(as_of="2026-05-10")[0][5] == 7


@pytest.mark.parametrize(
    ("as_of", "status"), [("2026-04-26", "at_risk"), ("2026-05-03", "at_risk"), ("2026-04-25", "open")]
)
def test_sla_at_risk_within_seven_days_else_open(scenario, as_of, status):
    scenario.case(**direct())
    assert scenario.sla(as_of=as_of)[0][1] == status


def test_sla_awaiting_return_has_no_clock(scenario):
    scenario.case(**direct(return_required="true"))
    assert scenario.sla() == [("R-1", "awaiting_return", None, None, None, 0, "DOMESTIC")]


def test_sla_clock_starts_at_the_later_of_diagnosis_and_receipt(scenario):
    scenario.case(**direct(return_required="true")).receipt(received_at="2026-04-10T08:00:00Z")
    assert scenario.sla()[0][2:4] == (dt.datetime(2026, 4, 10, 8), dt.date(2026, 5, 10))


def test_sla_only_repair_or_replace_of_validated_direct_cases(scenario):
    scenario.case(**direct(disposition="credit"))
    scenario.case(**direct(rma_number="R-2", serial_number="SN-2", diagnosis="pending", diagnosed_at=""))
    scenario.case(rma_number="R-3", serial_number="SN-3")
    assert scenario.sla() == []


def test_sla_resolved_before_the_quarter_drops_out(scenario):
    scenario.case(**direct(updated_at="2026-04-20T00:00:00Z", resolved_at="2026-04-20T00:00:00Z"))
    assert scenario.sla("2026-Q3") == []


# cases_as_of keeps only the cases a quarter can use: those that matter must never be left out.
def test_sla_uses_the_latest_version_even_when_an_earlier_one_was_open(scenario):
    scenario.case(
        **direct(
            updated_at="2026-03-01T00:00:00Z",
            opened_at="2026-02-27T00:00:00Z",
            diagnosed_at="2026-02-28T00:00:00Z",
        )
    )
    scenario.case(
        **direct(
            updated_at="2026-03-20T00:00:00Z",
            opened_at="2026-02-27T00:00:00Z",
            diagnosed_at="2026-02-28T00:00:00Z",
            resolved_at="2026-03-20T00:00:00Z",
            status="closed",
        )
    )
    assert scenario.sla() == []
    assert [row[:2] for row in scenario.sla("2026-Q1")] == [("R-1", "met")]


def test_a_case_resolved_long_ago_is_still_found_by_its_claims_and_receipts(scenario):
    resolved = {
        "updated_at": "2025-11-20T00:00:00Z",
        "opened_at": "2025-11-01T00:00:00Z",
        "diagnosed_at": "2025-11-02T00:00:00Z",
        "resolved_at": "2025-11-20T00:00:00Z",
        "status": "closed",
    }
    scenario.case(**resolved).claim(fulfilled_on="2026-04-10")
    scenario.case(**direct(rma_number="R-2", serial_number="SN-2", **resolved))
    scenario.receipt(rma_number="R-2", serial_number="SN-OTHER", received_at="2026-04-05T10:00:00Z")
    assert [row[:3] for row in scenario.outcomes()] == [("R-1", "credited", "CREDITED")]
    kinds = scenario.con.execute("SELECT rma_number, kind FROM quarter_exceptions").fetchall()
    assert kinds == [("R-2", "RECEIPT_SERIAL_MISMATCH")]
    assert scenario.con.execute("SELECT count(*) FROM quarter_sla_status").fetchone()[0] == 0
