"""Board tasks: tidy the unread rows "mark all read everywhere" covers."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("bulletins.sweep_read", bind=True, **RETRYING)
def sweep_read(self: Any, user_id: str) -> int:
    """Delete the user's unread rows older than their "mark all read" (they already count as
    read; this only keeps the table small). Idempotent."""
    from api.bulletins.unread import UnreadTracker

    async def run() -> int:
        container = await worker_container(self.app)
        return await UnreadTracker(container.records).sweep(user_id)

    return run_async(run())
