"""Schedule tasks: the iCalendar import job."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("schedules.import_ics", bind=True, **RETRYING)
def import_ics(self: Any, import_id: str) -> str:
    """Import the iCalendar file of import ``import_id`` into its owner's schedule, with
    progress on the import record and a report at the end (seed 001 別表1-1 7(6)).
    Idempotent: entries are matched by UID, a finished import is not run again."""
    from api.schedules.imports import ImportService

    async def run() -> str:
        container = await worker_container(self.app)
        return await ImportService(container).run(import_id)

    return run_async(run())
