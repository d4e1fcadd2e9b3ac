"""Re-index the file documents of one work after its status, acl or category changed."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("index.work_files", bind=True, **RETRYING)
def work_files(self: Any, work_id: str) -> int:
    """Rebuild every file document of ``work_id`` from its node, the current work record and
    the extracted text, streaming in batches. Idempotent; returns how many were indexed.

    Enqueue it after a commit that changes a work's status, acl, category, business type,
    orderer, contractors or kind: file documents carry those fields so searches filter in
    the index.
    """
    from api.archive.indexing import reindex_work_files

    async def run() -> int:
        container = await worker_container(self.app)
        return await reindex_work_files(container, work_id)

    return run_async(run())


@task("index.pending_files", bind=True, **RETRYING)
def pending_files(self: Any) -> int:
    """Index every file still marked ``index_pending`` (a burst whose last ingest died before
    its flush). Cheap when nothing is pending; suitable for a periodic schedule."""
    from api.archive.indexing import flush_pending

    async def run() -> int:
        container = await worker_container(self.app)
        return await flush_pending(container)

    return run_async(run())
