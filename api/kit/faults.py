"""Named points where a test can park a process to kill it there (test configuration only).

The kill -9 tests (``tests/integration/test_kill_9.py``) run the real commands and workers as
subprocesses and must kill them at a chosen step, not at a moment timing happens to give.
``KURA_TEST_PARK_AT=<point>[:<n>]`` makes the process stop at the ``n``-th (default first)
pass of ``park(<point>)``: it appends ``<pid> <point>`` to ``KURA_TEST_PARK_FILE`` (when set)
and sleeps until it is killed. Unset (every deployment), ``park`` is one dictionary lookup.
Read at each call, never at import.
"""

from __future__ import annotations

import os
import time

PARK_AT = "KURA_TEST_PARK_AT"
PARK_FILE = "KURA_TEST_PARK_FILE"

_passes: dict[str, int] = {}


def park(point: str) -> None:
    """Stop this process here for good when the test configuration names ``point``."""
    wanted = os.environ.get(PARK_AT)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _passes[point] = _passes.get(point, 0) + 1
    if _passes[point] != (int(nth) if nth else 1):
        return
    report = os.environ.get(PARK_FILE)
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {point}\n")
            f.flush()
            os.fsync(f.fileno())
    while True:  # the whole process, event loop included, waits for its SIGKILL
        time.sleep(3600)
