import subprocess
import sys
import time

from benchmarks.quarter_close import tree_rss_mib

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
