"""Bond tasks: housekeeping of the key-guess counters."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("bonds.sweep_attempts", bind=True, **RETRYING)
def sweep_attempts(self: Any) -> int:
    """Delete failed key presentations older than the rate-limit window (the audit log keeps
    every attempt; these records only count them). Idempotent."""
    from datetime import timedelta

    from api.bonds.throttle import KeyThrottle

    async def run() -> int:
        container = await worker_container(self.app)
        cfg = container.settings.bonds
        throttle = KeyThrottle(
            container.records,
            cfg.attempts_per_user,
            cfg.attempts_per_bond,
            timedelta(minutes=cfg.attempt_window_minutes),
        )
        return await throttle.sweep(container.clock.now())

    return run_async(run())
