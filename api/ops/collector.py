"""Garbage-collector settings of the API process (``kura serve``).

CPython's collector runs a young collection every 700 new container objects, and a full one
(walking every tracked object of the process) once enough of them have survived into the old
generation. A request that builds thousands of rows (a supervisor's month of 200 people's
schedules is ~3,000 rows, each a dict with a list) survives several young collections while
it runs, so every few such requests pay a full collection over the process's ~200,000
objects: tens of milliseconds, most of a view's time (measured in ``bench/bench_schedules``).

After start-up the objects made so far (modules, routes, schemas: they live as long as the
process) are moved out of the collector's walks (``gc.freeze``), and the young generation is
made large enough that a request's temporary objects are freed by reference counting before
a collection sees them. Cycles still get collected; they live a little longer.
"""

from __future__ import annotations

import gc

YOUNG = 50_000  # new container objects between young collections (CPython: 700)


def tune() -> None:
    """Apply the settings (once the app is built and its stores are open)."""
    gc.collect()  # nothing collectable is frozen
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
