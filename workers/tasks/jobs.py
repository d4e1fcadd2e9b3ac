"""The job sweeper task: durable delivery's repairs (``api.jobs.sweeper``)."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import task


@task("jobs.sweep", bind=True)
def sweep(self: Any) -> dict[str, int]:
    """Send jobs left ``queued`` by a crash, restart jobs whose worker died (up to the limit,
    then ``failed``), send lost messages again, purge old finished jobs. Idempotent; beat runs
    it every ``KURA_JOBS__SWEEP_S`` seconds (a failed run is simply the next one's work)."""
    from api.jobs.sweeper import sweep as run_sweep

    async def run() -> dict[str, int]:
        container = await worker_container(self.app)
        return (await run_sweep(container.ledger)).as_dict()

    return run_async(run())
