"""Audit trail tasks."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("audit.checkpoint", bind=True, **RETRYING)
def checkpoint(self: Any) -> dict[str, Any]:
    """Pin the audit chain's head outside the records store: a checkpoint signed with the
    audit key, stored in the blob store (issue 7 item 6). Idempotent: nothing is written when
    the newest checkpoint already pins the head. Beat runs it every hour."""
    from api.audit.service import AuditLog

    async def run() -> dict[str, Any]:
        container = await worker_container(self.app)
        cp, written = await AuditLog(container.records, container.clock).checkpoint(container.blobs)
        return {"seq": cp.seq if cp else 0, "written": written}

    return run_async(run())
