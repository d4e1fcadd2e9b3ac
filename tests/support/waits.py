"""Waiting in tests without timing anything.

A test waits for an event (a call returns, a condition holds), never asserts how long it
took: speed claims are measured in ``bench/`` beside a baseline of the same run (developers'
guide). ``HANG_GUARD_S`` only stops a test that would otherwise wait for ever (a call that
hangs, a retry loop that never ends); it is far above any healthy duration, so a slow or busy
machine never trips it.
"""

from __future__ import annotations

HANG_GUARD_S = 120.0
