"""The API process's garbage-collector settings (``api.ops.collector``, applied by ``kura
serve``): start-up objects leave the collector's walks and the young generation is wide
enough for a request's temporary rows (why: ``bench/bench_schedules``, the month view)."""

from __future__ import annotations

import gc

from api.ops import collector


def test_start_up_objects_are_frozen_and_the_young_generation_widened() -> None:
    before = gc.get_threshold()
    try:
        collector.tune()
        assert gc.get_freeze_count() > 10_000  # modules, routes, schemas
        assert gc.get_threshold() == (collector.YOUNG, *before[1:])
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
