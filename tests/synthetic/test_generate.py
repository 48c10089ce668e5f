"""Generated data is realistic enough: every outcome and SLA status, CSV and XLSX, bad rows."""

import duckdb

from assets.ingest.sources import SOURCES
from assets.ingest.staging import stage_source
from assets.reconcile.rules import CLAIM_RULES, RunParameters, compute_quarter
from core.quarters import Quarter
from synthetic.generate import generate_data


def test_generated_data_covers_every_outcome_and_status(tmp_path):
    counts = generate_data(tmp_path, seed=7, cases=400, distributors=4)
    assert counts["distributors"] == 4
    assert list((tmp_path / "inbound/fulfillment_reports").glob("*/*.xlsx"))
    reasons, statuses = set(), set()
    with duckdb.connect() as con:
        reports = [
            stage_source(con, tmp_path, SOURCES[name])
            for name in ("distributors", "price_list", "rma_cases", "receiving_logs", "fulfillment_reports")
        ]
        assert sum(report.rows_quarantined for report in reports) >= 5
        for quarter in (Quarter(2026, 2), Quarter(2026, 3)):
            compute_quarter(con, RunParameters(quarter, quarter.last_day))
            reasons |= {row[0] for row in con.execute("SELECT reason FROM quarter_claim_outcomes").fetchall()}
            statuses |= {row[0] for row in con.execute("SELECT status FROM quarter_sla_status").fetchall()}
            if quarter == Quarter(2026, 2):  # close Q2 so that ALREADY_CREDITED can happen in Q3
                con.execute("INSERT INTO claim_outcomes SELECT * FROM quarter_claim_outcomes")
                con.execute("INSERT INTO quarter_runs (quarter, state) VALUES ('2026-Q2', 'closed')")
    assert reasons == {rule.reason for rule in CLAIM_RULES}
    assert statuses == {"met", "open", "at_risk", "breached", "awaiting_return"}


def test_same_seed_same_files(tmp_path):
    generate_data(tmp_path / "a", seed=3, cases=50, distributors=2)
    generate_data(tmp_path / "b", seed=3, cases=50, distributors=2)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
