"""Crash points for the crash-safety tests: `RMA_CRASH_AT=<name>` kills the process right there.

The tests run the real CLI in a subprocess and let it die with SIGKILL at a chosen point, to
prove that what it leaves behind is the previous state, never a half-written one.
"""

import os
import signal

CRASH_ENV = "RMA_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
