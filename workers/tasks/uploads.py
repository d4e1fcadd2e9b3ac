"""Upload housekeeping tasks."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("uploads.expire", bind=True, **RETRYING)
def expire(self: Any) -> dict[str, int]:
    """Sweep tus uploads: discard the bytes of uploads past ``Upload-Expires`` (their URL then
    answers 410), purge old closed records, and drop append targets without an open upload.
    Idempotent; meant to run periodically (every 15 minutes)."""
    from api.uploads.expiry import sweep

    async def run() -> dict[str, int]:
        container = await worker_container(self.app)
        report = await sweep(container)
        return {"expired": report.expired, "purged": report.purged, "orphans": report.orphans}

    return run_async(run())
