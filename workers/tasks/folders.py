"""Folder tasks: file the decided proposals of a work as documents."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("folders.file_proposals", bind=True, **RETRYING)
def file_proposals(self: Any, work_id: str, actor: str) -> dict[str, int]:
    """Print every decided proposal of ``work_id`` not filed yet (or changed since) into its
    打合せ簿 folder (seed 001 別表1-1 5(8), §5(4)). Idempotent: filed versions are skipped."""
    from api.folders.filing import run_job

    async def run() -> dict[str, int]:
        container = await worker_container(self.app)
        return await run_job(container, work_id, actor)

    return run_async(run())
