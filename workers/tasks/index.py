"""Index maintenance tasks: rebuild the search index from the records, report drift."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("index.reindex", bind=True, **RETRYING)
def reindex(self: Any) -> dict[str, Any]:
    """Rebuild the whole index from the records (``kura reindex`` on a worker). Idempotent."""
    from api import consistency

    async def run() -> dict[str, Any]:
        container = await worker_container(self.app)
        result = await consistency.reindex(container)
        return {"counts": result.counts, "seconds": round(result.seconds, 3)}

    return run_async(run())


@task("index.check", bind=True, **RETRYING)
def check(self: Any) -> dict[str, Any]:
    """Report drift between records, index and blobs; changes nothing."""
    from api import consistency

    async def run() -> dict[str, Any]:
        container = await worker_container(self.app)
        report = await consistency.check(container, max_items=100)
        return {"clean": report.clean, "counts": report.counts}

    return run_async(run())
