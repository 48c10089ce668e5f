"""Mutation check: plant small, realistic bugs one at a time in a copy of the project and show that
the fast tests (`-m "not slow"`) catch each one.

    python -m tests.mutation_check [--only NAME] [--work-dir /tmp/rma-mutants]

Each mutant is a text replacement that must match exactly once (so a refactor that moves the code
makes this script fail loudly instead of testing nothing). Prints, per mutant, whether it was
caught and by which test; exit status 1 if any survived. About a minute per mutant on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RULE_7 = (
    '    Rule(7, "OUT_OF_WARRANTY", "rejected", "NOT in_warranty", '
    '"The RMA was opened after the warranty ended"),\n'
)
_RULE_8 = """    Rule(
        8,
        "PENDING_VALIDATION",
        "held",
        "diagnosis = 'pending' OR diagnosed_at > getvariable('cutoff')",
        "Diagnosis not complete yet",
    ),
"""
_RULE_12 = """    Rule(
        12,
        "AWAITING_RETURN",
        "held",
        "return_required AND received_at IS NULL",
        "The defective unit has not been received yet",
    ),
"""
_RULE_13 = """    Rule(
        13,
        "NO_PRICE",
        "held",
        "unit_credit IS NULL",
        "No credit price for the product in the distributor's currency",
    ),
"""


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    # Tests the bug's author would have "fixed" along with it: the rest must still catch it.
    deselect: tuple[str, ...] = ()


TABLE_TESTS = (  # the tests that compare the rule table itself with the rulebook's
    "tests/assets/reconcile/test_rules.py::test_rule_table_is_in_rulebook_order",
    "tests/assets/reconcile/test_rules.py::test_the_reason_map_knows_every_reason_in_rule_order",
)


MUTANTS = [
    Mutant(
        "rules 7 and 8 swapped and renumbered",
        "assets/reconcile/rules.py",
        _RULE_7 + _RULE_8,
        _RULE_8.replace("        8,", "        7,") + _RULE_7.replace("Rule(7,", "Rule(8,"),
    ),
    Mutant(
        "rules 7 and 8 renumbered in place",
        "assets/reconcile/rules.py",
        _RULE_7 + _RULE_8,
        _RULE_7.replace("Rule(7,", "Rule(8,") + _RULE_8.replace("        8,", "        7,"),
    ),
    Mutant(
        "rules 12 and 13 swapped and renumbered",
        "assets/reconcile/rules.py",
        _RULE_12 + _RULE_13,
        _RULE_13.replace("        13,", "        12,") + _RULE_12.replace("        12,", "        13,"),
    ),
    Mutant(
        "rules 7 and 8 swapped, and the rule table tests edited to match",
        "assets/reconcile/rules.py",
        _RULE_7 + _RULE_8,
        _RULE_8.replace("        8,", "        7,") + _RULE_7.replace("Rule(7,", "Rule(8,"),
        TABLE_TESTS,
    ),
    Mutant(
        "rules 12 and 13 swapped, and the rule table tests edited to match",
        "assets/reconcile/rules.py",
        _RULE_12 + _RULE_13,
        _RULE_13.replace("        13,", "        12,") + _RULE_12.replace("        12,", "        13,"),
        TABLE_TESTS,
    ),
    Mutant(
        "amount_variance computed as DOUBLE",
        "assets/reconcile/rules.py",
        "CAST(claimed_amount - credit_amount AS DECIMAL(18,2)) AS amount_variance",
        "CAST(claimed_amount - credit_amount AS DOUBLE) AS amount_variance",
    ),
    Mutant(
        "credits not rounded to the price list's DECIMAL (unit credit as DOUBLE)",
        "assets/reconcile/rules.py",
        "CASE WHEN o.outcome = 'credited' THEN c.unit_credit END AS credit_amount",
        "CASE WHEN o.outcome = 'credited' THEN CAST(c.unit_credit AS DOUBLE) END AS credit_amount",
    ),
    Mutant(
        "DRAFT statements dated the quarter's last day",
        "assets/statements/statement_files.py",
        "statement_date = quarter.last_day if final else as_of",
        "statement_date = quarter.last_day",
    ),
    Mutant(
        "the finance summary's Late credits filter inverted",
        "assets/statements/finance_summary.py",
        'FROM claim_outcomes WHERE quarter = $quarter AND late"""',
        'FROM claim_outcomes WHERE quarter = $quarter AND NOT late"""',
    ),
    Mutant(
        "a closed quarter re-rendered instead of its stored bytes re-emitted",
        "assets/statements/defs.py",
        '        if state == "closed":\n',
        '        if state == "closed" and False:\n',
    ),
    Mutant(
        "Windows device names kept as file names",
        "assets/statements/workbook.py",
        " and not _device_name(distributor_id):",
        ":",
    ),
    Mutant(
        "held claims' value summed across currencies",
        "assets/reconcile/rules.py",
        "FROM held_prices GROUP BY distributor_id",
        "FROM (SELECT 'ALL' AS distributor_id, unit_credit FROM held_prices) GROUP BY distributor_id",
    ),
]


def copy_project(target: Path) -> None:
    """The files git knows, as they are in the working tree (outside git: the tree but its outputs)."""
    shutil.rmtree(target, ignore_errors=True)
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        outputs = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.duckdb*", "statements", "outbox")
        shutil.copytree(ROOT, target, ignore=outputs)
        return
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            destination = target / name.decode()
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def run_fast_tests(project: Path, deselect: tuple[str, ...] = ()) -> tuple[bool, str, float]:
    """(passed, the first failing test, seconds) of the fast suite, stopping at the first failure."""
    started = time.perf_counter()
    environment = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(project)}
    deselected = [argument for test in deselect for argument in ("--deselect", test)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-m", "not slow", "-p", "no:cacheprovider", *deselected],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
    )
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.MULTILINE)
    return result.returncode == 0, failed[0] if failed else "", time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help="run only the mutants whose name contains this")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/rma-mutants"))
    args = parser.parse_args()
    project = args.work_dir / "project"
    copy_project(project)
    passed, first, seconds = run_fast_tests(project)
    if not passed:
        raise SystemExit(f"the fast tests fail without any mutant ({first}); fix that first")
    print(f"unmutated: the fast tests pass ({seconds:.0f} s)", flush=True)
    survivors = []
    for mutant in MUTANTS:
        if args.only and args.only not in mutant.name:
            continue
        path = project / mutant.path
        original = path.read_text()
        if original.count(mutant.old) != 1:
            raise SystemExit(f"mutant {mutant.name!r}: its text is not in {mutant.path} exactly once")
        path.write_text(original.replace(mutant.old, mutant.new))
        try:
            passed, first, seconds = run_fast_tests(project, mutant.deselect)
        finally:
            path.write_text(original)
        verdict = "SURVIVED" if passed else f"caught by {first}"
        print(f"  {mutant.name}: {verdict} ({seconds:.0f} s)", flush=True)
        if passed:
            survivors.append(mutant.name)
    shutil.rmtree(args.work_dir, ignore_errors=True)
    print(f"{len(survivors)} mutant(s) survived" if survivors else "every mutant was caught by a fast test")
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
