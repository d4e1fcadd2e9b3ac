"""Archive housekeeping tasks."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import task


@task("archive.sweep_orphans", bind=True)
def sweep_orphans(self: Any) -> dict[str, int]:
    """Delete objects no record names that are older than ``archive.orphan_grace_hours``
    (left by a crash between a put and its commit; ``api.archive.orphans``). Idempotent;
    run by beat."""
    from api.archive.orphans import sweep_orphans as run_sweep

    async def run() -> dict[str, int]:
        container = await worker_container(self.app)
        return (await run_sweep(container)).as_dict()

    return run_async(run())
