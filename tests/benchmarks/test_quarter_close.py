import subprocess
import sys
import time

from benchmarks.quarter_close import StepPeaks, stage_peaks, tree_rss_mib

HOLD_100_MIB = "import time; ballast = b'x' * (100 * 2**20); print(flush=True); time.sleep(30)"
PARENT = f"""
import os, subprocess, sys, time
ballast = b"x" * (300 * 2**20)
child = subprocess.Popen([sys.executable, "-c", {HOLD_100_MIB!r}], stdout=subprocess.PIPE)
child.stdout.readline()
if os.fork() == 0:  # a fork that never becomes another program: the parent's pages, shared
    time.sleep(30)
    os._exit(0)
print(flush=True)
time.sleep(30)
"""


def test_tree_rss_counts_a_started_program_but_not_a_fork_sharing_its_parents_pages():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    try:
        parent.stdout.readline()
        time.sleep(0.2)  # the fork is up
        rss = tree_rss_mib(parent.pid)
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
    # The parent (300 MiB and an interpreter) and the started child (100 MiB and another);
    # counting the fork would add 300 MiB more.
    assert 400 < rss < 600, rss


def test_step_peaks_count_the_samples_since_the_last_step_ended_for_the_next_to_end():
    peaks = StepPeaks()
    peaks.sample(100.0)
    peaks.line(f"  {'rma_cases':<58} done   1.0s\n")
    peaks.sample(300.0)
    peaks.line("rma-recon: waiting for another run ...\n")  # not a progress line: the window goes on
    peaks.sample(200.0)
    peaks.line(f"  {'reconcile':<58} done   2.0s\n")
    peaks.sample(150.0)
    peaks.line(f"  {'credit_statements':<58} done   3.0s\n")
    peaks.sample(900.0)  # after the last step: the overall peak only
    assert peaks.by_step == {"rma_cases": 100.0, "reconcile": 300.0, "credit_statements": 150.0}
    assert peaks.overall == 900.0


def test_stage_peaks_take_the_highest_step_of_each_stage():
    step_peaks = {
        "distributors": 250.0,
        "rma_cases": 700.0,
        "reconcile": 900.0,
        "rma_cases_rma_cases_expectations": 650.0,
        "credit_statements": 1200.0,
        "statement_delivery": 800.0,
    }
    assert stage_peaks(step_peaks) == {
        "ingest": 700.0,
        "reconcile": 900.0,
        "checks": 650.0,
        "statements": 1200.0,
    }
