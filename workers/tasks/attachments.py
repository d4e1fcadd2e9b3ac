"""Attachment tasks: extract each new attachment; drop the ones never attached."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("attachments.ingest", bind=True, **RETRYING)
def ingest(self: Any, attachment_id: str) -> str:
    """Detect the type, extract text per page and a thumbnail of one attachment (the same
    steps as deliverables; artefacts are shared per content). Idempotent."""
    from api.attachments.service import AttachmentService

    async def run() -> str:
        container = await worker_container(self.app)
        return await AttachmentService(container).ingest(attachment_id)

    return run_async(run())


@task("attachments.sweep", bind=True, **RETRYING)
def sweep(self: Any) -> int:
    """Release staged attachments uploaded more than a day ago and never attached."""
    from api.attachments.service import AttachmentService

    async def run() -> int:
        container = await worker_container(self.app)
        return await AttachmentService(container).sweep()

    return run_async(run())
