"""Mail delivery: send what the outbox holds."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("mail.flush", bind=True, **RETRYING)
def flush(self: Any) -> dict[str, Any]:
    """Deliver every due mail of the outbox over one connection per batch (``api.mail.outbox``).

    Enqueued after each commit that queued mail, and run every minute by beat so mail queued
    while the relay was down, or whose job was lost, goes out without anyone asking.
    Idempotent: mails are claimed with a versioned update, so two flushes never send one mail.
    """

    async def run() -> dict[str, Any]:
        container = await worker_container(self.app)
        report = await container.outbox().flush_all()
        return report.to_dict()

    return run_async(run())
